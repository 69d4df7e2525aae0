// Threshold alerts from devices and from a contract's logs, as bridge outputs (SendTx):
// `start` takes a device reading `{"temperature": t}` and alerts above THRESHOLD;
// `on_log` takes an EVM log the project subscribed to (the JSON of an Ethereum log,
// made by the appchain once a quorum of operators observed it) and sends its data on.
// Both go to RECEIVER on chain CHAIN_ID.
import { JSON } from "assemblyscript-json/assembly";
import { GetDataByRID, GetEnv, Log, SendTx } from "@w3bstream/wasm-sdk";
export { alloc } from "@w3bstream/wasm-sdk";

function send(data: string): void {
  const chainId = I32.parseInt(GetEnv("CHAIN_ID"));
  SendTx(chainId, GetEnv("RECEIVER"), "0", data);
}

function hex(text: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(text, false));
  let out = "0x";
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i].toString(16).padStart(2, "0");
  }
  return out;
}

export function start(rid: i32): i32 {
  const reading = <JSON.Obj>JSON.parse(GetDataByRID(rid));
  const temperature = reading.getInteger("temperature");
  if (temperature === null) {
    Log("no temperature");
    return 1;
  }
  const threshold = I64.parseInt(GetEnv("THRESHOLD"));
  if (temperature.valueOf() <= threshold) {
    return 0;
  }
  send(hex("alert:" + temperature.valueOf().toString()));
  return 0;
}

export function on_log(rid: i32): i32 {
  const log = <JSON.Obj>JSON.parse(GetDataByRID(rid));
  const data = log.getString("data");
  const block = log.getInteger("blockNumber");
  if (data === null || block === null) {
    Log("not a log");
    return 1;
  }
  Log("log of block " + block.valueOf().toString());
  send(data.valueOf());
  return 0;
}
