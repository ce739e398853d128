// Redis 7.0's reply to a command it does not have. Browser-safe (no Buffer), because the
// embedded kernel (src/embed/) answers commands it does not hold with the same text.

/** Redis quotes a name in an error as %.128s. */
export function truncate(s: string): string {
  return s.length > 128 ? s.slice(0, 128) : s;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Redis 7.0: "unknown command 'foo', with args beginning with: 'a' 'b' " (server.c processCommand). */
export function unknownCommandError(name: string, argv: Uint8Array[]): string {
  let args = "";
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    args += `'${latin1(argv[i].subarray(0, 128 - args.length))}' `;
  }
  return `unknown command '${truncate(name)}', with args beginning with: ${args}`;
}
