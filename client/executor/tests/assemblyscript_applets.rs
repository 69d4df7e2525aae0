//! The engine against applets compiled from AssemblyScript with W3bstream's own SDK
//! (`@w3bstream/wasm-sdk` from npm): the ABI as W3bstream's tooling uses it.

mod common;

use std::{
	collections::BTreeMap,
	sync::{Arc, Mutex},
};

use codec::Decode;
use common::{applet, batch, message};
use w3b_executor::{EngineConfig, Executor, Outcome, SqlDb, StateView};
use w3b_primitives::project::code_hash;

fn load(exec: &Executor, name: &str) -> sp_core::H256 {
	let code = common::assemblyscript_code(name);
	let hash = code_hash(&code);
	exec.load(hash, &code).unwrap_or_else(|e| panic!("{name}: {e}"));
	hash
}

fn run(
	name: &str,
	payloads: &[&[u8]],
	env: &[(&str, &str)],
	sql: Option<Arc<Mutex<SqlDb>>>,
) -> w3b_executor::BatchResult {
	let exec = Executor::new(EngineConfig::default()).unwrap();
	let applets = [applet(0, load(&exec, name), &[])];
	let messages: Vec<_> =
		payloads.iter().enumerate().map(|(i, p)| message(i as u64, "DEFAULT", p)).collect();
	let base: Arc<dyn StateView> = Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new());
	exec.run_batch(&batch(&applets, &messages, env), base, sql).unwrap()
}

#[test]
fn log_and_get_data() {
	let result = run("log", &[b"hello from a device"], &[], None);
	let event = &result.events[0];
	assert_eq!(event.outcome, Outcome::Returned(0), "{event:?}");
	assert_eq!(event.logs[0].message, "as received: hello from a device");
}

#[test]
fn key_value_state_and_environment() {
	let result = run("kv", &[b"a", b"b", b"c"], &[("GREETING", "hi")], None);
	assert!(result.events.iter().all(|e| e.succeeded()), "{:?}", result.events);
	assert_eq!(result.events[2].logs.last().unwrap().message, "count 3 hi");
	assert_eq!(result.writes[&b"count".to_vec()], 3u32.to_le_bytes());
	// A missing environment variable: the SDK asserts, the host reports the abort.
	let result = run("kv", &[b"a"], &[], None);
	match &result.events[0].outcome {
		Outcome::Failed(reason) => assert!(reason.starts_with("abort: get env failed"), "{reason}"),
		other => panic!("expected an abort, got {other:?}"),
	}
	assert!(result.writes.is_empty());
}

#[test]
fn sql_exec_and_query() {
	let db = Arc::new(Mutex::new(SqlDb::in_memory().unwrap()));
	let result = run("sql", &[b"one", b"two"], &[], Some(db));
	assert!(result.events.iter().all(|e| e.succeeded()), "{:?}", result.events);
	let last = result.events[1].logs.last().unwrap();
	assert_eq!(last.message, r#"[{"n":2}]"#);
}

#[test]
fn send_tx_and_metrics() {
	let result = run("tx", &[b""], &[], None);
	let event = &result.events[0];
	assert_eq!(event.outcome, Outcome::Returned(0), "{event:?}");
	assert_eq!(event.metrics, [r#"{"sent":1}"#]);
	assert_eq!(result.outputs.len(), 1);
	let tx = w3b_primitives::bridge::SendTx::decode(&mut &result.outputs[0][..]).unwrap();
	assert_eq!(tx.chain_id, 4690);
	let to: sp_core::H160 = "b73eE6EB5b1984c78CCcC49eA7Ad773E71d74F51".parse().unwrap();
	assert_eq!((tx.to, &tx.data[..]), (Some(to), &[0x40, 0xc1, 0x0f, 0x19][..]));
	assert!(event.logs.iter().any(|l| l.message.starts_with("tx 0x")));
}

#[test]
fn abort_reports_message_file_and_line() {
	let result = run("abort", &[b""], &[], None);
	match &result.events[0].outcome {
		Outcome::Failed(reason) => {
			assert!(
				reason.starts_with("abort: rid must be negative at assembly/abort.ts:"),
				"{reason}"
			)
		}
		other => panic!("expected an abort, got {other:?}"),
	}
}

#[test]
fn trace_and_seeded_random_are_deterministic() {
	let first = run("random", &[b""], &[], None);
	let event = &first.events[0];
	assert_eq!(event.outcome, Outcome::Returned(0), "{event:?}");
	assert_eq!(event.logs[0].level, "trace");
	assert_eq!(event.logs[0].message, "tracing 1.5 2.5");
	assert!(event.logs[1].message.starts_with("random 0."), "{:?}", event.logs);
	let again = run("random", &[b""], &[], None);
	assert_eq!(again.events[0].logs, event.logs);
}

#[test]
fn threshold_alerts_and_contract_logs_become_bridge_outputs() {
	use w3b_primitives::{bridge::SendTx, inbound};
	let exec = Executor::new(EngineConfig::default()).unwrap();
	let code = load(&exec, "chainwatch");
	let applets = [applet(0, code, &[("DEFAULT", "start"), ("evm:Reading", "on_log")])];
	let subscription = inbound::Subscription {
		chain_id: 4690,
		contract: sp_core::H160::repeat_byte(0xc0),
		topics: Default::default(),
		confirmations: 1,
		blocks_per_range: 10,
		event_type: b"evm:Reading".to_vec().try_into().unwrap(),
	};
	let log = inbound::EvmLog {
		block_number: 12,
		block_hash: sp_core::H256::repeat_byte(1),
		transaction_hash: sp_core::H256::repeat_byte(2),
		log_index: 0,
		topics: Default::default(),
		data: vec![0xca, 0xfe].try_into().unwrap(),
		data_truncated: false,
	};
	let messages = [
		message(0, "DEFAULT", br#"{"temperature": 25}"#),
		message(1, "DEFAULT", br#"{"temperature": 31}"#),
		message(2, "evm:Reading", &inbound::log_payload(&subscription, &log)),
		message(3, "DEFAULT", b"{}"),
	];
	let receiver = "0x00000000000000000000000000000000000000aa";
	let env = [("THRESHOLD", "30"), ("CHAIN_ID", "4690"), ("RECEIVER", receiver)];
	let base: Arc<dyn StateView> = Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new());
	let result = exec.run_batch(&batch(&applets, &messages, &env), base, None).unwrap();
	let outcomes: Vec<_> = result.events.iter().map(|e| e.outcome.clone()).collect();
	assert_eq!(
		outcomes,
		[Outcome::Returned(0), Outcome::Returned(0), Outcome::Returned(0), Outcome::Returned(1)]
	);
	let sent: Vec<SendTx> =
		result.outputs.iter().map(|o| SendTx::decode(&mut &o[..]).unwrap()).collect();
	let to = Some(sp_core::H160::from_low_u64_be(0xaa));
	assert_eq!(
		sent.iter().map(|tx| (tx.chain_id, tx.to, tx.data.to_vec())).collect::<Vec<_>>(),
		[(4690, to, b"alert:31".to_vec()), (4690, to, vec![0xca, 0xfe])]
	);
	assert!(result.events[2].logs.iter().any(|l| l.message == "log of block 12"));
}
