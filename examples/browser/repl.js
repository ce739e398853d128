// The REPL page: loads kernel.wasm into an EmbeddedKernel and runs what is typed, printing
// replies the way redis-cli does.
import { EmbeddedKernel } from "/dist/src/embed/index.js";
import { formatReply, splitArgs } from "./format.js";

const out = document.getElementById("out");
const input = document.getElementById("cmd");

const kv = await EmbeddedKernel.create(fetch("/build/kernel.wasm"));
out.textContent = `kernel ready: ${kv.supportedCommands().length} commands\n`;
input.disabled = false;
input.focus();

input.addEventListener("keydown", (ev) => {
  if (ev.key !== "Enter" || !input.value.trim()) return;
  const line = input.value;
  input.value = "";
  let shown;
  try {
    shown = formatReply(kv.command(...splitArgs(line)));
  } catch (e) {
    shown = `(client error) ${e.message}`;
  }
  out.textContent += `> ${line}\n${shown}\n`;
});
