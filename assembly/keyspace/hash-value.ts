// HashValue: the value of a Redis hash, a Dict of fields plus insertion-ordered iteration
// is not required by Redis (order is unspecified), so a Dict suffices.

import { Dict } from "./dict";

export class HashField {
  next: HashField | null = null;
  constructor(public key: ArrayBuffer, public hash: u32, public value: ArrayBuffer) {}
}

export class HashValue {
  fields: Dict<HashField> = new Dict<HashField>();
  get length(): i32 { return this.fields.size; }
}
