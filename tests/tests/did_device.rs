//! A device registered by its `did:w3b` DID under a project that requires a
//! manufacturer's credential, on a dev node with its worker (Alice operates the project):
//! the node's wallet (the manufacturer) registers its DID and issues the device a
//! `GenuineDeviceCredential`, which verifies in the node and in an independent VC-JOSE
//! implementation (panva/jose, through the identity endpoint's DID resolution and status
//! lists); one that implementation issues verifies in the node. The device registers,
//! publishes, rotates its key (one operation it signs, no new registration), publishes
//! again under the new key while its old key is refused; a finalized proof of the project
//! is exported as a credential and verified (against the chain's proof too); the
//! manufacturer revokes the credential: within two blocks both verifiers refuse it, and
//! the device is refused. Both accepted messages count in finalized proofs.

use std::time::Duration;

use serde_json::{json, Value};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use w3b_e2e_tests::{
	dev_node_key, free_port, metric, node_binary, repository_root, wait_for, Node, NodeConfig, Rpc,
};
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

/// Runs `w3b-node wallet ARGS` on `node`'s keystore: exit success and stdout.
fn wallet(node: &Node, args: &[&str]) -> (bool, String) {
	let output = std::process::Command::new(node_binary())
		.arg("wallet")
		.args(args)
		.arg("--chain")
		.arg("dev")
		.arg("--base-path")
		.arg(node.base_path())
		.args(["--rpc-url", &format!("http://127.0.0.1:{}", node.rpc_port)])
		.output()
		.expect("w3b-node runs");
	let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
	eprintln!("wallet {}: {stdout:.200}\n{}", args[0], String::from_utf8_lossy(&output.stderr));
	(output.status.success(), stdout)
}

/// Runs the independent VC-JOSE implementation: exit success and stdout.
fn jose(args: &[&str]) -> (bool, String) {
	let dir = repository_root().join("tests/vc-interop");
	assert!(dir.join("node_modules/jose").exists(), "run `npm ci` in tests/vc-interop");
	let output = std::process::Command::new("node")
		.current_dir(&dir)
		.arg("vc.mjs")
		.args(args)
		.output()
		.expect("node runs");
	let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
	eprintln!("jose {}: {stdout:.200}\n{}", args[0], String::from_utf8_lossy(&output.stderr));
	(output.status.success(), stdout)
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
	let identity = free_port();
	let mut node = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec![
				"--w3b-http-port".into(),
				http.to_string(),
				"--w3b-identity-port".into(),
				identity.to_string(),
			],
		},
		dir.path(),
	)
	.expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let rpc = node.rpc();
	let submit_as = |who, call: w3b_runtime::RuntimeCall| {
		rpc.submit(who, call).unwrap_or_else(|e| panic!("submit: {e}\n{}", node.log_tail(20)))
	};
	let submit = |call: w3b_runtime::RuntimeCall| submit_as(Alice, call);
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
	let device_did = w3b_primitives::did::format_did(&did);

	// The node's wallet is the manufacturer: its DID on chain (Bob pays).
	let (ok, init) = wallet(&node, &["init"]);
	assert!(ok, "{init}");
	let manufacturer: Value = serde_json::from_str(&init).unwrap();
	let manufacturer = manufacturer["did"].as_str().unwrap().to_string();
	assert!(wallet(&node, &["create-did", "--payer", "//Bob"]).0);
	// Bob, an operator, links the wallet's DID (signed by its key, submitted by Bob).
	submit_as(
		Bob,
		pallet_operators::Call::register_operator {
			bond: 100 * w3b_runtime::UNIT,
			endpoints: Default::default(),
			did: None,
		}
		.into(),
	);
	wait_for("Bob to be an operator", STEP, || {
		let info = rpc.call("w3b_getOperator", json!([Bob.to_account_id().to_string()]))?;
		Ok((!info.is_null()).then_some(()))
	})
	.unwrap();
	let (ok, linked) = wallet(&node, &["link-operator", "--operator", "//Bob"]);
	assert!(ok, "{linked}");
	assert_eq!(serde_json::from_str::<Value>(&linked).unwrap()["did"], json!(manufacturer));
	assert!(!wallet(&node, &["link-operator", "--operator", "//Bob"]).0, "links once");
	let resolver = format!("http://127.0.0.1:{identity}");
	let resolved = ureq::get(&format!("{resolver}/1.0/identifiers/{manufacturer}")).call().unwrap();
	assert_eq!(resolved.content_type(), "application/did-resolution");
	let resolved: Value = resolved.into_json().unwrap();
	assert_eq!(resolved["didDocument"]["id"], json!(manufacturer));
	match ureq::get(&format!("{resolver}/1.0/identifiers/did:w3b:1111")).call() {
		Err(ureq::Error::Status(code, _)) => assert!(code == 400 || code == 404, "{code}"),
		other => panic!("an unknown DID resolved: {other:?}"),
	}

	// The project admits only devices with the manufacturer's credential.
	let policy = w3b_primitives::credential::CredentialPolicy {
		credential_type: w3b_primitives::credential::credential_type_of("GenuineDeviceCredential"),
		issuers: vec![w3b_primitives::did::parse_did(&manufacturer).unwrap()].try_into().unwrap(),
	};
	submit(
		pallet_projects::Call::set_device_credential_policy { project, policy: Some(policy) }
			.into(),
	);
	let (ok, credential) = wallet(
		&node,
		&[
			"issue",
			"--type",
			"GenuineDeviceCredential",
			"--subject",
			&device_did,
			"--claims",
			r#"{"model":"T-1000","batch":"2026-11"}"#,
			"--status-base",
			&resolver,
			"--payer",
			"//Bob",
		],
	);
	assert!(ok, "{credential}");
	let (ok, outcome) = wallet(&node, &["verify", &credential]);
	assert!(ok, "{outcome}");
	let outcome: Value = serde_json::from_str(&outcome).unwrap();
	assert_eq!(outcome["status"], "active");
	assert_eq!(outcome["subject"], json!(device_did));
	let (ok, outcome) = jose(&["verify", &credential, &resolver]);
	assert!(ok, "the independent verifier refused the node's credential: {outcome}");
	// A credential issued elsewhere (a did:key wallet) verifies in the node.
	let (ok, foreign) = jose(&["issue", &device_did]);
	assert!(ok);
	let (ok, outcome) = wallet(&node, &["verify", &foreign]);
	assert!(ok, "the node refused the independent issuer's credential: {outcome}");
	// The wallet presents a credential about itself (from the did:key issuer) to a
	// verifier's challenge; replayed to another challenge, it is refused.
	let (ok, about_wallet) = jose(&["issue", &manufacturer]);
	assert!(ok);
	let (ok, presentation) = wallet(
		&node,
		&[
			"present",
			"--credential",
			&about_wallet,
			"--nonce",
			"n-42",
			"--audience",
			"did:w3b:verifier",
		],
	);
	assert!(ok, "{presentation}");
	let verify_presentation = |nonce: &str| {
		wallet(
			&node,
			&[
				"verify-presentation",
				&presentation,
				"--nonce",
				nonce,
				"--audience",
				"did:w3b:verifier",
			],
		)
	};
	let (ok, outcome) = verify_presentation("n-42");
	assert!(ok, "{outcome}");
	assert!(!verify_presentation("n-43").0);

	// Tampered with (a character inside the signature: the last one may carry only
	// padding bits, which lenient decoders ignore): refused by both.
	let at = credential.rfind('.').unwrap() + 10;
	let replacement = if &credential[at..at + 1] == "A" { "B" } else { "A" };
	let tampered = format!("{}{replacement}{}", &credential[..at], &credential[at + 1..]);
	assert!(!wallet(&node, &["verify", &tampered]).0);
	assert!(!jose(&["verify", &tampered, &resolver]).0);

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

	// A finalized proof of the project, exported as a credential: it verifies in both
	// implementations, and the node checks it against the chain's proof.
	let batch = (0..rpc.call("w3b_getNextBatchSeq", json!([project])).unwrap().as_u64().unwrap())
		.find(|seq| {
			rpc.call("w3b_getProof", json!([project, seq])).unwrap()["status"] == "Finalized"
		})
		.expect("a finalized batch");
	let (ok, proof_credential) = wallet(
		&node,
		&[
			"export-proof",
			"--project",
			&project.to_string(),
			"--batch",
			&batch.to_string(),
			"--status-base",
			&resolver,
			"--payer",
			"//Bob",
		],
	);
	assert!(ok, "{proof_credential}");
	let (ok, outcome) = wallet(&node, &["verify", &proof_credential]);
	assert!(ok, "{outcome}");
	assert_eq!(serde_json::from_str::<Value>(&outcome).unwrap()["proof"], "matches");
	assert!(jose(&["verify", &proof_credential, &resolver]).0);

	// The manufacturer revokes the credential: within a block of the revocation both
	// verifiers refuse it, and the device is revoked.
	let (ok, record) =
		wallet(&node, &["set-status", &credential, "--status", "revoked", "--payer", "//Bob"]);
	assert!(ok, "{record}");
	let record: Value = serde_json::from_str(&record).unwrap();
	let revoked_at = record["statusSince"].as_u64().unwrap();
	let (ok, outcome) = wallet(&node, &["verify", &credential]);
	assert!(!ok);
	assert!(outcome.contains("revoked since block"), "{outcome}");
	let (ok, outcome) = jose(&["verify", &credential, &resolver]);
	assert!(!ok, "{outcome}");
	assert!(outcome.contains("revocation: set"), "{outcome}");
	// Both refused it while the revocation was at most two blocks old (one block, and
	// slack for a slow machine running the verifiers).
	assert!(rpc.best_number().unwrap() as u64 <= revoked_at + 2, "checked soon after");
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
