//! A device registered by its `did:w3b` DID, on a dev node with its worker (Alice
//! operates the project): it publishes, rotates its key (one operation it signs, no new
//! registration), publishes again under the new key while its old key is refused, and is
//! refused once its DID is deactivated. Both accepted messages count in finalized proofs.

use std::time::Duration;

use serde_json::{json, Value};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::Alice;
use w3b_e2e_tests::{dev_node_key, free_port, metric, wait_for, Node, NodeConfig, Rpc};
use w3b_primitives::{
	did::{DidAction, DidCreation, DidOperation},
	DeviceKey, DeviceSignature,
};

const STEP: Duration = Duration::from_secs(90);

/// POSTs `body` to `project`'s endpoint: status and JSON answer.
fn post(port: u16, project: u64, body: &str) -> (u16, Value) {
	let url = format!("http://127.0.0.1:{port}/v1/projects/{project}/events");
	let response = match ureq::post(&url).send_string(body) {
		Ok(r) => r,
		Err(ureq::Error::Status(_, r)) => r,
		Err(e) => panic!("{e}"),
	};
	(response.status(), response.into_json().unwrap_or(Value::Null))
}

/// Waits until the device's record at the finalized block satisfies `done`.
fn wait_device(rpc: &Rpc, project: u64, did: sp_core::H256, done: impl Fn(&Value) -> bool) {
	wait_for("the device's change to be final", STEP, || {
		let head = rpc.call("chain_getFinalizedHead", json!([]))?;
		let record = rpc.call("w3b_getDevice", json!([project, did, head]))?;
		Ok(done(&record).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_device_rotates_its_did_key_without_registering_again() {
	let dir = w3b_e2e_tests::test_dir();
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
	let submit = |call: w3b_runtime::RuntimeCall| {
		rpc.submit(Alice, call).unwrap_or_else(|e| panic!("submit: {e}\n{}", node.log_tail(20)))
	};
	let counted = |project: u64| {
		metric(
			node.prometheus_port,
			"w3b_batch_messages_total",
			&[&format!("project=\"{project}\""), "verdict=\"counted\""],
		)
	};

	// A project Alice operates (with a device by key, unused), and a device by DID.
	let unused = ed25519::Pair::from_seed(&[30; 32]);
	let project =
		w3b_e2e_tests::active_project_with_device(&rpc, "did-devices", Alice, &unused, STEP);
	let genesis = rpc.block_hash(0).unwrap();
	let valid_until = rpc.best_number().unwrap() + 200;
	let first = ed25519::Pair::from_seed(&[31; 32]);
	let second = ed25519::Pair::from_seed(&[32; 32]);
	let creation =
		DidCreation::new(DeviceKey::Ed25519(first.public().0), Alice.to_account_id(), valid_until);
	let did = creation.did();
	let signature =
		DeviceSignature::Ed25519(first.sign(creation.signing_hash(&genesis).as_bytes()).0);
	submit(pallet_did::Call::create { creation, signature }.into());
	wait_for("the DID", STEP, || {
		let resolved =
			rpc.call("w3b_resolveDid", json!([w3b_primitives::did::format_did(&did)]))?;
		Ok((!resolved["didDocument"].is_null()).then_some(()))
	})
	.unwrap();
	submit(pallet_projects::Call::register_device_by_did { project, did }.into());
	wait_device(&rpc, project, did, |record| !record.is_null());
	let record = rpc.call("w3b_getDevice", json!([project, did])).unwrap();
	assert_eq!(record["byDid"], json!(w3b_primitives::did::format_did(&did)));

	// Published under its first key: accepted, and counts.
	let message = |key: &ed25519::Pair, seq: u64| {
		w3b_e2e_tests::signed_message_as(key, did, project, seq, b"{\"t\":20}").1
	};
	let (status, body) = post(http, project, &message(&first, 1));
	assert_eq!(status, 202, "{body}");
	wait_for("the first message to count", STEP, || Ok((counted(project) >= 1.0).then_some(())))
		.unwrap();

	// The device rotates its key: one operation signed by the old key.
	let rotation = DidOperation {
		did,
		counter: 1,
		valid_until,
		action: DidAction::SetAuthenticationKey(DeviceKey::Ed25519(second.public().0)),
	};
	let signature =
		DeviceSignature::Ed25519(first.sign(rotation.signing_hash(&genesis).as_bytes()).0);
	submit(pallet_did::Call::update { operation: rotation, signature }.into());
	let second_key = format!("0x{}", hex::encode(second.public().0));
	wait_device(&rpc, project, did, |record| record["publicKey"] == second_key);
	// The node's view follows the best block: a block later it knows the new key.
	let refused = wait_for("the old key to be refused", STEP, || {
		let (status, body) = post(http, project, &message(&first, 2));
		Ok((status != 202).then_some((status, body)))
	})
	.unwrap();
	assert_eq!(refused.1["code"], "bad_signature", "{:?}", refused);
	let (status, body) = post(http, project, &message(&second, 3));
	assert_eq!(status, 202, "{body}");
	wait_for("the second message to count", STEP, || Ok((counted(project) >= 2.0).then_some(())))
		.unwrap();

	// Deactivated: the device is revoked.
	let deactivation = DidOperation { did, counter: 2, valid_until, action: DidAction::Deactivate };
	let signature =
		DeviceSignature::Ed25519(second.sign(deactivation.signing_hash(&genesis).as_bytes()).0);
	submit(pallet_did::Call::update { operation: deactivation, signature }.into());
	wait_device(&rpc, project, did, |record| record["status"] == "Revoked");
	let refused = wait_for("the revoked device to be refused", STEP, || {
		let (status, body) = post(http, project, &message(&second, 4));
		Ok((status != 202).then_some((status, body)))
	})
	.unwrap();
	assert_eq!(refused.1["code"], "revoked_device", "{:?}", refused);
	// Exactly the two accepted messages counted; nothing of this project was refused.
	assert_eq!(counted(project), 2.0);
	let verdicts = metric(
		node.prometheus_port,
		"w3b_batch_messages_total",
		&[&format!("project=\"{project}\"")],
	);
	assert_eq!(verdicts, 2.0, "every message of the project's batches counted");
}
