// Every host-side command family registers its handlers here.
import type { CommandTable } from "./table.js";
import { registerConnectionCommands } from "./connection.js";

export function registerAllCommands(t: CommandTable): void {
  registerConnectionCommands(t);
}
