// A Web Worker owning one embedded kernel: {id, args} in, {id, reply | error} out.
import { EmbeddedKernel, ReplyError } from "/dist/src/embed/index.js";

// The handler is installed at once: messages that arrive while kernel.wasm loads wait for it.
const ready = EmbeddedKernel.create(fetch("/build/kernel.wasm"));

self.onmessage = async ({ data }) => {
  const kv = await ready;
  const reply = kv.command(...data.args);
  if (reply instanceof ReplyError) self.postMessage({ id: data.id, error: reply.message });
  else self.postMessage({ id: data.id, reply: typeof reply === "bigint" ? String(reply) : reply });
};
