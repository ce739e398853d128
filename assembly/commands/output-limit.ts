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
// For a client's own input (call depth 0), and for a call the host makes whose reply goes to
// the client's output as it is (a command routed to the shard owning its key, EXEC's
// commands: the host says so with setNestedReplyCut). A script's redis.call reads the reply,
// where a cut one would be malformed: it keeps the whole-reply check.
import { outLen } from "../resp/reply-writer";

/** The normal class's hard limit in bytes (0: none). */
let hardLimit: i64 = 0;
/** A host-made call is running (assembly/index.ts saveCallResults). */
let nested = false;
/** That call's reply goes to a client's output as it is (Shard.callRaw for a client's command). */
let nestedCut = false;

export function setClientReplyLimit(bytes: i64): void { hardLimit = bytes; }
export function setNestedCall(on: bool): void { nested = on; }
export function setNestedReplyCut(on: bool): void { nestedCut = on; }

/** Does a limit of at most maxBytes apply to this call's reply (so a huge reply may be cut at it)? */
@inline export function replyLimitApplies(maxBytes: i64): bool { return hardLimit > 0 && hardLimit <= maxBytes && (!nested || nestedCut); }

/** The call's output is past the limit: stop adding to it, the host closes the client. */
@inline export function replyOverLimit(): bool { return <i64>outLen > hardLimit; }
