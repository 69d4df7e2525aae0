//! A forkless runtime upgrade of a running four-validator network, through governance,
//! while devices publish.
//!
//! The council (three of the four validators) passes one motion,
//! `governance.dispatchAsRoot(system.authorizeUpgrade(hash))`; Ferdie, no validator,
//! submits the code with `system.applyAuthorizedUpgrade`. The new runtime is this one as
//! its next spec version (the `upgrade-fixture` feature; `scripts/test.sh` builds it).
//! What must hold: every node runs the new version, blocks and finality go on, the
//! workers commit, execute and attest across the upgrade (the transactions they signed
//! for the old version are signed again), and every message a node acknowledged is
//! counted once, on every node, in a finalized proof.
//!
//! Then a node that joins late: Eve starts a fifth node after the upgrade, syncs the
//! chain from genesis (executing the blocks of both runtimes), registers as an operator
//! and joins the project's subnet; her worker runs the project's whole history (bodies
//! from her peers, state rebuilt batch by batch) and counts every message the others
//! counted.

use std::{
	path::PathBuf,
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use serde_json::{json, Value};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie};
use w3b_e2e_tests::{
	demo::{setup_project, ProjectSpec, Publisher, Transport},
	dev_node_key, metric,
	network::{Validators, START_TIMEOUT},
	wait_for, Node, NodeConfig, Rpc,
};
use w3b_runtime::RuntimeCall;

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

const TIMEOUT: Duration = Duration::from_secs(240);
/// Messages per second the devices send, in all.
const RATE: f64 = 8.0;
/// The fixture's spec version: one above the running runtime's.
const NEXT_SPEC_VERSION: u64 = 102;

/// The upgrade fixture's WASM, built next to the node's runtime, compressed as the
/// chain accepts code (zstd: about a quarter of the 3.7 MB a debug build leaves, which
/// would barely fit in a block's normal share).
fn upgrade_fixture() -> Vec<u8> {
	let path: PathBuf = w3b_e2e_tests::node_binary()
		.parent()
		.expect("the node binary is in a directory")
		.join("wbuild/w3b-runtime/w3b_runtime_upgrade_fixture.wasm");
	let code = std::fs::read(&path).unwrap_or_else(|e| {
		panic!(
			"{}: {e}; build it first: `cargo build -p w3b-runtime --features upgrade-fixture` \
			 (scripts/test.sh does)",
			path.display()
		)
	});
	sp_maybe_compressed_blob::compress_strongly(
		&code,
		sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
	)
	.expect("the runtime compresses within the bomb limit")
}

/// The spec version a node runs. An error (a node may answer slowly while it compiles
/// a new runtime) is for the caller's `wait_for` to retry.
fn spec_version(rpc: &Rpc) -> w3b_e2e_tests::Result<u64> {
	let version = rpc.call("state_getRuntimeVersion", json!([]))?;
	Ok(version["specVersion"].as_u64().ok_or("specVersion is not a number")?)
}

fn counted(port: u16, project: u64) -> u64 {
	let project = format!("project=\"{project}\"");
	metric(port, "w3b_batch_messages_total", &[&project, "verdict=\"counted\""]) as u64
}

#[test]
fn governance_upgrades_the_runtime_of_a_working_network() {
	let code = upgrade_fixture();
	let dir = w3b_e2e_tests::test_dir();
	let net = Validators::start(dir.path(), |_| vec![]).expect("validators start");
	let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}\n{}", net.logs(80)) };
	let alice = net.nodes[0].rpc();
	let old_version = spec_version(&alice).expect("runtime version");
	assert_eq!(old_version + 1, NEXT_SPEC_VERSION, "the fixture is the next version");

	let spec = ProjectSpec {
		owner: Ferdie,
		name: "upgrade".into(),
		code: applets::applet_code("counter"),
		routes: vec![],
		env: vec![],
		operators: vec![Alice, Bob, Charlie, Dave],
		devices: (0..4).map(|_| ed25519::Pair::generate().0).collect(),
		attestation_deadline: 20,
		retain_secs: 0,
		min_operators: None,
	};
	let project = setup_project(&alice, &spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
	let publisher = Publisher::start(
		project,
		spec.devices.clone(),
		&[Transport::Http(net.http[0]), Transport::Mqtt(net.mqtt[1])],
		RATE,
	);
	let finalized_proofs = |rpc: &Rpc| -> u64 {
		let next = rpc.call("w3b_getNextBatchSeq", json!([project])).unwrap().as_u64().unwrap();
		(0..next)
			.filter(|seq| {
				rpc.call("w3b_getProof", json!([project, seq])).unwrap()["status"] == "Finalized"
			})
			.count() as u64
	};
	wait_for("proofs finalized before the upgrade", TIMEOUT, || {
		Ok((finalized_proofs(&alice) >= 3).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	let proofs_before = finalized_proofs(&alice);

	// One motion authorizes the code by its hash; anyone submits the code.
	let code_hash = <sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(&code);
	let authorize = RuntimeCall::System(frame_system::Call::authorize_upgrade { code_hash });
	let motion = pallet_governance::Call::dispatch_as_root { call: Box::new(authorize) };
	let started = Instant::now();
	alice.pass_motion(motion.into(), TIMEOUT).unwrap_or_else(|e| fail(&e));
	println!("[upgrade] the council authorized {code_hash:?} in {:?}", started.elapsed());
	alice
		.submit(Ferdie, RuntimeCall::System(frame_system::Call::apply_authorized_upgrade { code }))
		.unwrap_or_else(|e| fail(&e));
	for node in &net.nodes {
		let rpc = node.rpc();
		wait_for(&format!("{} on the new runtime", node.identity), TIMEOUT, || {
			Ok((spec_version(&rpc)? == NEXT_SPEC_VERSION).then_some(()))
		})
		.unwrap_or_else(|e| fail(&e));
	}
	let upgraded_at = alice.best_number().unwrap();
	println!(
		"[upgrade] spec {NEXT_SPEC_VERSION} on all four nodes {:?} after the motion",
		started.elapsed()
	);

	// The new runtime ran its upgrade hooks: the chain records the upgrade. The block that
	// sets the code already reports the new version; the hooks run in the block after it.
	let last_upgrade_key = frame_system::LastRuntimeUpgrade::<w3b_runtime::Runtime>::hashed_key();
	wait_for("the upgrade hooks of the new runtime", TIMEOUT, || {
		let recorded: Option<(codec::Compact<u32>, String)> =
			alice.storage_decoded(&last_upgrade_key)?;
		Ok(recorded.filter(|(spec, _)| u64::from(spec.0) == NEXT_SPEC_VERSION).map(|_| ()))
	})
	.unwrap_or_else(|e| fail(&e));

	// Blocks and finality go on; the workers keep committing and attesting.
	let finalized = alice.finalized_number().unwrap();
	net.nodes[0]
		.wait_finalized(upgraded_at + 10, TIMEOUT)
		.unwrap_or_else(|e| fail(&format!("finality stalled at #{finalized}: {e}")));
	wait_for("proofs finalized on the new runtime", TIMEOUT, || {
		Ok((finalized_proofs(&alice) >= proofs_before + 5).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));

	// Eve joins late: a fifth node syncs from genesis across the upgrade.
	let mut eve = Node::start(
		NodeConfig {
			identity: "eve",
			chain: "local".into(),
			node_key: dev_node_key(5),
			bootnodes: vec![net.nodes[0].multiaddr()],
			extra_args: vec![],
		},
		dir.path(),
	)
	.unwrap_or_else(|e| fail(&e));
	eve.wait_rpc_ready(START_TIMEOUT).unwrap_or_else(|e| fail(&e));
	let joined_at = Instant::now();
	let target = alice.finalized_number().unwrap();
	eve.wait_finalized(target, TIMEOUT).unwrap_or_else(|e| fail(&e));
	let eve_rpc = eve.rpc();
	wait_for("Eve on the new runtime", TIMEOUT, || {
		Ok((spec_version(&eve_rpc)? == NEXT_SPEC_VERSION).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	println!(
		"[upgrade] Eve synced {target} blocks across the upgrade in {:?}",
		joined_at.elapsed()
	);
	alice
		.submit(
			Eve,
			pallet_operators::Call::register_operator {
				bond: 100 * w3b_runtime::UNIT,
				endpoints: Default::default(),
				did: None,
			}
			.into(),
		)
		.unwrap_or_else(|e| fail(&e));
	w3b_e2e_tests::wait_rpc(
		&alice,
		"w3b_getOperator",
		json!([Eve.to_account_id()]),
		TIMEOUT,
		|v| !v.is_null(),
	);
	alice
		.submit(Eve, pallet_operators::Call::join_subnet { project }.into())
		.unwrap_or_else(|e| fail(&e));
	w3b_e2e_tests::wait_rpc(&alice, "w3b_getSubnet", json!([project]), TIMEOUT, |v| {
		v.as_array().is_some_and(|members| members.len() == 5)
	});
	std::thread::sleep(Duration::from_secs(10));
	let counters = publisher.stop();
	let acked = counters.acked.load(Ordering::Relaxed);
	assert!(acked > 0, "no message was acknowledged");

	// Every acknowledged message counts once, on every node (Eve's too), and no proof
	// expired.
	let ports: Vec<u16> = net.nodes.iter().chain([&eve]).map(|n| n.prometheus_port).collect();
	wait_for("every acknowledged message counted on every node", TIMEOUT, || {
		let on: Vec<u64> = ports.iter().map(|port| counted(*port, project)).collect();
		Ok(on.iter().all(|c| *c == acked).then_some(()))
	})
	.unwrap_or_else(|e| {
		let on: Vec<u64> = ports.iter().map(|port| counted(*port, project)).collect();
		panic!("{e}: {acked} acknowledged, counted {on:?}\n{}\n{}", net.logs(60), eve.log_tail(120))
	});
	let next = alice.call("w3b_getNextBatchSeq", json!([project])).unwrap().as_u64().unwrap();
	let proofs: Vec<Value> =
		(0..next).map(|seq| alice.call("w3b_getProof", json!([project, seq])).unwrap()).collect();
	let expired = proofs.iter().filter(|p| p["status"] == "Expired").count();
	if expired > 0 {
		panic!(
			"{expired} proofs expired across the upgrade: {proofs:?}\n{}\n{}",
			net.logs(400),
			eve.log_tail(120)
		);
	}
	println!(
		"[upgrade] {acked} messages acknowledged, each counted once on all five nodes (Eve's from her late start); {} \
		 proofs finalized ({proofs_before} before the upgrade), none expired",
		finalized_proofs(&alice)
	);
}
