//! The W3bstream protocol through a real node: signed transactions create a project,
//! upload code, register an applet and a device, an operator joins, commits a batch and
//! attests it; every step is read back through the `w3b_*` JSON-RPC methods. A device's
//! `did:w3b` DID is created, rotated to a secp256k1 key and deactivated, by operations
//! the device signs and another account submits, and resolved at each step.

use std::time::Duration;

use serde_json::{json, Value};
use sp_core::{Pair, H256};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use w3b_e2e_tests::{dev_node_key, hex_0x, Node, NodeConfig, Rpc};
use w3b_primitives::{
	code::sample_module,
	merkle::merkle_root,
	project::{code_hash, ProjectConfig, Strategy, DEFAULT_EVENT_TYPE},
	proof::{output_root, Output, Outputs},
	DeviceKey,
};
use w3b_runtime::{RuntimeCall, UNIT};

const STEP: Duration = Duration::from_secs(60);

/// Polls `method` until `done` holds for its answer.
fn wait_rpc(rpc: &Rpc, method: &str, params: Value, done: impl Fn(&Value) -> bool) -> Value {
	w3b_e2e_tests::wait_rpc(rpc, method, params, STEP, done)
}

#[test]
fn protocol_state_is_served_over_json_rpc() {
	let dir = w3b_e2e_tests::test_dir();
	let mut node = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec![],
		},
		dir.path(),
	)
	.expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let rpc = node.rpc();
	let submit = |who, call: RuntimeCall| {
		rpc.submit(who, call).unwrap_or_else(|e| panic!("submit: {e}\n{}", node.log_tail(20)))
	};

	// Unknown things are null, malformed requests are errors.
	assert_eq!(rpc.call("w3b_getProject", json!([0])).unwrap(), Value::Null);
	assert_eq!(rpc.call("w3b_getProof", json!([0, 0])).unwrap(), Value::Null);
	assert_eq!(rpc.call("w3b_getSubnet", json!([0])).unwrap(), json!([]));
	assert!(rpc.call("w3b_getProject", json!(["not a number"])).is_err());
	assert!(rpc.call("w3b_getOperator", json!(["not an account"])).is_err());

	// The owner: project, code.
	let code = sample_module(&["start"], 16);
	let hash = code_hash(&code);
	submit(
		Alice,
		pallet_projects::Call::create_project {
			name: b"weather".to_vec().try_into().unwrap(),
			metadata: b"{\"site\":\"roof\"}".to_vec().try_into().unwrap(),
			config: ProjectConfig { reward_per_batch: UNIT, ..Default::default() },
		}
		.into(),
	);
	submit(Alice, pallet_projects::Call::upload_code { code: code.clone() }.into());
	let info = wait_rpc(&rpc, "w3b_getCodeInfo", json!([hash]), |v| !v.is_null());
	assert_eq!(info["exports"], json!(["alloc", "start"]));
	assert_eq!(info["len"], code.len());
	let project = rpc.call("w3b_getProjectId", json!(["weather"])).unwrap();
	assert_eq!(project, json!(0));
	let fetched = rpc.call("w3b_getCode", json!([hash])).unwrap();
	assert_eq!(fetched, json!(hex_0x(&code)));

	// Applet, device, reward pool; an operator registers.
	let device = sp_core::ed25519::Pair::from_seed(&[9; 32]);
	let key = DeviceKey::Ed25519(device.public().0);
	let strategies = vec![Strategy {
		event_type: DEFAULT_EVENT_TYPE.to_vec().try_into().unwrap(),
		handler: b"start".to_vec().try_into().unwrap(),
	}];
	submit(
		Alice,
		pallet_projects::Call::register_applet {
			project: 0,
			name: b"alerts".to_vec().try_into().unwrap(),
			code_hash: hash,
			strategies: strategies.try_into().unwrap(),
		}
		.into(),
	);
	submit(
		Alice,
		pallet_projects::Call::register_device { project: 0, key: key.clone(), did: None }.into(),
	);
	submit(
		Alice,
		pallet_operators::Call::fund_reward_pool { project: 0, amount: 10 * UNIT }.into(),
	);
	submit(
		Bob,
		pallet_operators::Call::register_operator {
			bond: 100 * UNIT,
			endpoints: w3b_primitives::operator::Endpoints {
				mqtt: b"mqtt://127.0.0.1:1883".to_vec().try_into().unwrap(),
				http: b"http://127.0.0.1:8080".to_vec().try_into().unwrap(),
			},
			did: None,
		}
		.into(),
	);
	let bob = Bob.to_account_id().to_string();
	let operator = wait_rpc(&rpc, "w3b_getOperator", json!([bob]), |v| !v.is_null());
	assert_eq!(operator["endpoints"]["mqtt"], "mqtt://127.0.0.1:1883");
	assert_eq!(operator["bond"], (100 * UNIT).to_string());
	let applets = wait_rpc(&rpc, "w3b_getApplets", json!([0]), |v| v != &json!([]));
	assert_eq!(applets[0]["name"], "alerts");
	assert_eq!(applets[0]["strategies"][0], json!({"eventType": "DEFAULT", "handler": "start"}));
	let device_id = key.device_id();
	let record = w3b_e2e_tests::wait_device_final(&rpc, 0, device_id, STEP);
	assert_eq!(
		(record["curve"].as_str(), record["status"].as_str()),
		(Some("ed25519"), Some("Active"))
	);

	// The operator joins (a subnet of one is enough for the default min_operators).
	let project = rpc.call("w3b_getProject", json!([0])).unwrap();
	assert_eq!(project["status"], "Pending");
	submit(Bob, pallet_operators::Call::join_subnet { project: 0 }.into());
	let project = wait_rpc(&rpc, "w3b_getProject", json!([0]), |v| v["status"] == "Active");
	assert_eq!(project["name"], "weather");
	assert_eq!(project["config"]["rewardPerBatch"], UNIT.to_string());
	assert_eq!(rpc.call("w3b_getSubnet", json!([0])).unwrap(), json!([bob]));

	// A batch is committed and attested.
	let hashes = [H256::repeat_byte(1), H256::repeat_byte(2), H256::repeat_byte(3)];
	let root = merkle_root(&hashes);
	let mut cid = vec![1, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[5; 32]);
	submit(
		Bob,
		pallet_commitments::Call::commit_batch {
			project: 0,
			merkle_root: root,
			count: 3,
			bytes: 96,
			cid: cid.clone().try_into().unwrap(),
		}
		.into(),
	);
	let batch = wait_rpc(&rpc, "w3b_getBatch", json!([0, 0]), |v| !v.is_null());
	assert_eq!(batch["merkleRoot"], json!(root));
	assert_eq!((batch["count"].as_u64(), batch["pruned"].as_bool()), (Some(3), Some(false)));
	assert_eq!(batch["cid"], json!(hex_0x(&cid)));
	assert_eq!(batch["committer"], json!(bob));
	assert_eq!(rpc.call("w3b_getNextBatchSeq", json!([0])).unwrap(), json!(1));
	let pending = rpc.call("w3b_getProof", json!([0, 0])).unwrap();
	assert_eq!(pending["status"], "Pending");

	let outputs: Outputs = vec![Output::try_from(b"alert".to_vec()).unwrap()].try_into().unwrap();
	let result = output_root(&H256::repeat_byte(7), &outputs);
	submit(
		Bob,
		pallet_attestations::Call::attest {
			project: 0,
			batch_seq: 0,
			merkle_root: root,
			previous_state_root: H256::zero(),
			state_root: H256::repeat_byte(7),
			outputs,
		}
		.into(),
	);
	let proof = wait_rpc(&rpc, "w3b_getProof", json!([0, 0]), |v| v["status"] == "Finalized");
	assert_eq!(proof["outputRoot"], json!(result));
	assert_eq!(proof["stateRoot"], json!(H256::repeat_byte(7)));
	assert_eq!(proof["previousStateRoot"], json!(H256::zero()), "the project's first batch");
	assert_eq!(proof["outputs"], json!([hex_0x(b"alert")]));
	assert_eq!((proof["agreed"].as_u64(), proof["subnetSize"].as_u64()), (Some(1), Some(1)));

	did_lifecycle(&rpc, &submit);
}

/// A device's DID: created (signed by its ed25519 key, submitted by Alice), its key
/// rotated to secp256k1 (so it is also its IoTeX ioID), deactivated; resolved after each
/// step, and as of the block it was created in.
fn did_lifecycle(rpc: &Rpc, submit: &dyn Fn(sp_keyring::Sr25519Keyring, RuntimeCall) -> H256) {
	use w3b_primitives::did::{format_did, io_did, DidAction, DidCreation, DidOperation};
	let genesis = rpc.block_hash(0).unwrap();
	let valid_until = rpc.best_number().unwrap() + 100;
	let device = sp_core::ed25519::Pair::from_seed(&[21; 32]);
	let first_key = DeviceKey::Ed25519(device.public().0);
	let creation = DidCreation {
		authentication: first_key.clone(),
		assertion: None,
		delegation: None,
		key_agreement: Default::default(),
		services: Default::default(),
		controller: None,
		submitter: Alice.to_account_id(),
		valid_until,
	};
	let did = creation.did();
	let did_text = format_did(&did);
	let signature = w3b_primitives::DeviceSignature::Ed25519(
		device.sign(creation.signing_hash(&genesis).as_bytes()).0,
	);
	submit(Alice, pallet_did::Call::create { creation, signature }.into());
	let created =
		wait_rpc(rpc, "w3b_resolveDid", json!([did_text]), |v| !v["didDocument"].is_null());
	let first_method = w3b_ssi::verification_method_id(&did, &first_key);
	assert_eq!(created["didDocument"]["id"], did_text);
	assert_eq!(created["didDocument"]["authentication"], json!([first_method]));
	assert_eq!(
		created["didDocument"]["verificationMethod"][0]["publicKeyMultibase"],
		w3b_ssi::document::public_key_multibase(&first_key)
	);
	let created_at = created["didDocumentMetadata"]["w3b"]["createdAt"].as_u64().unwrap();

	// The device moves to a secp256k1 key.
	let second = sp_core::ecdsa::Pair::from_seed(&[22; 32]);
	let second_key = DeviceKey::Secp256k1(second.public().0);
	let rotation = DidOperation {
		did,
		counter: 1,
		valid_until,
		action: DidAction::SetAuthenticationKey(second_key.clone()),
	};
	let signature = w3b_primitives::DeviceSignature::Ed25519(
		device.sign(rotation.signing_hash(&genesis).as_bytes()).0,
	);
	submit(Alice, pallet_did::Call::update { operation: rotation, signature }.into());
	let rotated = wait_rpc(rpc, "w3b_resolveDid", json!([did_text]), |v| {
		v["didDocumentMetadata"]["w3b"]["counter"] == 1
	});
	let second_method = w3b_ssi::verification_method_id(&did, &second_key);
	assert_eq!(rotated["didDocument"]["id"], did_text, "a rotation keeps the identifier");
	assert_eq!(rotated["didDocument"]["authentication"], json!([second_method]));
	// The new key was not proven the holder's (no signature of it): no IoTeX alias.
	assert!(rotated["didDocument"].get("alsoKnownAs").is_none(), "{rotated}");
	assert!(io_did(&second_key).is_some());
	let retired = &rotated["didDocumentMetadata"]["w3b"]["retiredKeys"];
	assert_eq!(retired[0]["id"], first_method);
	assert_eq!(retired[0]["since"].as_u64(), Some(created_at));
	// The document as of its creation block still shows the first key.
	let then = rpc.block_hash(created_at as u32).unwrap();
	let old = rpc.call("w3b_resolveDid", json!([did_text, then])).unwrap();
	assert_eq!(old["didDocument"]["authentication"], json!([first_method]));

	// Deactivated by the new key; the old one could no longer sign anything.
	let deactivation = DidOperation { did, counter: 2, valid_until, action: DidAction::Deactivate };
	let signature = w3b_primitives::DeviceSignature::Secp256k1(
		second.sign_prehashed(&deactivation.signing_hash(&genesis).0).0,
	);
	submit(Alice, pallet_did::Call::update { operation: deactivation, signature }.into());
	let gone = wait_rpc(rpc, "w3b_resolveDid", json!([did_text]), |v| {
		v["didDocumentMetadata"]["deactivated"] == true
	});
	assert_eq!(gone["didDocument"]["id"], did_text);
	assert!(gone["didDocument"].get("authentication").is_none());

	// Errors as DID Resolution names them.
	let unknown = format_did(&H256::repeat_byte(5));
	let answer = rpc.call("w3b_resolveDid", json!([unknown])).unwrap();
	assert_eq!(answer["didResolutionMetadata"]["error"], "notFound");
	let answer = rpc.call("w3b_resolveDid", json!(["did:key:z6Mk"])).unwrap();
	assert_eq!(answer["didResolutionMetadata"]["error"], "methodNotSupported");
}
