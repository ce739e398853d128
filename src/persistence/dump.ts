// DUMP payloads (cluster.c createDumpPayload / verifyDumpPayload):
//   RDB object (type byte + rdbSaveObject) | RDB version, u16 little-endian | CRC64 of all
//   the preceding bytes, 8 bytes little-endian.
import { RdbReader, RdbWriter, RDB_VERSION } from "./rdb-format.js";
import { crc64 } from "./crc64.js";
import { readObject, writeObject, writeObjectBody, type RdbValue } from "./value-codec.js";

/** `compress`: rdbcompression, which Redis's createDumpPayload applies as a file save does. */
export function createDumpPayload(v: RdbValue, compress: boolean): Buffer {
  const w = new RdbWriter(compress);
  writeObject(w, v);
  w.u8(RDB_VERSION & 0xff);
  w.u8((RDB_VERSION >> 8) & 0xff);
  const body = w.take();
  return Buffer.concat([body, crc64(body).bytesLE()]);
}

/** Version not newer than ours and checksum matching (skipChecksum: skip-checksum-validation). */
export function verifyDumpPayload(p: Buffer, skipChecksum = false): boolean {
  if (p.length < 10) return false;
  const footer = p.length - 10;
  const ver = p[footer] | (p[footer + 1] << 8);
  if (ver > RDB_VERSION) return false;
  if (skipChecksum) return true;
  return crc64(p, 0, p.length - 8).bytesLE().equals(p.subarray(p.length - 8));
}

/** The value of a verified payload; throws RdbFormatError when malformed ("Bad data format"). */
export function loadDumpPayload(p: Buffer): RdbValue {
  const r = new RdbReader(p, p.length - 10);
  const v = readObject(r, r.u8());
  return v;
}

/** rdbSavedObjectLen (DEBUG OBJECT's serializedlength): the value's RDB body, type byte excluded. */
export function rdbSavedObjectLen(v: RdbValue, compress: boolean): number {
  const w = new RdbWriter(compress);
  writeObjectBody(w, v);
  return w.size;
}
