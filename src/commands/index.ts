// Every host-side command family registers its handlers here.
import type { CommandTable } from "./table.js";
import { registerConnectionCommands } from "./connection.js";
import { registerCommandCommand } from "./command.js";
import { registerInfoCommand } from "./info.js";
import { registerConfigCommands } from "./config-cmd.js";
import { registerDebugCommand } from "./debug.js";
import { registerFunctionCommands } from "./functions.js";
import { registerClientCommands } from "./client-cmd.js";
import { registerServerCommands } from "./server-cmds.js";
import { registerMemoryCommands } from "./memory.js";
import { registerMultiCommands } from "./multi.js";
import { registerListCommands } from "./lists.js";
import { registerSetCommands } from "./sets.js";
import { registerZsetCommands } from "./zsets.js";
import { registerSortCommands } from "./sort.js";
import { registerScriptingCommands } from "./scripting.js";
import { registerPersistenceCommands } from "./persistence.js";
import { registerStreamCommands } from "./streams.js";
import { registerCrdtCommands } from "../replication/commands.js";
import { registerClusterCommands } from "./cluster.js";
import { registerMigrateCommand } from "./migrate.js";
import { registerReplicationCommands } from "./replication.js";
import { registerPubsubCommands } from "./pubsub.js";

export function registerAllCommands(t: CommandTable): void {
  registerConnectionCommands(t);
  registerClusterCommands(t);
  registerMigrateCommand(t);
  registerReplicationCommands(t);
  registerCommandCommand(t);
  registerInfoCommand(t);
  registerConfigCommands(t);
  registerDebugCommand(t);
  registerFunctionCommands(t);
  registerClientCommands(t);
  registerServerCommands(t);
  registerMemoryCommands(t);
  registerMultiCommands(t);
  registerListCommands(t);
  registerSetCommands(t);
  registerZsetCommands(t);
  registerSortCommands(t);
  registerScriptingCommands(t);
  registerPersistenceCommands(t);
  registerStreamCommands(t);
  registerCrdtCommands(t);
  registerPubsubCommands(t);
}
