// Emits a bridge output (SendTx) and tries the refused calls.
import { Log, SendTx, SubmitMetrics } from "@w3bstream/wasm-sdk";
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  const hash = SendTx(4690, "0xb73eE6EB5b1984c78CCcC49eA7Ad773E71d74F51", "0", "0x40c10f19");
  Log("tx " + hash);
  SubmitMetrics('{"sent":1}');
  return 0;
}
