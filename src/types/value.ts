// What every value the host holds for the keyspace looks like (lists, sets, sorted sets).
// The kernel's entry for such a key holds only its type and an integer handle; the value
// object lives in the HandleRegistry (registry.ts) under that handle.

/** Redis's object types (server.h OBJ_*), as the kernel numbers them (assembly/keyspace/entry.ts). */
export const OBJ_STRING = 0;
export const OBJ_LIST = 1;
export const OBJ_SET = 2;
export const OBJ_ZSET = 3;
export const OBJ_HASH = 4;
export const OBJ_STREAM = 6;

/** Redis's OBJ_ENCODING_* numbers (OBJECT ENCODING), as assembly/commands/object.ts names them. */
export const ENC_HT = 2;
export const ENC_INTSET = 6;
export const ENC_SKIPLIST = 7;
export const ENC_QUICKLIST = 9;
export const ENC_LISTPACK = 11;
export const ENC_STREAM = 10;

export interface HostValue {
  /** OBJ_LIST, OBJ_SET, OBJ_ZSET... */
  readonly type: number;
  /** Elements held; a value that reaches 0 is deleted from the keyspace (Redis never stores empty aggregates). */
  readonly length: number;
  /** An independent deep copy (COPY). */
  dup(): HostValue;
  /** OBJECT ENCODING, as an ENC_* number. */
  encoding(): number;
  /**
   * Frees the value's elements one by one, as Redis's decrRefCount of a deleted key does
   * synchronously (src/server/active-expire.ts calls it when lazyfree-lazy-expire is no); the
   * value is empty afterwards. Only the encodings Redis frees element by element do work
   * proportional to their size (hashtable/skiplist members, quicklist nodes, stream nodes
   * and PEL entries); an intset or listpack is one allocation.
   */
  release?(): void;
  /** release() in steps (a lazily freed value, src/server/lazyfree.ts): up to `budget` units of free effort; whether it is empty now. */
  releaseSome?(budget: number): boolean;
}

/** Thrown by typed lookups when the key holds another type; host type commands reply it (see keyspace.ts). */
export class WrongTypeError extends Error {
  constructor() { super("WRONGTYPE Operation against a key holding the wrong kind of value"); }
}
