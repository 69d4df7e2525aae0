// Writes to and reads from the project's SQL database (ExecSQL / QuerySQL).
import { Log, ExecSQL, QuerySQL, GetDataByRID } from "@w3bstream/wasm-sdk";
import { String as SQLString, Int32 } from "@w3bstream/wasm-sdk/assembly/sql";
export { alloc } from "@w3bstream/wasm-sdk";

export function start(rid: i32): i32 {
  ExecSQL("CREATE TABLE IF NOT EXISTS readings (rid INTEGER, body TEXT)", []);
  ExecSQL("INSERT INTO readings VALUES (?, ?)", [new Int32(rid), new SQLString(GetDataByRID(rid))]);
  Log(QuerySQL("SELECT count(*) AS n FROM readings"));
  return 0;
}
