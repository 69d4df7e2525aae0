// Fails an assertion: the host reports AssemblyScript's abort message.
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  assert(rid < 0, "rid must be negative");
  return 0;
}
