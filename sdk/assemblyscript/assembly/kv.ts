// Counts events in the project's key-value state (SetDB / GetDB) and reads the
// environment (GetEnv).
import { Log, GetDB, SetDB, GetEnv } from "@w3bstream/wasm-sdk";
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  const previous = GetDB("count");
  let count: u32 = 0;
  if (previous !== null) {
    count = load<u32>(changetype<usize>(previous));
  }
  count += 1;
  const value = new ArrayBuffer(4);
  store<u32>(changetype<usize>(value), count);
  SetDB("count", value);
  Log("count " + count.toString() + " " + GetEnv("GREETING"));
  return 0;
}
