//! Running an applet locally, for applet developers (`w3b-node applet run`): messages
//! from a JSON Lines file, results as JSON.
//!
//! Each line of the messages file is an object: `event_type` (default `DEFAULT`) and
//! `payload`, a string taken as UTF-8 bytes or any other JSON value taken as its JSON
//! text, or `payload_hex` (`0x...`) for binary payloads.

use std::{
	collections::BTreeMap,
	path::PathBuf,
	sync::{Arc, Mutex},
};

use serde_json::{json, Value};
use sp_core::H256;
use w3b_primitives::{
	project::{code_hash, Applet, Strategy, DEFAULT_EVENT_TYPE},
	Message,
};

use crate::{BatchInput, EngineConfig, Executor, SqlDb, StateView};

/// What to run.
#[derive(Debug, Clone)]
pub struct LocalRun {
	/// The applet's WASM file.
	pub wasm: PathBuf,
	/// The messages, one JSON object per line.
	pub messages: PathBuf,
	/// The handler every event goes to.
	pub handler: String,
	/// Environment variables.
	pub env: Vec<(String, String)>,
	/// Fuel for the whole run.
	pub fuel: u64,
	/// Give the applet a SQL database: in memory (`Some(None)`) or a file.
	pub sql: Option<Option<PathBuf>>,
}

/// Runs `run`; the error is one line for the user.
pub fn run_local(run: &LocalRun) -> Result<Value, String> {
	let wasm =
		std::fs::read(&run.wasm).map_err(|e| format!("cannot read {}: {e}", run.wasm.display()))?;
	let text = std::fs::read_to_string(&run.messages)
		.map_err(|e| format!("cannot read {}: {e}", run.messages.display()))?;
	let messages = text
		.lines()
		.enumerate()
		.filter(|(_, line)| !line.trim().is_empty())
		.enumerate()
		.map(|(seq, (n, line))| {
			parse_message(seq as u64, line)
				.map_err(|e| format!("{}:{}: {e}", run.messages.display(), n + 1))
		})
		.collect::<Result<Vec<_>, _>>()?;
	// One batch: one lane (each lane would compile the code again), the other limits as
	// on a node.
	let config = EngineConfig { lanes: 1, ..EngineConfig::default() };
	let executor = Executor::new(config).map_err(|e| e.to_string())?;
	let hash = code_hash(&wasm);
	executor
		.load(hash, &wasm)
		.map_err(|e| format!("{} is not applet code: {}", run.wasm.display(), reason(e)))?;
	let handler =
		run.handler.as_bytes().to_vec().try_into().map_err(|_| "handler name too long")?;
	let applets = [(
		0,
		Applet {
			name: b"local".to_vec().try_into().expect("short name"),
			code_hash: hash,
			version: 1,
			strategies: vec![Strategy {
				event_type: DEFAULT_EVENT_TYPE.to_vec().try_into().expect("short"),
				handler,
			}]
			.try_into()
			.expect("one strategy"),
		},
	)];
	let sql = match &run.sql {
		None => None,
		Some(None) => Some(SqlDb::in_memory()),
		Some(Some(path)) => Some(SqlDb::open(path)),
	}
	.transpose()
	.map_err(|e| e.to_string())?
	.map(|db| Arc::new(Mutex::new(db)));
	let root = sp_crypto_hashing::blake2_256(text.as_bytes());
	let input = BatchInput {
		project: 0,
		batch_seq: 0,
		merkle_root: H256(root),
		timestamp_ms: 0,
		fuel: run.fuel,
		env: Arc::new(
			run.env.iter().map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes())).collect(),
		),
		applets: &applets,
		messages: &messages,
		// Every message counts: a local run checks no signatures.
		verdicts: w3b_primitives::validity::verdicts_digest(&[]),
		prev_state_root: H256::zero(),
	};
	let base: Arc<dyn StateView> = Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new());
	let result = executor.run_batch(&input, base, sql.clone()).map_err(|e| e.to_string())?;
	if let Some(db) = sql {
		db.lock().expect("SQL lock").commit_batch().map_err(|e| e.to_string())?;
	}
	let hex = |b: &[u8]| sp_core::bytes::to_hex(b, false);
	Ok(json!({
		"events": result.events,
		"state": result.writes.iter().map(|(k, v)| json!({
			"key": hex(k),
			"keyText": String::from_utf8(k.clone()).ok(),
			"value": hex(v),
		})).collect::<Vec<_>>(),
		"outputs": result.outputs.iter().map(|o| hex(o)).collect::<Vec<_>>(),
		"fuelUsed": result.fuel_used,
		"stateRoot": result.state_root,
		"outputRoot": result.output_root,
	}))
}

fn reason(error: crate::ExecutorError) -> String {
	match error {
		crate::ExecutorError::InvalidCode { reason, .. } => reason,
		other => other.to_string(),
	}
}

fn parse_message(seq: u64, line: &str) -> Result<Message, String> {
	let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
	let object = value.as_object().ok_or("not a JSON object")?;
	let event_type = match object.get("event_type") {
		None => DEFAULT_EVENT_TYPE.to_vec(),
		Some(Value::String(s)) => s.clone().into_bytes(),
		Some(_) => return Err("event_type is not a string".into()),
	};
	let payload = match (object.get("payload"), object.get("payload_hex")) {
		(Some(Value::String(s)), None) => s.clone().into_bytes(),
		(Some(other), None) => other.to_string().into_bytes(),
		(None, Some(Value::String(h))) => {
			sp_core::bytes::from_hex(h).map_err(|_| "payload_hex is not hex")?
		}
		(None, None) => Vec::new(),
		_ => return Err("give either payload or payload_hex".into()),
	};
	Ok(Message {
		project: 0,
		device: H256::zero(),
		seq,
		timestamp_ms: 0,
		event_type,
		payload,
		encrypted: false,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn messages_parse_in_every_form() {
		let m = parse_message(0, r#"{"event_type":"ALERT","payload":"hi"}"#).unwrap();
		assert_eq!((m.event_type, m.payload), (b"ALERT".to_vec(), b"hi".to_vec()));
		let m = parse_message(0, r#"{"payload":{"t":1}}"#).unwrap();
		assert_eq!((m.event_type, m.payload), (b"DEFAULT".to_vec(), br#"{"t":1}"#.to_vec()));
		let m = parse_message(0, r#"{"payload_hex":"0x0102"}"#).unwrap();
		assert_eq!(m.payload, vec![1, 2]);
		for bad in [
			"[1]",
			"nope",
			r#"{"event_type":1}"#,
			r#"{"payload":"a","payload_hex":"0x"}"#,
			r#"{"payload_hex":"zz"}"#,
		] {
			assert!(parse_message(0, bad).is_err(), "{bad}");
		}
	}
}
