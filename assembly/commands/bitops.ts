// Bit commands on string values (bitops.c): SETBIT and GETBIT. Bit 0 is the most
// significant bit of byte 0. A bit offset is limited, as in Redis, to proto-max-bulk-len
// bytes; SETBIT past the end grows the string with zero bytes.

import { argPtr, argLen, db, ERR_WRONGTYPE } from "./context";
import { defineCommand } from "./table";
import { lookupKeyRead, lookupKeyWrite, dbAdd, addDirty } from "../keyspace/keyspace";
import { OBJ_STRING } from "../keyspace/entry";
import { addError, addInt } from "../resp/reply-writer";
import { protoMaxBulkLen } from "../resp/parser";
import { string2ll, parsedInt } from "../util/number";
import { loadStringBytes, valPtr, valLen } from "./strings";

export function registerBitCommands(): void {
  defineCommand("setbit", setbitCommand);
  defineCommand("getbit", getbitCommand);
}

const ERR_BIT_OFFSET = "bit offset is not an integer or out of range";
const ERR_BIT_VALUE = "bit is not an integer or out of range";

let bitOffset: i64 = 0;

/** getBitOffsetFromArgument (plain form): 0 <= offset and offset/8 < proto-max-bulk-len. */
function getBitOffsetOrReply(i: i32): bool {
  if (!string2ll(argPtr(i), argLen(i)) || parsedInt < 0 || (parsedInt >> 3) >= protoMaxBulkLen) {
    addError(ERR_BIT_OFFSET);
    return false;
  }
  bitOffset = parsedInt;
  return true;
}

function setbitCommand(): void {
  if (!getBitOffsetOrReply(2)) return;
  if (!string2ll(argPtr(3), argLen(3)) || (parsedInt & ~1) != 0) {
    addError(ERR_BIT_VALUE);
    return;
  }
  const on = <i32>parsedInt;
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (e != null && e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  const byte = <usize>(bitOffset >> 3);
  let dirty = false;
  if (e == null) {
    e = dbAdd(db, keyPtr, keyLen);
    e.isInt = false;
    e.str = new ArrayBuffer(<i32>(byte + 1));
    dirty = true;
  } else {
    // Bits address the text: an int-encoded value becomes raw bytes, grown with zeros.
    loadStringBytes(e);
    if (e.isInt || byte >= valLen) {
      const newLen = byte + 1 > valLen ? byte + 1 : valLen;
      const buf = new ArrayBuffer(<i32>newLen);
      memory.copy(changetype<usize>(buf), valPtr, valLen);
      dirty = newLen != valLen;
      e.isInt = false;
      e.str = buf;
    }
  }
  const p = changetype<usize>(e.str!) + byte;
  const bit = 7 - <u32>(bitOffset & 7);
  let byteval = <u32>load<u8>(p);
  const bitval = (byteval >> bit) & 1;
  if (dirty || bitval != <u32>on) {
    byteval = (byteval & ~(<u32>1 << bit)) | (<u32>on << bit);
    store<u8>(p, <u8>byteval);
    addDirty(1);
  }
  addInt(<i64>bitval);
}

function getbitCommand(): void {
  if (!getBitOffsetOrReply(2)) return;
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  loadStringBytes(e);
  const byte = <usize>(bitOffset >> 3);
  let bitval: u32 = 0;
  if (byte < valLen) bitval = (<u32>load<u8>(valPtr + byte) >> (7 - <u32>(bitOffset & 7))) & 1;
  addInt(<i64>bitval);
}
