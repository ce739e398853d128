// Connection commands the kernel runs itself: PING and ECHO (Redis's pingCommand,
// echoCommand). They touch no key, so any shard answers them (ANY_SHARD: never handed back
// for routing), and a pipeline of PINGs is answered in the one process() call of its read
// instead of one hand-back to the host per command. The host's handlers
// (src/commands/connection.ts) still answer them where the kernel hands every command
// back: in MULTI, with ACL limits, for a RESP2 client in Pub/Sub mode (whose PING replies
// ["pong", msg]), while a MONITOR listens, and so on (Client.processRange).

import { argc, argPtr, argLen } from "./context";
import { defineCommand, CMD_ANY_SHARD } from "./table";
import { addBulk, addRawBuf, addError } from "../resp/reply-writer";

const PONG = String.UTF8.encode("+PONG\r\n");

export function registerConnectionCommands(): void {
  defineCommand("ping", pingCommand, CMD_ANY_SHARD);
  defineCommand("echo", echoCommand, CMD_ANY_SHARD);
}

/** PING [message]: +PONG, or the message as a bulk string. */
function pingCommand(): void {
  // The table's arity (-1) lets any number through; Redis's pingCommand checks for > 2.
  if (argc > 2) {
    addError("wrong number of arguments for 'ping' command");
    return;
  }
  if (argc == 2) addBulk(argPtr(1), argLen(1));
  else addRawBuf(PONG);
}

/** ECHO message. */
function echoCommand(): void {
  addBulk(argPtr(1), argLen(1));
}
