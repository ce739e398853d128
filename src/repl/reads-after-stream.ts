// On a replica, the master's stream read in an event-loop iteration is applied before the
// clients' reads of that iteration are run.
//
// A master writes a write's stream to its replicas before the write's reply to its client
// (the turn-end hold, src/server/turn-end-replies.ts; Redis's beforeSleep does the same), so
// by the time that client, having read the reply, sends a read to the replica, the stream is
// already in the replica's socket. Yet epoll may hand the replica both in either order: a level-triggered
// fd that was reported stays on epoll's ready list, so the client's connection, reported for
// its previous command, can sit ahead of the master link. Redis's replica takes them in that
// order too and loses only when the client's next command arrives between its reply being
// written and the next epoll_wait, which in Redis are adjacent. In Node the reply is written
// inside the read's callback and the rest of the iteration (other callbacks, immediates,
// timers) runs before the next poll, and on a loaded machine the process can lose the CPU in
// that gap: INCR on the master then GET on the replica read the old value in 103 of 2000
// rounds with a real Redis master (23 with ours; Redis's own replica: 1) at load 16.
//
// So while the link streams, a client's read is run in the check phase that follows the poll
// phase (setImmediate), after every read callback of the iteration, the master link's among
// them. Whatever was in the master link's socket when the client's bytes arrived is applied
// first (a stream read bigger than one 5 ms slice excepted, as Redis reads 16 kB per event).
import type { Client } from "../server/client.js";

export class ReadsAfterStream {
  /** Clients whose read waits for the iteration's master stream, in arrival order. */
  private waiting: Client[] = [];
  private scheduled = false;

  /** Runs client's read in this iteration's check phase (Client.runHeldRead). */
  hold(client: Client): void {
    if (client.readHeld) return;
    client.readHeld = true;
    this.waiting.push(client);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runWaiting);
  }

  private readonly runWaiting = (): void => {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const c of waiting) {
      c.readHeld = false;
      c.runHeldRead();
    }
  };
}
