// An ACL user (Redis's `user`, acl.c): flags, password hashes and selectors, and the rule
// language of ACL SETUSER / `user` lines applied to it (ACLSetUser, ACLStringSetUser).
//
// Passwords are kept only as SHA-256 hex digests, as Redis does, and compared in constant
// time (crypto.timingSafeEqual over equal-length digests).
import { createHash, timingSafeEqual } from "node:crypto";
import { AclOpFailure, Selector, type CommandIds } from "./selector.js";

export const USER_ON = "on";

export function hashPassword(cleartext: Buffer | string): string {
  return createHash("sha256").update(typeof cleartext === "string" ? Buffer.from(cleartext, "latin1") : cleartext).digest("hex");
}

/** Redis's ACLCheckPasswordHash: exactly 64 lowercase hex characters. */
function validHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

export class User {
  enabled = false;
  nopass = false;
  /** sanitize-payload (true) or skip-sanitize-payload (false); neither until set. */
  sanitizePayload: boolean | null = null;
  passwords: string[] = [];
  selectors: Selector[];
  /** ACL LIST's description, cached until the next change (Redis's acl_string). */
  private described: string | null = null;

  constructor(readonly name: string, readonly ids: CommandIds, allChannelsByDefault: boolean) {
    this.selectors = [new Selector(ids, true, allChannelsByDefault)];
  }

  get root(): Selector { return this.selectors[0]; }

  /** Copies rules (not the name) from another user (ACLCopyUser). */
  copyFrom(src: User): void {
    this.enabled = src.enabled;
    this.nopass = src.nopass;
    this.sanitizePayload = src.sanitizePayload;
    this.passwords = [...src.passwords];
    this.selectors = src.selectors.map((s) => s.copy());
    this.described = null;
  }

  clone(name = this.name): User {
    const u = new User(name, this.ids, false);
    u.copyFrom(this);
    return u;
  }

  /**
   * Redis's ACLSetUser: applies one rule, or throws AclOpFailure. allChannelsByDefault is
   * acl-pubsub-default (new selectors and `reset` start from it).
   */
  apply(op: string, allChannelsByDefault: boolean): void {
    this.described = null;
    if (op.length === 0) return;
    const lower = op.toLowerCase();
    if (lower === "on") this.enabled = true;
    else if (lower === "off") this.enabled = false;
    else if (lower === "skip-sanitize-payload") this.sanitizePayload = false;
    else if (lower === "sanitize-payload") this.sanitizePayload = true;
    else if (lower === "nopass") {
      this.nopass = true;
      this.passwords = [];
    } else if (lower === "resetpass") {
      this.nopass = false;
      this.passwords = [];
    } else if (op[0] === ">" || op[0] === "#") {
      let h: string;
      if (op[0] === ">") h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new AclOpFailure("EBADMSG");
      }
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.nopass = false;
    } else if (op[0] === "<" || op[0] === "!") {
      let h: string;
      if (op[0] === "<") h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new AclOpFailure("EBADMSG");
      }
      const i = this.passwords.indexOf(h);
      if (i < 0) throw new AclOpFailure("ENODEV");
      this.passwords.splice(i, 1);
    } else if (op[0] === "(" && op[op.length - 1] === ")") {
      const s = new Selector(this.ids, false, allChannelsByDefault);
      const words = splitArgs(op.slice(1, -1));
      if (words === null) throw new AclOpFailure("EINVAL");
      for (const w of words) s.apply(w);
      this.selectors.push(s);
    } else if (lower === "clearselectors") {
      this.selectors = [this.root];
    } else if (lower === "reset") {
      this.apply("resetpass", allChannelsByDefault);
      this.apply("resetkeys", allChannelsByDefault);
      this.apply("resetchannels", allChannelsByDefault);
      if (allChannelsByDefault) this.apply("allchannels", allChannelsByDefault);
      this.apply("off", allChannelsByDefault);
      this.apply("sanitize-payload", allChannelsByDefault);
      this.apply("clearselectors", allChannelsByDefault);
      this.apply("-@all", allChannelsByDefault);
    } else {
      this.root.apply(op);
    }
  }

  /** Redis's ACLCheckUserCredentials for an existing user. */
  checkPassword(password: Buffer): boolean {
    if (!this.enabled) return false;
    if (this.nopass) return true;
    const h = Buffer.from(hashPassword(password), "latin1");
    let ok = false;
    for (const p of this.passwords) {
      // Every stored hash is compared, in constant time, whatever matched before.
      if (timingSafeEqual(h, Buffer.from(p, "latin1"))) ok = true;
    }
    return ok;
  }

  /** Flags in Redis's ACLUserFlags order (ACL GETUSER flags, ACL LIST). */
  flagNames(): string[] {
    const f: string[] = [];
    f.push(this.enabled ? "on" : "off");
    if (this.nopass) f.push("nopass");
    if (this.sanitizePayload === false) f.push("skip-sanitize-payload");
    if (this.sanitizePayload === true) f.push("sanitize-payload");
    return f;
  }

  /** Redis's ACLDescribeUser: the rules after "user <name> " in ACL LIST and ACL files. */
  describe(): string {
    if (this.described !== null) return this.described;
    let res = this.flagNames().join(" ") + " ";
    for (const p of this.passwords) res += "#" + p + " ";
    res += this.root.describe();
    for (let i = 1; i < this.selectors.length; i++) res += ` (${this.selectors[i].describe()})`;
    this.described = res;
    return res;
  }

  /** Every command, key and channel, with no need to authenticate checks (the fast path). */
  get unrestricted(): boolean {
    const r = this.root;
    return r.allCommands && r.allKeys && r.allChannels;
  }
}

/**
 * Redis's ACLMergeSelectorArguments: a selector may be split over several arguments
 * ("(~x" "+get)"); they are joined with spaces. Returns the merged rules, or the index of
 * an unmatched "(".
 */
export function mergeSelectorArgs(args: string[]): { rules: string[] } | { unmatched: number } {
  const rules: string[] = [];
  let open = -1;
  let selector = "";
  for (let j = 0; j < args.length; j++) {
    const op = args[j];
    if (op[0] === "(" && op[op.length - 1] !== ")") {
      selector = op;
      open = j;
      continue;
    }
    if (open !== -1) {
      selector += " " + op;
      if (op[op.length - 1] === ")") {
        open = -1;
        rules.push(selector);
      }
      continue;
    }
    rules.push(op);
  }
  if (open !== -1) return { unmatched: open };
  return { rules };
}

/** Redis's sdssplitargs (quotes and escapes), as selectors are parsed; null when unbalanced. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && /\s/.test(line[i])) i++;
    if (i >= n) return out;
    let cur = "";
    let inq = false, insq = false;
    for (;;) {
      if (inq) {
        if (i >= n) return null;
        if (line[i] === "\\" && line[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (line[i] === "\\" && i + 1 < n) {
          i++;
          const c = line[i];
          cur += c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c === "b" ? "\b" : c === "a" ? "\x07" : c;
        } else if (line[i] === '"') {
          if (i + 1 < n && !/\s/.test(line[i + 1])) return null;
          inq = false;
          i++;
          break;
        } else cur += line[i];
      } else if (insq) {
        if (i >= n) return null;
        if (line[i] === "\\" && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (line[i] === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1])) return null;
          insq = false;
          i++;
          break;
        } else cur += line[i];
      } else {
        if (i >= n || /\s/.test(line[i])) break;
        if (line[i] === '"') inq = true;
        else if (line[i] === "'") insq = true;
        else cur += line[i];
      }
      i++;
    }
    out.push(cur);
  }
}
