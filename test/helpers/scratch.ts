// Scratch directories for the servers and files a test file makes: each is removed when the
// file ends, so test runs do not pile up directories in the system's temp dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

// Registered when a test file first imports this module, so it is the file's first afterAll
// hook; vitest runs after-hooks in reverse order, so this one runs after the file's own
// (which stop the servers writing into these directories).
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory `lkv-<prefix>-XXXXXX` under the temp dir, removed when the test file ends. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lkv-${prefix}-`));
  made.push(dir);
  return dir;
}
