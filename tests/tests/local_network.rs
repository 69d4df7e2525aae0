//! Four validators on loopback: blocks are produced and finalized, finality survives one
//! stopped validator, and a fifth validator admitted by a council motion joins the authority set
//! and votes; the bridge contract on an EVM chain (ganache) is handed over to the new
//! validator set by the relayer, signed by the old one, and an output bridged after it
//! verifies with the new set.

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

use std::time::{Duration, Instant};

use codec::Decode;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityList;
use sp_core::{crypto::Ss58Codec, ed25519, Pair};
use sp_keyring::Sr25519Keyring;
use w3b_e2e_tests::{
	demo::{reading, setup_project, ProjectSpec},
	demo_bridge::EvmSide,
	dev_node_key, wait_for, Node, NodeConfig, Result,
};
use w3b_runtime::{AccountId, Runtime};

const START_TIMEOUT: Duration = Duration::from_secs(180);
/// Sessions are 10 blocks of 3 s and a set change takes up to two sessions.
const SET_CHANGE_TIMEOUT: Duration = Duration::from_secs(150);

fn start_validator(
	identity: &'static str,
	index: u8,
	bootnodes: Vec<String>,
	dir: &std::path::Path,
	extra_args: Vec<String>,
) -> Result<Node> {
	let mut node = Node::start(
		NodeConfig {
			identity,
			chain: "local".into(),
			node_key: dev_node_key(index),
			bootnodes,
			extra_args,
		},
		dir,
	)?;
	node.wait_rpc_ready(START_TIMEOUT)?;
	Ok(node)
}

/// Runs `w3b-node governance ARGS`; returns its JSON output (panics with the nodes' logs
/// when it fails).
fn governance(args: &[&str], nodes: &[&Node]) -> serde_json::Value {
	let output = std::process::Command::new(w3b_e2e_tests::node_binary())
		.arg("governance")
		.args(args)
		.output()
		.expect("w3b-node runs");
	if !output.status.success() {
		for node in nodes {
			eprintln!("----- last log lines of {} -----\n{}", node.identity, node.log_tail(30));
		}
		panic!(
			"w3b-node governance {}: {}",
			args.join(" "),
			String::from_utf8_lossy(&output.stderr)
		);
	}
	serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn with_logs<T>(nodes: &[&Node], result: Result<T>) -> T {
	match result {
		Ok(value) => value,
		Err(e) => {
			for node in nodes {
				eprintln!("----- last log lines of {} -----\n{}", node.identity, node.log_tail(30));
			}
			panic!("{e}");
		}
	}
}

#[test]
fn four_validators_finalize_survive_a_fault_and_admit_a_fifth() {
	let dir = w3b_e2e_tests::test_dir();
	let started = Instant::now();
	let alice = with_logs(&[], start_validator("alice", 1, vec![], dir.path(), vec![]));
	let boot = vec![alice.multiaddr()];
	let bob = start_validator("bob", 2, boot.clone(), dir.path(), vec![]).expect("bob starts");
	let charlie =
		start_validator("charlie", 3, boot.clone(), dir.path(), vec![]).expect("charlie starts");
	let mut dave =
		start_validator("dave", 4, boot.clone(), dir.path(), vec![]).expect("dave starts");

	// Blocks are produced and finalized on every validator.
	for node in [&alice, &bob, &charlie, &dave] {
		with_logs(&[node], node.wait_finalized(3, START_TIMEOUT));
	}
	println!(
		"[e2e] four validators up and block #3 finalized on all after {:?}",
		started.elapsed()
	);

	// Block time and finality lag over 10 blocks.
	let rpc = alice.rpc();
	let (best_0, clock_0) = (rpc.best_number().expect("best"), Instant::now());
	with_logs(
		&[&alice],
		wait_for("10 more blocks", Duration::from_secs(60), || {
			Ok((rpc.best_number()? >= best_0 + 10).then_some(()))
		}),
	);
	let block_time = clock_0.elapsed() / 10;
	let lag = rpc.best_number().expect("best") - rpc.finalized_number().expect("finalized");
	println!("[e2e] block time {block_time:?}; finalized head {lag} blocks behind best");

	let peers = alice.rpc().peers().expect("system_health");
	assert!(peers >= 3, "alice sees {peers} peers, expected the other three validators");
	let best = alice.rpc().best_number().expect("best block");
	assert!(best >= 3, "best block #{best} must be at least the finalized #3");

	// Prometheus metrics are served.
	let metrics = ureq::get(&format!("http://127.0.0.1:{}/metrics", alice.prometheus_port))
		.call()
		.expect("prometheus endpoint answers")
		.into_string()
		.expect("metrics are text");
	assert!(metrics.contains("substrate_block_height"), "block height metric missing");

	// One of four validators stops: the other three are more than 2/3 and keep finalizing.
	dave.kill();
	let killed_at = Instant::now();
	let finalized = alice.rpc().finalized_number().expect("finalized head");
	with_logs(
		&[&alice, &bob, &charlie],
		alice.wait_finalized(finalized + 5, Duration::from_secs(90)),
	);
	println!(
		"[e2e] dave killed; 5 more blocks finalized by the other three in {:?}",
		killed_at.elapsed()
	);
	with_logs(&[&bob], bob.wait_finalized(finalized + 5, Duration::from_secs(30)));

	// The bridge to an EVM chain, deployed for the four and registered, with a relayer:
	// the contract must follow the set change below though no outputs flow.
	let alice_url = format!("http://127.0.0.1:{}", alice.rpc_port);
	let mut evm = with_logs(&[&alice], EvmSide::start(&rpc, &alice_url));
	let relayer_dir = dir.path().join("relayer");
	with_logs(&[&alice], evm.start_relayer(&alice_url, &relayer_dir));
	let (follows, first_set) = evm.follows_set(&rpc).expect("the contract's set");
	assert!(follows, "deployed for the current set");

	// A fifth validator, with exactly the commands of the README's validator section: Eve
	// starts a node (serving unsafe RPC on localhost for `set-keys`), her node makes her
	// session keys and she registers them; Alice proposes her admission, Bob and Charlie
	// vote aye (three of the four: Dave's node is down, his vote is not needed), and the
	// motion is closed.
	let mut eve = with_logs(
		&[],
		start_validator("eve", 5, boot, dir.path(), vec!["--rpc-methods=unsafe".into()]),
	);
	let eve_url = format!("http://127.0.0.1:{}", eve.rpc_port);
	let eve_account: AccountId = Sr25519Keyring::Eve.to_account_id();
	let eve_ss58 = eve_account.to_ss58check();
	let registered =
		governance(&["set-keys", "--rpc-url", &eve_url, "--signer", "//Eve"], &[&alice, &eve]);
	let keys = sp_core::bytes::from_hex(registered["keys"].as_str().expect("keys")).unwrap();
	let eve_keys = w3b_runtime::SessionKeys::decode(&mut &keys[..]).expect("session keys");
	let proposed = governance(
		&["propose", "--add-validator", &eve_ss58, "--rpc-url", &alice_url, "--signer", "//Alice"],
		&[&alice],
	);
	assert_eq!(proposed["threshold"], 3, "two thirds of four");
	let motion = proposed["motion"].as_str().expect("the motion's hash").to_string();
	for voter in ["//Bob", "//Charlie"] {
		governance(&["vote", &motion, "--rpc-url", &alice_url, "--signer", voter], &[&alice]);
	}
	let closed =
		governance(&["close", &motion, "--rpc-url", &alice_url, "--signer", "//Alice"], &[&alice]);
	assert_eq!(closed["executed"], true, "{closed}");
	let added_at = Instant::now();
	let validators_key = pallet_validators::Validators::<Runtime>::hashed_key();
	with_logs(
		&[&alice],
		wait_for("Eve in pallet-validators' set", Duration::from_secs(60), || {
			let set: Option<Vec<AccountId>> = rpc.storage_decoded(&validators_key)?;
			Ok(set.filter(|s| s.contains(&eve_account)).map(|_| ()))
		}),
	);

	// After the session change Eve is an Aura and a GRANDPA authority, with the keys her
	// node made.
	let eve_aura = eve_keys.aura.clone();
	let eve_grandpa = eve_keys.grandpa.clone();
	with_logs(
		&[&alice, &eve],
		wait_for("Eve in the Aura and GRANDPA authority sets", SET_CHANGE_TIMEOUT, || {
			let aura: Vec<AuraId> = rpc.runtime_call("AuraApi_authorities", &[])?;
			let grandpa: AuthorityList = rpc.runtime_call("GrandpaApi_grandpa_authorities", &[])?;
			let in_grandpa = grandpa.iter().any(|(id, _)| id == &eve_grandpa);
			Ok((aura.contains(&eve_aura) && in_grandpa).then_some(()))
		}),
	);
	println!(
		"[e2e] eve in the Aura and GRANDPA sets {:?} after the council admitted her",
		added_at.elapsed()
	);
	let session_validators: Vec<AccountId> = rpc
		.storage_decoded(&pallet_session::Validators::<Runtime>::hashed_key())
		.expect("session validators")
		.expect("session validators are set");
	assert_eq!(session_validators.len(), 5, "the session set is the four plus Eve");

	// The old set (three of the four: Dave is down) signs the hand-over to the five, and
	// the relayer carries it to the contract.
	let relayed_at = Instant::now();
	let relayer_log =
		|| std::fs::read_to_string(relayer_dir.join("relayer.log")).unwrap_or_default();
	let handed_over = wait_for("the bridge contract at the five's set", SET_CHANGE_TIMEOUT, || {
		if !evm.relayer_running() {
			return Err("the relayer stopped".into());
		}
		let (follows, set) = evm.follows_set(&rpc)?;
		Ok((follows && set > first_set).then_some(set))
	});
	let handed_over = with_logs(
		&[&alice],
		handed_over.map_err(|e| format!("{e}\n----- relayer log -----\n{}", relayer_log()).into()),
	);
	let signers = rpc.call("w3b_bridgeSet", serde_json::json!([])).expect("w3b_bridgeSet")
		["signers"]
		.as_array()
		.map(Vec::len);
	assert_eq!(signers, Some(5), "the bridge set is the five validators' w3b_ keys");
	println!(
		"[e2e] the bridge contract handed over from set {first_set} to {handed_over} in {:?}",
		relayed_at.elapsed()
	);

	// Later outputs verify with the new set: a project run by the three validators up
	// raises an alert, sealed into a bridge batch of the five's set, and the relayer
	// delivers it to the project's receiver.
	let device = ed25519::Pair::generate().0;
	let spec = ProjectSpec {
		owner: Sr25519Keyring::Ferdie,
		name: "alerts".into(),
		code: applets::applet_code("alert"),
		routes: vec![],
		env: vec![("THRESHOLD".into(), "30".into())],
		operators: vec![Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie],
		devices: vec![device.clone()],
		attestation_deadline: 20,
		retain_secs: 0,
		min_operators: None,
	};
	let project = with_logs(&[&alice], setup_project(&rpc, &spec, Duration::from_secs(180)));
	with_logs(&[&alice], evm.receive_for(&rpc, &[(project, &spec)]));
	// The demo's readings spike to 35 °C every 100th.
	let (_, message) = reading(&device, project, 100);
	let message: serde_json::Value = serde_json::from_str(&message).expect("JSON");
	rpc.call("w3b_submitEvent", serde_json::json!([project, message])).expect("submitted");
	let delivered = wait_for("the alert delivered", Duration::from_secs(240), || {
		Ok((evm.delivered()? >= 1).then_some(()))
	});
	with_logs(
		&[&alice, &eve],
		delivered.map_err(|e| format!("{e}\n----- relayer log -----\n{}", relayer_log()).into()),
	);
	let batch = rpc
		.call("w3b_bridgeBatch", serde_json::json!([w3b_e2e_tests::evm::CHAIN_ID, 0]))
		.expect("w3b_bridgeBatch");
	assert_eq!(batch["setId"].as_u64(), Some(handed_over), "signed by the five: {batch}");
	assert_eq!(evm.delivered().expect("delivered"), 1, "delivered once");
	println!(
		"[e2e] an alert of the five's set delivered on chain {}",
		w3b_e2e_tests::evm::CHAIN_ID
	);

	// Dave is still down, so finality now needs four of five votes: Eve's included.
	let finalized = rpc.finalized_number().expect("finalized head");
	with_logs(&[&alice, &eve], alice.wait_finalized(finalized + 5, Duration::from_secs(120)));
	with_logs(&[&eve], eve.wait_finalized(finalized + 5, Duration::from_secs(30)));

	// And only with Eve: stopped too, three of five cannot finalize (blocks go on). The
	// rounds she voted in before she stopped may still complete: finality is read after
	// 3 more blocks, then must not move over 8 more.
	eve.kill();
	let blocks_past = |from: u32, count: u32| {
		with_logs(
			&[&alice],
			wait_for("blocks without Eve", Duration::from_secs(180), || {
				Ok((rpc.best_number()? >= from + count).then_some(()))
			}),
		)
	};
	blocks_past(rpc.best_number().expect("best"), 3);
	let stalled = rpc.finalized_number().expect("finalized head");
	blocks_past(rpc.best_number().expect("best"), 8);
	let after = rpc.finalized_number().expect("finalized head");
	assert_eq!(after, stalled, "finalized without Eve's vote");
	eve.restart().expect("Eve restarts");
	let best = rpc.best_number().expect("best");
	with_logs(&[&alice, &eve], alice.wait_finalized(best, Duration::from_secs(120)));
	println!(
		"[e2e] five validators (one down) finalized 5 more blocks, stalled at {stalled} without Eve and went on with her; total {:?}",
		started.elapsed()
	);
}
