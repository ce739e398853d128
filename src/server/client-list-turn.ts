// CLIENT LIST runs after the reads already polled in the same event-loop turn.
//
// CLIENT LIST reports other clients' input (qbuf, tot-mem), and maxmemory-clients evicts a
// client as its input is read; a client that sent a big argument and then asks, on another
// connection, whether it was counted or evicted (Redis's unit/client-eviction does exactly
// that) must see its bytes read first. Redis gets that order from its event loop: it
// writes replies in beforeSleep, right before epoll_wait, so the asking connection's
// previous reply cannot provoke its next command before the poll, and epoll reports the
// sockets in the order their data arrived. We write a reply as soon as the command ran:
// the asker can send its next command (after the big write on the other connection) while
// we are still in the same turn, and epoll, level-triggered, then reports the asker's
// socket first (it was re-queued when last reported) and the other one after it, in the
// same batch. Measured: in about one run of four of that unit on the loaded machine,
// CLIENT LIST ran with the other client's 220 KB unread (tot-mem 22426), all of it read a
// millisecond later in the same poll phase.
//
// So a CLIENT LIST from a client's input is postponed to the check phase (setImmediate):
// libuv runs every read of the batch before that, evictions included; then it runs, and
// the client's remaining input after it. Inside MULTI/EXEC or a script it runs at once.
import type { Server } from "./server.js";
import type { Client } from "./client.js";

function isClientList(argv: Buffer[]): boolean {
  return argv.length >= 2 && argv[0].length === 6 && argv[1].length === 4 &&
    argv[0].toString("latin1").toLowerCase() === "client" && argv[1].toString("latin1").toLowerCase() === "list";
}

/** Server.dispatch, just before running a command: takes CLIENT LIST over until the check phase. Whether it did. */
export function postponesClientList(server: Server, client: Client, argv: Buffer[]): boolean {
  if (!isClientList(argv)) return false;
  client.blocked = true;
  // Redis's qbuf= is the whole query buffer while the command runs: this read (the command
  // included) and anything after it. By the check phase the read is no longer in flight and
  // what followed the command is pending input: count the read's bytes as in flight again,
  // less what is pending now, so the total is what it was.
  const read = client.inputInFlight + client.queryBufferLength;
  setImmediate(() => {
    if (client.closed) return;
    client.blocked = false;
    client.inputInFlight = Math.max(0, read - client.queryBufferLength);
    try {
      server.execCommand(client, argv, false);
    } finally {
      client.inputInFlight = 0;
    }
    client.flushAndMaybeClose();
    server.blocking.afterCommand();
    if (!client.blocked) client.resumeInput();
  });
  return true;
}
