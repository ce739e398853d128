// client-output-buffer-limit inside the kernel, for the few commands whose reply grows with
// an argument rather than with the data (HRANDFIELD with a huge negative count).
//
// Redis builds such a reply in the client's output buffer, and once the buffer passes the
// normal class's hard limit it marks the client CLOSE_ASAP, and the command's loop stops
// adding to it ("Obuf limit, HRANDFIELD with huge count stopped mid-run"). Here the host
// measures a reply only once the kernel call returns, and a kernel shard has 4 GiB of wasm32
// memory for it at most, so the kernel is told the hard limit (setClientReplyLimit) and such a
// loop stops once the call's output is past it; the host then finds the reply over the limit
// and closes the client (src/server/client.ts checkOutputLimits), never sending the cut reply.
//
// Only for a client's own input (call depth 0): a call the host makes (a script's
// redis.call, EXEC, a command routed from another shard) collects the reply for the host,
// where a cut reply would be read as a malformed one; those keep the whole-reply check.
import { outLen } from "../resp/reply-writer";

/** The normal class's hard limit in bytes (0: none). */
let hardLimit: i64 = 0;
/** A host-made call is running (assembly/index.ts saveCallResults). */
let nested = false;

export function setClientReplyLimit(bytes: i64): void { hardLimit = bytes; }
export function setNestedCall(on: bool): void { nested = on; }

/** Does a limit of at most maxBytes apply to this call's reply (so a huge reply may be cut at it)? */
@inline export function replyLimitApplies(maxBytes: i64): bool { return hardLimit > 0 && hardLimit <= maxBytes && !nested; }

/** The call's output is past the limit: stop adding to it, the host closes the client. */
@inline export function replyOverLimit(): bool { return <i64>outLen > hardLimit; }
