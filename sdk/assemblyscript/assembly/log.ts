// Logs each event's payload (W3bstream AssemblyScript SDK).
import { Log, GetDataByRID } from "@w3bstream/wasm-sdk";
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  const message = GetDataByRID(rid);
  Log("as received: " + message);
  return 0;
}
