//! Inserts each event's payload into the project's SQL database and logs how many rows
//! there are.

use w3b_applet_sdk as sdk;

/// Default handler.
#[no_mangle]
pub extern "C" fn start(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	let text = String::from_utf8_lossy(&payload).replace('\\', "\\\\").replace('"', "\\\"");
	let steps = [
		"CREATE TABLE IF NOT EXISTS readings (rid INTEGER, body TEXT)".to_string(),
		format!(
			"{{\"statement\":\"INSERT INTO readings VALUES (?, ?)\",\"params\":[{{\"int32\":{rid}}},{{\"string\":\"{text}\"}}]}}"
		),
	];
	for step in steps {
		if let Err(code) = sdk::sql_exec(&step) {
			return code;
		}
	}
	match sdk::sql_query("SELECT count(*) AS n FROM readings") {
		Ok(rows) => {
			sdk::log(&rows);
			0
		}
		Err(code) => code,
	}
}
