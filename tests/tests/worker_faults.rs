//! Faults on four validators with workers: one validator killed mid-stream (finality and
//! proofs go on with three; after its restart it catches up and attests again), and the
//! node that acknowledged messages killed before it could commit them (they are
//! committed after its restart, exactly once), and a restarted worker that finds its
//! vote already in an open round (it does not vote twice).

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

use std::{
	collections::HashSet,
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use serde_json::json;
use sp_core::{ed25519, Pair, H256};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Ferdie};
use w3b_e2e_tests::{
	demo::{reading, setup_project, Counters, Monitor, ProjectSpec, Publisher, Transport},
	network::{Validators, START_TIMEOUT},
	wait_for, Rpc,
};

const TIMEOUT: Duration = Duration::from_secs(180);

/// Polls `monitor` until `target` messages are in final proofs.
fn wait_final(monitor: &mut Monitor, counters: &Counters, target: u64, net: &Validators) {
	let deadline = Instant::now() + TIMEOUT;
	while monitor.progress.messages_final < target {
		assert!(
			Instant::now() < deadline,
			"timed out: {}\n{}",
			monitor.line(Duration::ZERO, counters),
			net.logs(40)
		);
		std::thread::sleep(Duration::from_millis(500));
		monitor.poll(counters).unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	}
}

/// Has Alice's account sign a remark with the nonce of an attestation her worker holds
/// in the pool, until the remark is the one that lands: the nonce, the attestation it
/// displaced and the first block it may be in.
fn displace_a_pending_attestation(
	alice: &Rpc,
	net: &Validators,
) -> (u32, w3b_runtime::RuntimeCall, u32) {
	let deadline = Instant::now() + TIMEOUT;
	let remark = w3b_runtime::RuntimeCall::System(frame_system::Call::remark {
		remark: b"the operator's own transaction".to_vec(),
	});
	loop {
		assert!(Instant::now() < deadline, "no attestation displaced\n{}", net.logs(40));
		let from = alice.best_number().unwrap();
		let pending = alice.pending_transactions().unwrap().into_iter().find(|(who, _, call)| {
			*who == Alice.to_account_id()
				&& matches!(
					call,
					w3b_runtime::RuntimeCall::Attestations(
						pallet_attestations::Call::attest { .. }
					)
				)
		});
		let Some((_, nonce, attestation)) = pending else {
			std::thread::sleep(Duration::from_millis(100));
			continue;
		};
		// Refused when the attestation landed meanwhile (the nonce is outdated).
		if alice.submit_with_nonce(Alice, remark.clone(), nonce).is_err() {
			continue;
		}
		let landed = wait_for("the nonce used in a final block", TIMEOUT, || {
			let finalized = alice.finalized_number()?;
			for number in from..=finalized {
				let used =
					alice.block_transactions(number)?.into_iter().find_map(|(who, n, call)| {
						(who == Alice.to_account_id() && n == nonce).then_some(call)
					});
				if used.is_some() {
					return Ok(used);
				}
			}
			Ok(None)
		})
		.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
		if landed == remark {
			return (nonce, attestation, from);
		}
	}
}

fn next_batch(rpc: &Rpc, project: u64) -> u64 {
	rpc.call("w3b_getNextBatchSeq", json!([project])).unwrap().as_u64().unwrap()
}

#[test]
fn workers_survive_a_killed_validator_and_a_killed_committer() {
	let dir = w3b_e2e_tests::test_dir();
	// Batches sealed once a block rather than four times: a restarted node replays what
	// it missed while the others go on, and on a debug build on two cores it catches up
	// only if the chain is not flooded with tiny batches.
	let mut net = Validators::start(dir.path(), |_| vec!["--w3b-seal-interval-ms=3000".into()])
		.expect("validators start");
	let alice = net.nodes[0].rpc();
	let devices: Vec<ed25519::Pair> = (0..4).map(|_| ed25519::Pair::generate().0).collect();
	let committer_device = ed25519::Pair::generate().0;
	let mut registered = devices.clone();
	registered.push(committer_device);
	let spec = ProjectSpec {
		owner: sp_keyring::Sr25519Keyring::Eve,
		name: "faults".into(),
		code: applets::applet_code("counter"),
		routes: vec![],
		env: vec![],
		operators: vec![Alice, Bob, Charlie, Dave],
		devices: registered,
		attestation_deadline: 20,
		retain_secs: 0,
		min_operators: None,
	};
	let project = setup_project(&alice, &spec, TIMEOUT).unwrap_or_else(|e| panic!("{e}"));

	// A project whose rounds stay open: its subnet is Bob and Ferdie, and no node runs
	// Ferdie's worker, so Bob's vote waits for a quorum (2 of 2) that never comes.
	let stalled_device = ed25519::Pair::generate().0;
	let stalled_spec = ProjectSpec {
		owner: sp_keyring::Sr25519Keyring::Eve,
		name: "stalled".into(),
		code: applets::applet_code("counter"),
		routes: vec![],
		env: vec![],
		operators: vec![Bob, Ferdie],
		devices: vec![stalled_device],
		attestation_deadline: 600,
		retain_secs: 0,
		min_operators: None,
	};
	let stalled = setup_project(&alice, &stalled_spec, TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
	let bob_url = format!("http://127.0.0.1:{}/v1/projects/{stalled}/events", net.http[1]);
	for seq in 1..=3 {
		ureq::post(&bob_url)
			.send_string(&reading(&stalled_device, stalled, seq).1)
			.expect("stored");
	}
	let open_round =
		pallet_attestations::Rounds::<w3b_runtime::Runtime>::hashed_key_for(stalled, 0);
	let votes = || -> Vec<w3b_runtime::AccountId> {
		let round: Option<pallet_attestations::Round<w3b_runtime::AccountId>> =
			alice.storage_decoded(&open_round).unwrap();
		round.map(|r| r.votes.into_iter().map(|(voter, _)| voter).collect()).unwrap_or_default()
	};
	wait_for("Bob to vote in the stalled project's round", TIMEOUT, || {
		Ok((votes() == [Bob.to_account_id()]).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));

	// Charlie is killed while devices publish to Alice (MQTT) and Bob (HTTP).
	let publisher = Publisher::start(
		project,
		devices,
		&[Transport::Mqtt(net.mqtt[0]), Transport::Http(net.http[1])],
		30.0,
	);
	let counters = publisher.counters.clone();
	let mut monitor = Monitor::new(alice.clone(), project);
	wait_for("a first proof finalized", TIMEOUT, || {
		monitor.poll(&counters)?;
		Ok((monitor.progress.finalized > 0).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	let started = Instant::now();
	let phase = |what: &str| {
		println!("[worker_faults] {:>4}s {what}", started.elapsed().as_secs());
	};
	// The operator's own account signs a transaction of its own (its owner votes in the
	// council with the operator key, say) with the nonce of an attestation Alice's worker
	// has in the pool. Lighter, it replaces the attestation in the pools and lands
	// instead; the chain's nonce moves on as if the vote had. The worker finds its call
	// missing from the final blocks and signs the vote again.
	let (nonce, displaced, from) = displace_a_pending_attestation(&alice, &net);
	phase(&format!("Alice's remark took the nonce {nonce} of her worker's attestation"));
	wait_for("the displaced attestation signed again and final", TIMEOUT, || {
		let finalized = alice.finalized_number()?;
		for number in from..=finalized {
			let again = alice.block_transactions(number)?.into_iter().any(|(who, n, call)| {
				who == Alice.to_account_id() && n > nonce && call == displaced
			});
			if again {
				return Ok(Some(()));
			}
		}
		Ok(None)
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	phase("the attestation was signed again and is final");

	phase("a first proof is final: Charlie killed");
	net.nodes[2].kill();
	let finalized_at_kill = alice.finalized_number().unwrap();
	let batches_at_kill = next_batch(&alice, project);
	// Three of four keep finalizing blocks, committing batches and finalizing proofs.
	wait_for("blocks, batches and proofs final without Charlie", TIMEOUT, || {
		monitor.poll(&counters)?;
		Ok((alice.finalized_number()? > finalized_at_kill + 2
			&& next_batch(&alice, project) > batches_at_kill + 2
			&& monitor.progress.finalized > batches_at_kill + 1)
			.then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));

	// Charlie comes back, catches up on the batches it missed and votes again.
	phase("three of four went on: Charlie restarts");
	net.nodes[2].restart().expect("charlie restarts");
	net.nodes[2].wait_rpc_ready(START_TIMEOUT).expect("charlie serves");
	let charlie = net.nodes[2].rpc();
	let after_restart = next_batch(&alice, project) + 2;
	wait_for("Charlie to vote on a new batch", TIMEOUT, || {
		let proof = alice.call("w3b_getProof", json!([project, after_restart]))?;
		Ok((proof["agreed"].as_u64() == Some(4)).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	std::thread::sleep(Duration::from_secs(5));
	phase("Charlie voted on a new batch: devices stop");
	let counters = publisher.stop();
	let acked = counters.acked.load(Ordering::Relaxed);
	assert_eq!(acked, counters.sent.load(Ordering::Relaxed));
	wait_final(&mut monitor, &counters, acked, &net);
	assert_eq!(monitor.progress.expired, 0);
	// Charlie ran what it missed: it serves the bodies of batches committed while down.
	let missed = charlie.call("w3b_getBatch", json!([project, batches_at_kill + 1])).unwrap();
	assert!(missed["messages"].is_array(), "Charlie fetched and kept a missed body: {missed}");

	// Bob acknowledges messages and dies before committing them: after its restart they
	// are committed, executed and final, each exactly once. Bob's store, read while he is
	// down, shows that the kill caught acknowledged messages in no batch yet (a seal
	// between the last answer and the kill is retried with more messages).
	let url = format!("http://127.0.0.1:{}/v1/projects/{project}/events", net.http[1]);
	let bob_store = net.nodes[1].w3b_dir().join("messages");
	let mut acknowledged = Vec::new();
	for attempt in 1.. {
		let first = acknowledged.len() as u64 + 1;
		for seq in first..first + 20 {
			let (hash, json) = reading(&committer_device, project, seq);
			let answer: serde_json::Value =
				ureq::post(&url).send_string(&json).expect("stored").into_json().unwrap();
			assert_eq!(answer["hash"], json!(hash));
			acknowledged.push(hash);
		}
		net.nodes[1].kill();
		let pending = {
			let store = w3b_storage::EmbeddedStore::open(&bob_store).expect("Bob's store opens");
			w3b_storage::MessageStore::pending(&store, project).unwrap()
		};
		let uncommitted = acknowledged.iter().filter(|h| pending.contains(h)).count();
		println!("[worker_faults] Bob killed with {uncommitted} acknowledged messages in no batch");
		if uncommitted > 0 {
			break;
		}
		assert!(attempt < 3, "Bob sealed every message before each of {attempt} kills");
		net.nodes[1].restart().expect("bob restarts");
		net.nodes[1].wait_rpc_ready(START_TIMEOUT).expect("bob serves");
	}
	// Bob's runs of the stalled batch so far (his log spans his restarts).
	let ran_stalled = format!("project {stalled}: batch 0 ran");
	let stalled_runs = net.nodes[1].log_tail(1_000_000).matches(&ran_stalled).count();
	net.nodes[1].restart().expect("bob restarts");
	net.nodes[1].wait_rpc_ready(START_TIMEOUT).expect("bob serves");
	let committed = Counters::default();
	{
		let now = Instant::now();
		let mut sent_at = committed.sent_at.lock().unwrap();
		for hash in &acknowledged {
			sent_at.insert(*hash, now);
		}
	}
	let mut rescan = Monitor::new(alice.clone(), project);
	let deadline = Instant::now() + TIMEOUT;
	while !committed.sent_at.lock().unwrap().is_empty() {
		assert!(Instant::now() < deadline, "Bob's messages never became final\n{}", net.logs(40));
		std::thread::sleep(Duration::from_millis(500));
		rescan.poll(&committed).unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	}
	// Exactly once: no message of any finalized batch appears twice. (A batch Bob
	// committed just before the kill may have expired unseen; he committed it again.)
	let total = next_batch(&alice, project);
	let mut seen = HashSet::new();
	for seq in 0..total {
		let proof = alice.call("w3b_getProof", json!([project, seq])).unwrap();
		match proof["status"].as_str() {
			Some("Finalized") => {}
			Some("Expired") => continue,
			_ => panic!("batch {seq} is not settled: {proof}"),
		}
		let batch = alice.call("w3b_getBatch", json!([project, seq])).unwrap();
		let messages = batch["messages"].as_array();
		for message in messages.unwrap_or_else(|| panic!("batch {seq} has no body on Alice")) {
			let hash: H256 = serde_json::from_value(message["hash"].clone()).unwrap();
			assert!(seen.insert(hash), "{hash:?} committed twice");
		}
	}
	assert!(acknowledged.iter().all(|h| seen.contains(h)));
	net.nodes[1].wait_finalized(1, START_TIMEOUT).expect("Bob follows finality again");

	// Restarted, Bob ran the stalled batch again and found his vote in its open round:
	// no second vote, which the chain would refuse for a fee. (A vote sent when the batch
	// ran would be in a block final two blocks later.)
	wait_for("Bob to run the stalled batch again", TIMEOUT, || {
		let runs = net.nodes[1].log_tail(1_000_000).matches(&ran_stalled).count();
		Ok((runs > stalled_runs).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", net.logs(40)));
	let best = alice.best_number().unwrap();
	net.nodes[0].wait_finalized(best + 2, TIMEOUT).expect("finality goes on");
	let proof = alice.call("w3b_getProof", json!([stalled, 0])).unwrap();
	assert_eq!(proof["status"], "Pending", "{proof}");
	assert_eq!(votes(), [Bob.to_account_id()]);
	let already_attested: sp_runtime::DispatchError =
		pallet_attestations::Error::<w3b_runtime::Runtime>::AlreadyAttested.into();
	for number in 1..=alice.best_number().unwrap() {
		let at = alice.block_hash(number).unwrap();
		for event in alice.events_at(at).unwrap() {
			if let w3b_runtime::RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
				dispatch_error,
				..
			}) = event
			{
				assert_ne!(
					dispatch_error,
					already_attested,
					"a second vote in block #{number}\n{}",
					net.logs(200)
				);
			}
		}
	}
}
