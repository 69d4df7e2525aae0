//! A JSON threshold alert: for a payload `{"temperature": t, ...}` above the project's
//! `THRESHOLD` (environment, default 30), records a bridge output for chain
//! `CHAIN_ID` (default 4690, IoTeX testnet) to the contract `RECEIVER`.

use w3b_applet_sdk as sdk;

fn env_or(key: &str, default: &str) -> String {
	sdk::get_env(key).unwrap_or_else(|_| default.to_string())
}

/// Default handler.
#[no_mangle]
pub extern "C" fn start(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	let Ok(reading) = serde_json::from_slice::<serde_json::Value>(&payload) else {
		sdk::log("payload is not JSON");
		return 1;
	};
	let Some(temperature) = reading.get("temperature").and_then(|t| t.as_f64()) else {
		sdk::log("no temperature");
		return 1;
	};
	let threshold: f64 = env_or("THRESHOLD", "30").parse().unwrap_or(30.0);
	if temperature <= threshold {
		return 0;
	}
	let chain_id: i32 = env_or("CHAIN_ID", "4690").parse().unwrap_or(4690);
	let receiver = env_or("RECEIVER", "0x0000000000000000000000000000000000000000");
	// W3bstream's transaction JSON: the data is hex.
	let data: String =
		format!("alert:{temperature}").bytes().map(|byte| format!("{byte:02x}")).collect();
	let tx = format!("{{\"to\":\"{receiver}\",\"value\":\"0\",\"data\":\"0x{data}\"}}");
	match sdk::send_tx(chain_id, &tx) {
		Ok(id) => {
			sdk::log(&format!("alert {temperature} > {threshold}: output {id}"));
			0
		}
		Err(code) => code,
	}
}
