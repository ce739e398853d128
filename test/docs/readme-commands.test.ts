// README lists exactly the commands the table leaves unimplemented (no drift either way).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { withUnsupportedSection, unsupportedByGroup } from "../../src/commands/unsupported.js";

describe("README's unsupported-commands section", () => {
  const server = new Server(new Config());
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

  it("matches the command table (run npm run docs:commands after adding commands)", () => {
    expect(withUnsupportedSection(readme, server.table)).toBe(readme);
  });

  it("never lists a command the server implements", () => {
    const listed = [...unsupportedByGroup(server.table).values()].flat();
    for (const name of ["GET", "SET", "DEL", "HSET", "PING", "INFO"]) expect(listed).not.toContain(name);
  });
});
