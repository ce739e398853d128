// A small file written and fsynced before the caller goes on (no rename: the caller decides
// whether a torn write matters). Used for the AOF's base and manifest temp files and for
// active-active's incarnation record.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";

export function writeFileDurable(path: string, data: string | Buffer): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
