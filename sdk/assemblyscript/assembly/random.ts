// Math.random (seeded through the host's `seed`) and `trace`.
import { Log } from "@w3bstream/wasm-sdk";
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  trace("tracing", 2, 1.5, 2.5);
  Log("random " + Math.random().toString());
  return 0;
}
