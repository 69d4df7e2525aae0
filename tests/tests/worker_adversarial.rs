//! Operators verify, never trust: four validators, Dave byzantine, one attack per
//! project so that all of them run side by side on one network (and each project shows
//! the others were not held up):
//!
//! | project | Dave's attack | what must hold |
//! |---|---|---|
//! | 0 | commits batches of forged, tampered, zero-signed and duplicated messages | nothing forged counts; every message an honest node acknowledged counts once; Dave is named on chain, his seat slashed, and the project goes on without him |
//! | 1 | votes the honest state root with garbage outputs | every proof finalizes with the honest votes; after 8 rounds in a row voted against, Dave's seat is slashed and the project goes on without him |
//! | 2 | copies other operators' commitments from the pool, with a CID nobody serves or with the honest CID and a size its body contradicts | every copy expires; every honest commitment is final; every message counts once |
//! | 3 | commits batches and never serves their bodies | his batches expire; the honest ones after them go on |
//! | 4 | computes a wrong state the first time it runs each batch, and every time for batches 3, 11, 19... | he finds out and runs it again; where that does not help he takes the agreed changes from a peer (`/w3b/state/1`); he ends on the agreed state and votes again |
//! | 5 | runs each batch 3 blocks late, across an applet upgrade | he computes what the others did (context of the commitment) |
//! | 6 | none: a device sends each message to Alice and Bob, and copies are replayed to Charlie | each message counts once |
//! | 7 | in a subnet of two (Alice and Dave), never votes for batches 1, 17, 33... | those expire after later batches ran on them; nothing finalizes on an expired batch's state (finalized proofs chain state to state); every message counts once |

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

use std::{
	collections::HashSet,
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use codec::Encode;
use serde_json::{json, Value};
use sp_core::{ed25519, Pair, H256};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Ferdie};
use w3b_e2e_tests::{
	demo::{reading, setup_project, Counters, ProjectSpec, Publisher, Transport},
	metric,
	network::Validators,
	wait_for, wait_rpc, Rpc,
};
use w3b_primitives::{project::code_hash, validity::Invalid, ProjectId};
use w3b_runtime::AccountId;

const TIMEOUT: Duration = Duration::from_secs(240);
const PROJECTS: u64 = 8;
/// Messages per second each publisher sends.
const RATE: f64 = 4.0;

fn devices(n: usize) -> Vec<ed25519::Pair> {
	(0..n).map(|_| ed25519::Pair::generate().0).collect()
}

fn acked(counters: &Counters) -> u64 {
	counters.acked.load(Ordering::Relaxed)
}

/// Messages of `project` counted in finalized batches, as node `port` saw them.
fn counted(port: u16, project: ProjectId, verdict: &str) -> u64 {
	let project = format!("project=\"{project}\"");
	let verdict = format!("verdict=\"{verdict}\"");
	metric(port, "w3b_batch_messages_total", &[&project, &verdict]) as u64
}

/// The accepted report against batch `seq` of `project`, if any.
fn report(rpc: &Rpc, project: ProjectId, seq: u64) -> Option<(AccountId, H256, Invalid)> {
	rpc.runtime_call("W3bstreamApi_invalid_batch_report", &(project, seq).encode())
		.expect("runtime call")
}

/// Waits until every batch of every project has a settled proof in a GRANDPA-final
/// block and a few blocks more for late votes; returns the statuses per project.
fn wait_settled(rpc: &Rpc, net: &Validators) -> Vec<Vec<Value>> {
	let deadline = Instant::now() + TIMEOUT;
	loop {
		assert!(Instant::now() < deadline, "proofs did not settle\n{}", net.logs(60));
		let head: H256 =
			serde_json::from_value(rpc.call("chain_getFinalizedHead", json!([])).unwrap()).unwrap();
		let proofs: Vec<Vec<Value>> = (0..PROJECTS)
			.map(|p| {
				let next = rpc.call("w3b_getNextBatchSeq", json!([p, head])).unwrap();
				(0..next.as_u64().unwrap())
					.map(|seq| rpc.call("w3b_getProof", json!([p, seq, head])).unwrap())
					.collect()
			})
			.collect();
		let pending = proofs.iter().flatten().filter(|p| p["status"] == "Pending").count();
		if pending == 0 {
			return proofs;
		}
		std::thread::sleep(Duration::from_secs(2));
	}
}

#[test]
fn no_minority_operator_can_bend_a_proof() {
	let dir = w3b_e2e_tests::test_dir();
	let attacks = [
		"forge=0",
		"poison-outputs=1",
		"hijack=2",
		"withhold=3",
		"diverge=4",
		"lag=5",
		"abstain=7",
	];
	let net = Validators::start(dir.path(), |i| {
		if i == 3 {
			attacks.iter().map(|a| format!("--w3b-byzantine={a}")).collect()
		} else {
			vec![]
		}
	})
	.expect("validators start");
	let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}\n{}", net.logs(60)) };
	let [alice, bob, charlie, _] = [0, 1, 2, 3].map(|i| net.nodes[i].rpc());
	let ports: Vec<u16> = net.nodes.iter().map(|n| n.prometheus_port).collect();

	let names =
		["forge", "poison", "hijack", "withhold", "diverge", "upgrade", "replay", "abstain"];
	let mut project_devices = Vec::new();
	for (expected, name) in names.iter().enumerate() {
		let spec = ProjectSpec {
			owner: Ferdie,
			name: (*name).into(),
			code: applets::applet_code(if *name == "poison" { "alert" } else { "counter" }),
			routes: vec![],
			env: vec![("THRESHOLD".into(), "25".into())],
			operators: if *name == "abstain" {
				vec![Alice, Dave]
			} else {
				vec![Alice, Bob, Charlie, Dave]
			},
			devices: devices(3),
			// Short for project 7: its abstained batches expire soon.
			attestation_deadline: if *name == "abstain" { 6 } else { 20 },
			retain_secs: 0,
			// Projects 0 and 1 go on without Dave once his seat is slashed.
			min_operators: matches!(*name, "forge" | "poison").then_some(3),
		};
		let project = setup_project(&alice, &spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
		assert_eq!(project, expected as u64, "projects are numbered in creation order");
		project_devices.push(spec.devices);
	}
	let http = |i: usize| Transport::Http(net.http[i]);
	let start = |p: usize, transports: &[Transport]| {
		Publisher::start(p as u64, project_devices[p].clone(), transports, RATE)
	};
	// Project 0: one device publishes to Dave (what he forges from), the others to Alice.
	let forge_dave = Publisher::start(0, vec![project_devices[0][0]], &[http(3)], RATE);
	let forge = Publisher::start(0, project_devices[0][1..].to_vec(), &[http(0)], RATE);
	let poison = start(1, &[Transport::Mqtt(net.mqtt[0])]);
	let hijack = start(2, &[http(1), http(2)]);
	let withhold_dave = Publisher::start(3, vec![project_devices[3][0]], &[http(3)], RATE);
	let withhold_alice = Publisher::start(3, project_devices[3][1..].to_vec(), &[http(0)], RATE);
	let diverge = start(4, &[http(0)]);
	let upgrade = start(5, &[http(1)]);
	let abstain = start(7, &[http(0)]);

	// Project 6: a device sends each reading to Alice and to Bob.
	let replay_device = &project_devices[6][0];
	let mut replay_sent = HashSet::new();
	let send = |port: u16, json: &str| {
		ureq::post(&format!("http://127.0.0.1:{port}/v1/projects/6/events"))
			.set("Content-Type", "application/json")
			.send_string(json)
			.map_err(|e| e.to_string())
	};
	for seq in 1..=20 {
		let (hash, json) = reading(replay_device, 6, seq);
		send(net.http[0], &json).unwrap_or_else(|e| fail(&e));
		send(net.http[1], &json).unwrap_or_else(|e| fail(&e));
		replay_sent.insert(hash);
		std::thread::sleep(Duration::from_millis(100));
	}

	// Project 5: the owner moves the applet to other code mid-stream.
	std::thread::sleep(Duration::from_secs(8));
	let new_code = applets::applet_code("alert");
	alice
		.submit(Ferdie, pallet_projects::Call::upload_code { code: new_code.clone() }.into())
		.unwrap_or_else(|e| fail(&e));
	let new_hash = code_hash(&new_code);
	wait_rpc(&alice, "w3b_getCodeInfo", json!([new_hash]), TIMEOUT, |v| !v.is_null());
	let strategies = vec![w3b_primitives::project::Strategy {
		event_type: b"DEFAULT".to_vec().try_into().unwrap(),
		handler: b"start".to_vec().try_into().unwrap(),
	}];
	alice
		.submit(
			Ferdie,
			pallet_projects::Call::upgrade_applet {
				project: 5,
				applet: 0,
				code_hash: new_hash,
				strategies: strategies.try_into().unwrap(),
			}
			.into(),
		)
		.unwrap_or_else(|e| fail(&e));
	wait_rpc(&alice, "w3b_getApplets", json!([5]), TIMEOUT, |v| v[0]["version"] == 2);

	// Project 6: copies of what Alice committed, replayed to Charlie.
	let mut replayed = 0;
	let committed = alice.call("w3b_getNextBatchSeq", json!([6])).unwrap().as_u64().unwrap();
	for seq in 0..committed {
		let batch = alice.call("w3b_getBatch", json!([6, seq])).unwrap();
		// Alice's own batches: she has their bodies (she sealed them).
		let committer: AccountId = serde_json::from_value(batch["committer"].clone()).unwrap();
		if committer != Alice.to_account_id() {
			continue;
		}
		let messages = batch["messages"].as_array();
		for message in messages.unwrap_or_else(|| panic!("batch {seq} has no body on Alice")) {
			let mut copy = message.clone();
			copy.as_object_mut().unwrap().remove("hash");
			if charlie.call("w3b_submitEvent", json!([6, copy])).is_ok() {
				replayed += 1;
			}
		}
	}
	assert!(replayed > 0, "Charlie took copies");

	std::thread::sleep(Duration::from_secs(12));
	let forge = forge.stop();
	let forge_dave = forge_dave.stop();
	let poison = poison.stop();
	let hijack = hijack.stop();
	let withhold_dave = withhold_dave.stop();
	let withhold_alice = withhold_alice.stop();
	let diverge = diverge.stop();
	let upgrade = upgrade.stop();
	let abstain = abstain.stop();
	for counters in [&forge, &poison, &hijack, &withhold_alice, &diverge, &upgrade, &abstain] {
		assert!(acked(counters) > 20, "publishers ran");
		assert_eq!(acked(counters), counters.sent.load(Ordering::Relaxed), "all acknowledged");
	}

	let proofs = wait_settled(&bob, &net);
	std::thread::sleep(Duration::from_secs(9)); // the last late votes are final
	let proofs_now = |p: u64| -> Vec<Value> {
		(0..proofs[p as usize].len() as u64)
			.map(|seq| alice.call("w3b_getProof", json!([p, seq])).unwrap())
			.collect()
	};
	for (p, name) in names.iter().enumerate() {
		let status = |s: &str| proofs[p].iter().filter(|x| x["status"] == s).count();
		println!(
			"[worker_adversarial] project {p} ({name}): {} batches, {} finalized, {} expired; {} messages counted, refused: {}",
			proofs[p].len(),
			status("Finalized"),
			status("Expired"),
			counted(ports[0], p as u64, "counted"),
			["unknown_device", "bad_signature", "duplicate", "replayed"]
				.map(|r| format!("{r} {}", counted(ports[0], p as u64, r)))
				.join(", "),
		);
	}
	let honest = &ports[..3];
	let counted_everywhere = |p: u64| -> u64 {
		let on: Vec<u64> = honest.iter().map(|port| counted(*port, p, "counted")).collect();
		assert!(on.windows(2).all(|w| w[0] == w[1]), "project {p}: honest nodes disagree: {on:?}");
		on[0]
	};

	// 0: forgeries never count, every message an honest node acknowledged counts once,
	// Dave is named and loses his seat. (What Dave acknowledged counts while he was a
	// member and committed it: not what he acknowledged after.)
	let counted_0 = counted_everywhere(0);
	assert!(
		counted_0 >= acked(&forge) && counted_0 <= acked(&forge) + acked(&forge_dave),
		"project 0: {counted_0} counted, Alice acknowledged {}, Dave {}",
		acked(&forge),
		acked(&forge_dave)
	);
	for reason in ["unknown_device", "bad_signature", "duplicate"] {
		assert!(counted(ports[0], 0, reason) > 0, "project 0: no {reason} message refused");
	}
	let mut reported = 0;
	for seq in 0..proofs[0].len() as u64 {
		let batch = alice.call("w3b_getBatch", json!([0, seq])).unwrap();
		let committer: AccountId = serde_json::from_value(batch["committer"].clone()).unwrap();
		if let Some((_, _, reason)) = report(&alice, 0, seq) {
			assert_eq!(committer, Dave.to_account_id(), "batch {seq}: an honest batch reported");
			assert!(reason.is_committer_fault());
			reported += 1;
		}
	}
	assert!(reported > 0, "project 0: no forged batch was reported");
	// The first accepted report slashed Dave's seat: he is out of the subnet, and the
	// project went on with the honest three (every batch after his last one is final).
	let dave = alice.call("w3b_getOperator", json!([Dave.to_account_id()])).unwrap();
	let subnets: Vec<u64> = serde_json::from_value(dave["subnets"].clone()).unwrap();
	assert!(!subnets.contains(&0), "project 0: Dave kept his seat: {dave}");
	let members = alice.call("w3b_getSubnet", json!([0])).unwrap();
	assert_eq!(members.as_array().map(Vec::len), Some(3), "project 0 subnet: {members}");
	let last_of_dave = (0..proofs[0].len() as u64)
		.filter(|seq| {
			let batch = alice.call("w3b_getBatch", json!([0, seq])).unwrap();
			batch["committer"] == json!(Dave.to_account_id())
		})
		.max()
		.expect("Dave committed");
	for (seq, proof) in proofs[0].iter().enumerate().skip(last_of_dave as usize + 1) {
		assert_eq!(proof["status"], "Finalized", "project 0 batch {seq} after Dave's removal");
	}
	for p in 1..PROJECTS {
		for seq in 0..proofs[p as usize].len() as u64 {
			assert!(report(&alice, p, seq).is_none(), "project {p} batch {seq} reported");
		}
	}

	// 1: garbage outputs on the honest root only make Dave a dissenter, until voting
	// against 8 finalized rounds in a row costs him his seat there.
	let subnet = alice.call("w3b_getSubnet", json!([1])).unwrap();
	let subnet: Vec<AccountId> = serde_json::from_value(subnet).unwrap();
	assert!(!subnet.contains(&Dave.to_account_id()), "project 1: Dave kept his seat");
	for proof in proofs_now(1) {
		// Three honest votes in a subnet of four, or at least two of three without Dave.
		let agreed = proof["agreed"].as_u64().unwrap_or_default();
		if proof["status"] != "Finalized" || agreed < 2 {
			// What each node did about the project's votes and bodies.
			let trail = net.log_lines(&["project 1:", "operator transaction", "operator nonce"]);
			panic!("project 1: {proof}\n{trail}");
		}
	}
	assert_eq!(counted_everywhere(1), acked(&poison));

	// 2: copied commitments (with a CID nobody serves, or with the honest CID and a size
	// its body contradicts) expire, and do not stop the honest ones: every honest batch
	// is final (an expired one's messages committed again would hide that in the count).
	assert_eq!(counted_everywhere(2), acked(&hijack), "project 2: each message counts once");
	let (mut copies, mut contradicted) = (0, 0);
	for (seq, proof) in proofs[2].iter().enumerate() {
		let batch = alice.call("w3b_getBatch", json!([2, seq])).unwrap();
		let committer: AccountId = serde_json::from_value(batch["committer"].clone()).unwrap();
		if committer == Dave.to_account_id() {
			assert_eq!(proof["status"], "Expired", "project 2: Dave's copy {seq} did not expire");
			copies += 1;
			// A copy with the honest CID: the body Alice holds under it says why it is not
			// the copy's.
			if batch["unservable"].is_string() {
				contradicted += 1;
			}
		} else if proof["status"] != "Finalized" {
			let trail = net.log_lines(&["project 2:", "operator transaction", "operator nonce"]);
			panic!("project 2: honest batch {seq} not final: {proof}\n{trail}");
		}
	}
	assert!(copies > 0, "project 2: Dave hijacked nothing");
	assert!(contradicted > 0, "project 2: no copy with the honest CID and a wrong size");
	let judged = net.nodes[0].log_lines(&["can never be served"]);
	assert!(!judged.is_empty(), "project 2: Alice's worker never judged a copy unservable");

	// 3: withheld bodies expire; the honest batches go on; Dave's messages are lost with
	// him (he acknowledged them and never let anyone see them).
	assert!(acked(&withhold_dave) > 0);
	assert!(proofs[3].iter().any(|p| p["status"] == "Expired"), "project 3: nothing withheld");
	assert_eq!(counted_everywhere(3), acked(&withhold_alice), "project 3");

	// 4: Dave computed wrong states, found out, and ended on the agreed one: by running
	// batches again, and where he could not compute one, with its agreed changes from a
	// peer (he counts a message only once its batch is final with his state).
	assert!(metric(ports[3], "w3b_state_divergences_total", &[]) > 0.0, "Dave never diverged");
	assert!(metric(ports[3], "w3b_state_syncs_total", &[]) > 0.0, "Dave never took changes");
	assert_eq!(counted_everywhere(4), acked(&diverge));
	assert_eq!(counted(ports[3], 4, "counted"), acked(&diverge), "Dave caught up with project 4");
	// Wrong now and then, right more often: his dissents never reached the limit.
	let subnet = alice.call("w3b_getSubnet", json!([4])).unwrap();
	let subnet: Vec<AccountId> = serde_json::from_value(subnet).unwrap();
	assert!(subnet.contains(&Dave.to_account_id()), "project 4: Dave lost his seat");

	// 5: executing late, across the upgrade, Dave agreed on every batch.
	for proof in proofs_now(5) {
		assert_eq!(proof["status"], "Finalized", "project 5: {proof}");
		assert_eq!(proof["agreed"], 4, "project 5: Dave disagreed: {proof}");
	}
	assert_eq!(counted_everywhere(5), acked(&upgrade));

	// 6: a message sent to two nodes and replayed to a third counts once.
	assert_eq!(counted_everywhere(6), replay_sent.len() as u64, "project 6");
	assert!(counted(ports[0], 6, "replayed") > 0);

	// 7: batches Dave never voted for expired after the next ones ran on top of them.
	// Nothing finalized on their state: each finalized proof ran on the state the one
	// before it agreed on, and Alice's state never had to be thrown away. Alice committed
	// the expired messages again: each counts once, on both nodes.
	wait_for("project 7 to count every message", TIMEOUT, || {
		let both = [0, 3].map(|i| counted(ports[i], 7, "counted"));
		Ok((both == [acked(&abstain); 2]).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	let next_batch = alice.call("w3b_getNextBatchSeq", json!([7])).unwrap().as_u64().unwrap();
	let abstained: Vec<Value> =
		(0..next_batch).map(|seq| alice.call("w3b_getProof", json!([7, seq])).unwrap()).collect();
	assert!(abstained.iter().any(|p| p["status"] == "Expired"), "project 7: nothing expired");
	// The worker's resubmission path (a commitment not in the chain 10 blocks after it
	// was sent, here because it expired) ran.
	let resubmitted =
		net.nodes[0].log_tail(1_000_000).matches("project 7: committing local batch").count();
	assert!(resubmitted > 0, "Alice never committed an expired batch of project 7 again");
	let mut agreed_state = json!(H256::zero());
	for proof in abstained.iter().filter(|p| p["status"] == "Finalized") {
		assert_eq!(proof["previousStateRoot"], agreed_state, "project 7: {proof}");
		agreed_state = proof["stateRoot"].clone();
	}
	for alice_metric in ["w3b_state_divergences_total", "w3b_state_syncs_total"] {
		assert_eq!(metric(ports[0], alice_metric, &[]), 0.0, "Alice: {alice_metric}");
	}

	println!("[worker_adversarial] {reported} batches of project 0 reported, all Dave's");

	// Nothing held up the projects whose bodies were all served.
	for p in [0, 1, 4, 5, 6] {
		let expired = proofs[p].iter().filter(|x| x["status"] == "Expired").count();
		assert_eq!(expired, 0, "project {p}: {expired} proofs expired");
	}
}
