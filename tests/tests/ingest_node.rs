//! Ingestion inside a real node: the HTTP endpoint started by `--w3b-http-port` checks
//! messages against what the chain holds (a project and a device registered by signed
//! transactions) and stores the good ones.

use std::time::Duration;

use serde_json::{json, Value};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use w3b_e2e_tests::{dev_node_key, free_port, wait_rpc, Node, NodeConfig};
use w3b_primitives::{project::ProjectConfig, DeviceKey, Message};
use w3b_runtime::UNIT;

const STEP: Duration = Duration::from_secs(60);

fn signed(device: &ed25519::Pair, project: u64, seq: u64, payload: &[u8]) -> String {
	let message = Message {
		project,
		device: DeviceKey::Ed25519(device.public().0).device_id(),
		seq,
		timestamp_ms: std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.unwrap()
			.as_millis() as u64,
		event_type: b"TEMPERATURE".to_vec(),
		payload: payload.to_vec(),
		encrypted: false,
	};
	let signature = device.sign(message.hash().as_bytes());
	serde_json::to_string(&w3b_ingest::wire::WireMessage::new(&message, &signature.0)).unwrap()
}

fn post(port: u16, body: &str) -> (u16, Value) {
	let url = format!("http://127.0.0.1:{port}/v1/projects/0/events");
	let response = match ureq::post(&url).send_string(body) {
		Ok(r) => r,
		Err(ureq::Error::Status(_, r)) => r,
		Err(e) => panic!("{e}"),
	};
	(response.status(), response.into_json().unwrap_or(Value::Null))
}

#[test]
fn the_node_ingests_what_the_chain_allows() {
	let dir = tempfile::tempdir().unwrap();
	let http = free_port();
	let mut node = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec!["--w3b-http-port".into(), http.to_string()],
		},
		dir.path(),
	)
	.expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let rpc = node.rpc();
	let device = ed25519::Pair::from_seed(&[5; 32]);
	let stranger = ed25519::Pair::from_seed(&[6; 32]);

	// Before the project exists: refused, with the chain's reason.
	let (status, body) = post(http, &signed(&device, 0, 1, b"early"));
	assert_eq!((status, body["code"].as_str()), (404, Some("unknown_project")), "{body}");

	rpc.submit(
		Alice,
		pallet_projects::Call::create_project {
			name: b"sensors".to_vec().try_into().unwrap(),
			metadata: Default::default(),
			config: ProjectConfig::default(),
		}
		.into(),
	)
	.unwrap();
	rpc.submit(
		Alice,
		pallet_projects::Call::register_device {
			project: 0,
			key: DeviceKey::Ed25519(device.public().0),
			did: None,
		}
		.into(),
	)
	.unwrap();
	rpc.submit(
		Bob,
		pallet_operators::Call::register_operator {
			bond: 100 * UNIT,
			endpoints: Default::default(),
			did: None,
		}
		.into(),
	)
	.unwrap();
	wait_rpc(&rpc, "w3b_getOperator", json!([Bob.to_account_id().to_string()]), STEP, |v| {
		!v.is_null()
	});
	rpc.submit(Bob, pallet_operators::Call::join_subnet { project: 0 }.into()).unwrap();
	wait_rpc(&rpc, "w3b_getProject", json!([0]), STEP, |v| v["status"] == "Active");
	wait_rpc(
		&rpc,
		"w3b_getDevice",
		json!([0, DeviceKey::Ed25519(device.public().0).device_id()]),
		STEP,
		|v| !v.is_null(),
	);
	// The chain view follows the best block; give the node's cache a block to notice.
	let accepted = w3b_e2e_tests::wait_for("the device to be accepted", STEP, || {
		let (status, body) = post(http, &signed(&device, 0, 1, b"{\"t\":21}"));
		Ok((status == 202).then_some(body))
	})
	.unwrap();
	assert!(accepted["hash"].as_str().is_some_and(|h| h.starts_with("0x")));

	let (status, body) = post(http, &signed(&stranger, 0, 1, b"x"));
	assert_eq!((status, body["code"].as_str()), (404, Some("unknown_device")));
	let (status, body) = post(http, &signed(&device, 0, 1, b"replay"));
	assert_eq!((status, body["code"].as_str()), (409, Some("stale_seq")));
	let health: Value =
		ureq::get(&format!("http://127.0.0.1:{http}/health")).call().unwrap().into_json().unwrap();
	assert_eq!(health["status"], "ok");
}
