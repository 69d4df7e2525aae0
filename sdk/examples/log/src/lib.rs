//! Logs each event's payload, echoes it as response data and submits a metric.

use w3b_applet_sdk as sdk;

/// Default handler.
#[no_mangle]
pub extern "C" fn start(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	sdk::log(&format!("event {rid}: {}", String::from_utf8_lossy(&payload)));
	if sdk::set_data(rid, &payload).is_err() {
		return -1;
	}
	let _ = sdk::submit_metrics(&format!("{{\"bytes\":{}}}", payload.len()));
	0
}
