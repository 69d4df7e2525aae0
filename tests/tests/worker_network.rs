//! The whole pipeline on four validators, one of them byzantine (Dave attests corrupted
//! results): devices publish over MQTT to Alice, over HTTP to Bob and through
//! `w3b_submitEvent` to Charlie; every stored message ends up in a proof finalized by
//! the three honest operators with Dave recorded as the dissenter, until his votes
//! against finalized rounds cost him his seat and its bond; inclusion proofs
//! verify offline; bad input at the edge reaches no batch; a WebSocket subscriber is
//! told of every finalized proof; the metrics count it all. Meanwhile Alice's endpoints
//! are attacked (junk and badly signed messages, connection floods, slow clients: see
//! `w3b_e2e_tests::hostile`) and lose no honest message. Beside it, a project whose
//! applet attacks the host (floods, huge allocations, endless loops) is finalized by all
//! four: its events fail the same way everywhere, and no node's memory balloons; and a
//! project whose applet keeps its readings in SQL ends with the same rows in every
//! node's database. The weather project's alerts are bridged to an EVM chain (ganache
//! with IoTeX testnet's chain id): `w3b-node bridge deploy` deploys the contract for the
//! validators' set, governance registers it, and `w3b-node bridge relay` (killed and
//! restarted mid-run) delivers every finalized alert to the receiver contract exactly
//! once, in order, each bridge batch signed by at least two thirds of the validators.
//! Inbound, a project whose applet is built with W3bstream's AssemblyScript SDK
//! subscribes to a contract's logs: each log emitted on the EVM chain reaches the applet
//! once, run by all four operators, although Dave's EVM endpoint lies (another chain,
//! where a forged log was emitted and the real ones never were); the applet's alerts
//! and the logs' data it sends on are delivered back to the EVM chain once each.

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

use std::{
	collections::HashSet,
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use alloy::{
	network::EthereumWallet,
	providers::{Provider, ProviderBuilder},
	signers::local::PrivateKeySigner,
};
use codec::Decode;
use serde_json::{json, Value};
use sp_core::{ed25519, Pair, H256};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave};
use w3b_e2e_tests::{
	demo::{reading, setup_project, Monitor, ProjectSpec, Publisher, Transport},
	evm::{Ganache, LogEmitter, RecordingReceiver, DEPLOYER_KEY, RELAYER_KEY},
	hostile::APPLET_ATTACKS,
	metric,
	network::Validators,
	signed_message_with_hash, Rpc,
};
use w3b_primitives::{
	merkle::{verify_proof, MerkleProof},
	message::signed_message_hash,
	DeviceSignature,
};

const TIMEOUT: Duration = Duration::from_secs(180);
/// The EVM chain the weather project's alerts are bridged to (IoTeX testnet's id).
const BRIDGE_CHAIN: u64 = w3b_e2e_tests::evm::CHAIN_ID;
/// The weather project: the first this test creates.
const WEATHER: u64 = 0;
/// The project watching the EVM chain's logs: the fourth.
const CHAINWATCH: u64 = 3;

/// Most resident memory a node may reach in this test (the attacks above ask for
/// gigabytes each).
const MAX_NODE_RSS: u64 = 1 << 30;

/// Every message hash of batches `0..count` of `project`, read through `rpc`.
fn batch_messages(rpc: &Rpc, project: u64, count: u64) -> Vec<(u64, H256, Vec<H256>)> {
	(0..count)
		.map(|seq| {
			let batch = rpc.call("w3b_getBatch", json!([project, seq])).expect("batch");
			let root: H256 = serde_json::from_value(batch["merkleRoot"].clone()).expect("root");
			let hashes = batch["messages"]
				.as_array()
				.unwrap_or_else(|| panic!("batch {seq} has no messages on this node: {batch}"))
				.iter()
				.map(|m| serde_json::from_value(m["hash"].clone()).expect("hash"))
				.collect();
			(seq, root, hashes)
		})
		.collect()
}

#[test]
fn devices_to_finalized_proofs_with_a_byzantine_operator() {
	let dir = w3b_e2e_tests::test_dir();
	let runtime = tokio::runtime::Runtime::new().expect("tokio");
	// An EVM chain, and the one Dave's EVM endpoint shows him: the same contract whose
	// logs the chainwatch project takes is the deployer's first on both (so at the same
	// address), but the logs differ.
	let evm = Ganache::start(&[]).expect("ganache starts");
	let lying_evm = Ganache::start(&[]).expect("ganache starts");
	let emitters = [&evm, &lying_evm].map(|chain| {
		let deployer = ProviderBuilder::new()
			.wallet(EthereumWallet::from(DEPLOYER_KEY.parse::<PrivateKeySigner>().unwrap()))
			.connect_http(chain.url.parse().unwrap())
			.erased();
		runtime.block_on(LogEmitter::deploy(deployer)).expect("the log emitter deploys")
	});
	assert_eq!(emitters[0].address(), emitters[1].address());
	let net = Validators::start(dir.path(), |i| {
		let evm_url = |ganache: &Ganache| {
			format!("--w3b-evm-url={}={}", w3b_e2e_tests::evm::CHAIN_ID, ganache.url)
		};
		match i {
			// Alice's endpoints are attacked: a small budget per sender address shows.
			// Bursts of 800 (twice the rate): an attacker's request of a thousand
			// messages is refused whole, before any check, however slowly it sends.
			0 => vec!["--w3b-sender-rate=400".into(), evm_url(&evm)],
			// Dave votes a wrong root for the project (the first this test creates),
			// and his EVM endpoint lies.
			3 => vec!["--w3b-byzantine=wrong-root=0".into(), evm_url(&lying_evm)],
			_ => vec![evm_url(&evm)],
		}
	})
	.expect("validators start");
	let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}\n{}", net.logs(40)) };
	let [alice, bob, charlie, _dave] = [0, 1, 2, 3].map(|i| net.nodes[i].rpc());
	// The bridge deployed for the validators' set (by the node's own command, as an
	// operator would) and the receivers the alerts call.
	let alice_url = format!("http://127.0.0.1:{}", net.nodes[0].rpc_port);
	let deployed = std::process::Command::new(w3b_e2e_tests::node_binary())
		.args(["bridge", "deploy", "--node-url", &alice_url, "--evm-url", &evm.url])
		.env("W3B_BRIDGE_KEY", DEPLOYER_KEY)
		.output()
		.expect("w3b-node runs");
	assert!(
		deployed.status.success(),
		"bridge deploy: {}",
		String::from_utf8_lossy(&deployed.stderr)
	);
	let deployed: Value = serde_json::from_slice(&deployed.stdout).expect("deploy prints JSON");
	let bridge_contract: sp_core::H160 =
		serde_json::from_value(deployed["bridge"].clone()).unwrap();
	let deployer = ProviderBuilder::new()
		.wallet(EthereumWallet::from(DEPLOYER_KEY.parse::<PrivateKeySigner>().unwrap()))
		.connect_http(evm.url.parse().unwrap())
		.erased();
	let receiver = runtime
		.block_on(RecordingReceiver::deploy(
			deployer.clone(),
			bridge_contract.0.into(),
			alloy::primitives::U256::from(WEATHER),
		))
		.expect("receiver deploys");
	let alert_receiver = sp_core::H160(receiver.address().0 .0);
	let chainwatch_receiver = runtime
		.block_on(RecordingReceiver::deploy(
			deployer.clone(),
			bridge_contract.0.into(),
			alloy::primitives::U256::from(CHAINWATCH),
		))
		.expect("receiver deploys");
	// Governance (a council motion of three of the four validators) registers the contract.
	let set_target = w3b_runtime::RuntimeCall::Bridge(pallet_bridge::Call::set_target {
		chain: BRIDGE_CHAIN,
		contract: bridge_contract,
	});
	alice.pass_motion(set_target, TIMEOUT).unwrap_or_else(|e| fail(&e));
	w3b_e2e_tests::wait_for("the bridge target", TIMEOUT, || {
		let targets = alice.call("w3b_bridgeTargets", json!([]))?;
		Ok(targets.as_array().is_some_and(|t| !t.is_empty()).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	// A relayer, with its own key, reading Alice's node.
	let relayer_port = w3b_e2e_tests::free_port();
	let relayer_dir = dir.path().join("relayer");
	let start_relayer = || {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(dir.path().join("relayer.log"))
			.expect("relayer log");
		std::process::Command::new(w3b_e2e_tests::node_binary())
			.args(["bridge", "relay", "--node-url", &alice_url, "--evm-url", &evm.url])
			.args(["--chain-id", &BRIDGE_CHAIN.to_string(), "--poll-ms", "500"])
			.arg("--state-dir")
			.arg(&relayer_dir)
			.args(["--prometheus-port", &relayer_port.to_string()])
			.env("W3B_BRIDGE_KEY", RELAYER_KEY)
			.stdout(log.try_clone().unwrap())
			.stderr(log)
			.spawn()
			.expect("the relayer starts")
	};
	let mut relayer = Relayer(start_relayer());

	let devices: Vec<ed25519::Pair> = (0..6).map(|_| ed25519::Pair::generate().0).collect();
	let rpc_device = ed25519::Pair::generate().0;
	let mut registered = devices.clone();
	registered.push(rpc_device);
	let spec = ProjectSpec {
		owner: sp_keyring::Sr25519Keyring::Ferdie,
		name: "weather".into(),
		code: applets::applet_code("alert"),
		routes: vec![],
		// Alerts go to a contract on IoTeX testnet, called with the alert as data.
		env: vec![
			("THRESHOLD".into(), "30".into()),
			("CHAIN_ID".into(), BRIDGE_CHAIN.to_string()),
			("RECEIVER".into(), sp_core::bytes::to_hex(alert_receiver.as_bytes(), false)),
		],
		operators: vec![Alice, Bob, Charlie, Dave],
		devices: registered,
		// Long enough that Dave, busy with the hostile project, still votes on every
		// batch he is a voter of (the test checks each); nothing here is meant to expire.
		attestation_deadline: 100,
		retain_secs: 0,
		// The honest three go on once Dave is slashed out.
		min_operators: Some(3),
	};
	let project = setup_project(&alice, &spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
	assert_eq!(project, WEATHER, "the receiver was deployed for the first project");
	let attacker = ed25519::Pair::generate().0;
	let hostile_spec = ProjectSpec {
		name: "hostile".into(),
		code: applets::applet_code("hostile"),
		env: vec![],
		devices: vec![attacker.clone()],
		..spec.clone()
	};
	let hostile = setup_project(&alice, &hostile_spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
	let bookkeeper = ed25519::Pair::generate().0;
	let ledger_spec = ProjectSpec {
		name: "ledger".into(),
		code: applets::applet_code("sql"),
		env: vec![],
		devices: vec![bookkeeper.clone()],
		// Its bodies are let go a second after their proofs settle (the newest is kept).
		retain_secs: 1,
		min_operators: None,
		..spec.clone()
	};
	let ledger = setup_project(&alice, &ledger_spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
	// The chainwatch project: an AssemblyScript applet taking device readings (alerts
	// above 30) and the logs of the emitter contract, routed to `on_log`.
	let watcher = ed25519::Pair::generate().0;
	let chainwatch_spec = ProjectSpec {
		name: "chainwatch".into(),
		code: applets::assemblyscript_code("chainwatch"),
		routes: vec![("DEFAULT".into(), "start".into()), ("evm:Reading".into(), "on_log".into())],
		env: vec![
			("THRESHOLD".into(), "30".into()),
			("CHAIN_ID".into(), BRIDGE_CHAIN.to_string()),
			("RECEIVER".into(), sp_core::bytes::to_hex(&chainwatch_receiver.address().0 .0, false)),
		],
		devices: vec![watcher.clone()],
		min_operators: None,
		..spec.clone()
	};
	let chainwatch = setup_project(&alice, &chainwatch_spec, TIMEOUT).unwrap_or_else(|e| fail(&e));
	assert_eq!(chainwatch, CHAINWATCH, "the receiver was deployed for the fourth project");
	// It subscribes to the emitter's `Reading` logs from the next block on: ranges of 5
	// blocks, 2 blocks deep.
	let emitted_from = evm.mine(0).unwrap_or_else(|e| fail(&e)) + 1;
	let emitter_address = sp_core::H160(emitters[0].address().0 .0);
	let reading_topic = {
		use alloy::sol_types::SolEvent;
		H256(LogEmitter::Reading::SIGNATURE_HASH.0)
	};
	let subscribe = pallet_inbound::Call::subscribe {
		project: chainwatch,
		subscription: w3b_primitives::inbound::Subscription {
			chain_id: BRIDGE_CHAIN,
			contract: emitter_address,
			topics: vec![Some(reading_topic)].try_into().unwrap(),
			confirmations: 2,
			blocks_per_range: 5,
			event_type: b"evm:Reading".to_vec().try_into().unwrap(),
		},
		from_block: emitted_from,
	};
	alice.submit(spec.owner, subscribe.into()).unwrap_or_else(|e| fail(&e));
	// Three readings on the real chain; on Dave's, a forged one at the same height.
	let lying_head = lying_evm.mine(0).unwrap_or_else(|e| fail(&e));
	lying_evm.mine((emitted_from.saturating_sub(lying_head)) as u32).unwrap_or_else(|e| fail(&e));
	let forged_reading = runtime
		.block_on(async {
			let pending = emitters[1]
				.emitReading(alloy::primitives::U256::from(9), b"forged".to_vec().into())
				.send()
				.await?;
			Ok::<_, w3b_e2e_tests::Error>(pending.get_receipt().await?)
		})
		.unwrap_or_else(|e| fail(&e));
	assert!(forged_reading.status());
	// Sent with the deployer's provider: its nonces follow the receivers' deployments.
	let emitter = LogEmitter::new(*emitters[0].address(), deployer.clone());
	for sensor in 1..=3u64 {
		let receipt = runtime
			.block_on(async {
				let pending = emitter
					.emitReading(
						alloy::primitives::U256::from(sensor),
						format!("reading-{sensor}").into_bytes().into(),
					)
					.send()
					.await?;
				Ok::<_, w3b_e2e_tests::Error>(pending.get_receipt().await?)
			})
			.unwrap_or_else(|e| fail(&e));
		assert!(receipt.status());
	}
	// Blocks on top of the readings on both chains: every range holding them gets deep
	// enough to be observed.
	for chain in [&evm, &lying_evm] {
		chain.mine(12).unwrap_or_else(|e| fail(&e));
	}
	// A reading above the threshold from the project's device.
	let (_, json) = signed_message_with_hash(&watcher, chainwatch, 1, br#"{"temperature": 41}"#);
	let message: Value = serde_json::from_str(&json).expect("JSON");
	charlie.call("w3b_submitEvent", json!([chainwatch, message])).unwrap_or_else(|e| fail(&e));

	// A dApp subscribes to finalized proofs before any data flows.
	let mut subscription = runtime.block_on(async {
		use jsonrpsee::{
			core::client::SubscriptionClientT, rpc_params, ws_client::WsClientBuilder,
		};
		let url = format!("ws://127.0.0.1:{}", net.nodes[1].rpc_port);
		let client = WsClientBuilder::default().build(url).await.expect("WebSocket");
		let subscription = client
			.subscribe::<Value, _>(
				"w3b_subscribeFinalizedProofs",
				rpc_params![],
				"w3b_unsubscribeFinalizedProofs",
			)
			.await
			.expect("subscribed");
		(client, subscription)
	});

	// Attackers go for Alice's endpoints while the devices publish.
	let attack = w3b_e2e_tests::hostile::HostileLoad::start(
		net.http[0],
		net.mqtt[0],
		project,
		devices[0].clone(),
	);
	// Devices publish for a while over MQTT to Alice and HTTP to Bob...
	let publisher = Publisher::start(
		project,
		devices.clone(),
		&[Transport::Mqtt(net.mqtt[0]), Transport::Http(net.http[1])],
		40.0,
	);
	// ...and one through JSON-RPC to Charlie.
	let mut rpc_sent = Vec::new();
	for seq in 1..=5 {
		let (hash, json) = reading(&rpc_device, project, seq);
		let message: Value = serde_json::from_str(&json).expect("JSON");
		let answer = charlie.call("w3b_submitEvent", json!([project, message]));
		assert_eq!(answer.unwrap_or_else(|e| fail(&e)), json!(hash));
		rpc_sent.push(hash);
	}

	// Bad input at the edge is refused with a clear code and stored nowhere.
	let stranger = ed25519::Pair::generate().0;
	let (unknown_device, json) = signed_message_with_hash(&stranger, project, 1, b"{}");
	let refused =
		ureq::post(&format!("http://127.0.0.1:{}/v1/projects/{project}/events", net.http[0]))
			.send_string(&json);
	let Err(ureq::Error::Status(_, response)) = refused else { panic!("accepted: {refused:?}") };
	let body: Value = response.into_json().expect("JSON error");
	assert_eq!(body["code"], "unknown_device");
	let (_, json) = reading(&rpc_device, project, 6);
	let mut message: Value = serde_json::from_str(&json).expect("JSON");
	message["payload"] = json!("0x7b7d"); // `{}`, not what the device signed
									   // The hash of what was sent, the one a node would have stored it under.
	let wire: w3b_ingest::wire::WireMessage = serde_json::from_value(message.clone()).unwrap();
	let forged = wire.into_parts().expect("well formed").0.hash();
	let error = charlie.call("w3b_submitEvent", json!([project, message])).expect_err("forged");
	assert!(error.to_string().contains("bad_signature"), "{error}");
	let error = charlie.call("w3b_submitEvent", json!([project, {"seq": "x"}])).expect_err("junk");
	assert!(error.to_string().contains("malformed"), "{error}");
	let replayed: Value = serde_json::from_str(&reading(&rpc_device, project, 5).1).unwrap();
	let replay = charlie.call("w3b_submitEvent", json!([project, replayed]));
	assert!(replay.expect_err("replay").to_string().contains("stale_seq"));

	// The ledger's device sends readings its applet inserts into the project's database,
	// in two batches at least (the second once the first is committed).
	const LEDGER_ROWS: u64 = 8;
	for seq in 1..=LEDGER_ROWS {
		if seq == LEDGER_ROWS / 2 + 1 {
			w3b_e2e_tests::wait_rpc(
				&charlie,
				"w3b_getNextBatchSeq",
				json!([ledger]),
				TIMEOUT,
				|n| n.as_u64() > Some(0),
			);
		}
		let (_, json) =
			signed_message_with_hash(&bookkeeper, ledger, seq, format!("row {seq}").as_bytes());
		let message: Value = serde_json::from_str(&json).expect("JSON");
		charlie.call("w3b_submitEvent", json!([ledger, message])).unwrap_or_else(|e| fail(&e));
	}

	// The hostile project's device asks for every attack, twice.
	for (seq, attack) in APPLET_ATTACKS.iter().chain(APPLET_ATTACKS.iter()).enumerate() {
		let (_, json) =
			signed_message_with_hash(&attacker, hostile, seq as u64 + 1, attack.as_bytes());
		let message: Value = serde_json::from_str(&json).expect("JSON");
		charlie.call("w3b_submitEvent", json!([hostile, message])).unwrap_or_else(|e| fail(&e));
	}

	std::thread::sleep(Duration::from_secs(15));
	let counters = publisher.stop();
	let attacked = attack.stop();
	println!("[worker_network] attacks on Alice: {attacked:?}");
	let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
	assert_eq!(count(&attacked.http_wrong), 0, "junk was never stored nor failed the node");
	assert!(count(&attacked.http_throttled) > 0, "the sender's budget ran out");
	assert!(count(&attacked.http_refused) > 0 && count(&attacked.mqtt_publishes) > 0);
	assert!(count(&attacked.flood_closed) > 0, "flooding connections were closed");
	assert!(count(&attacked.slow_closed) > 0, "slow clients were closed");
	let sent = counters.sent.load(Ordering::Relaxed);
	let acked = counters.acked.load(Ordering::Relaxed);
	assert!(sent > 300, "only {sent} messages sent");
	assert_eq!(acked, sent, "every message published is acknowledged");

	// Every stored message reaches a proof in a GRANDPA-final block.
	let mut monitor = Monitor::new(bob.clone(), project);
	let stored = acked + rpc_sent.len() as u64;
	let deadline = Instant::now() + TIMEOUT;
	while monitor.progress.messages_final < stored {
		if Instant::now() > deadline {
			fail(&format!("timed out: {}", monitor.line(Duration::ZERO, &counters)));
		}
		std::thread::sleep(Duration::from_millis(500));
		monitor.poll(&counters).unwrap_or_else(|e| fail(&e));
	}
	assert_eq!(monitor.progress.messages_final, stored, "no message twice");
	assert_eq!(monitor.progress.expired, 0);
	assert!(counters.sent_at.lock().unwrap().is_empty(), "every publish was matched");
	let p50 = monitor.progress.latency(0.5).expect("latencies");
	println!("[worker_network] {stored} messages final; latency p50 {p50:.2}s");

	// The honest three agree and only they, and Dave is seen lying on chain: each of his
	// votes (before the quorum, or late) names a root other than the finalized one, until
	// the 8th finalized round in a row he voted against costs him his seat and its bond
	// (the runtime's `DissentLimit`); from then on he is no voter. A Dave who never voted,
	// voted right, or kept his seat fails here.
	let batches = monitor.progress.finalized;
	let mut finalized_roots = std::collections::HashMap::new();
	let mut dave_roots: std::collections::HashMap<u64, Option<H256>> = Default::default();
	let (mut named_dave, mut dave_slashed, mut dave_removed) = (0, None, false);
	let mut scanned = 0;
	w3b_e2e_tests::wait_for("every batch final and Dave slashed out", TIMEOUT, || {
		let head = alice.finalized_number()?;
		for number in scanned + 1..=head {
			for event in alice.events_at(alice.block_hash(number)?)? {
				use pallet_operators::Event::{OperatorRemoved, SeatSlashed};
				let event = match event {
					w3b_runtime::RuntimeEvent::Attestations(event) => event,
					w3b_runtime::RuntimeEvent::Operators(SeatSlashed {
						project: p,
						operator,
						amount,
					}) if p == project => {
						assert_eq!(operator, Dave.to_account_id(), "only Dave is slashed");
						dave_slashed = Some(amount);
						continue;
					}
					w3b_runtime::RuntimeEvent::Operators(OperatorRemoved {
						project: p,
						operator,
						reason,
					}) if p == project => {
						assert_eq!(operator, Dave.to_account_id(), "only Dave is removed");
						assert_eq!(reason, w3b_primitives::operator::RemovalReason::Dissent);
						dave_removed = true;
						continue;
					}
					_ => continue,
				};
				use pallet_attestations::Event::*;
				match event {
					ProofFinalized { project: p, batch_seq, output_root, agreed, dissenters }
						if p == project =>
					{
						// A quorum of four, or of the three once Dave is out.
						assert!(agreed >= 2, "batch {batch_seq}: {agreed} votes");
						assert!(
							dissenters.is_empty() || dissenters == vec![Dave.to_account_id()],
							"batch {batch_seq}: dissenters {dissenters:?}"
						);
						named_dave += usize::from(!dissenters.is_empty());
						finalized_roots.insert(batch_seq, output_root);
					}
					Attested { project: p, batch_seq, operator, output_root }
						if p == project && operator == Dave.to_account_id() =>
					{
						dave_roots.insert(batch_seq, Some(output_root));
					}
					LateAttestation { project: p, batch_seq, operator, agreed }
						if p == project && operator == Dave.to_account_id() =>
					{
						assert!(!agreed, "batch {batch_seq}: Dave's late vote agreed");
						dave_roots.insert(batch_seq, None);
					}
					_ => {}
				}
			}
		}
		scanned = head;
		Ok(((0..batches).all(|seq| finalized_roots.contains_key(&seq)) && dave_removed)
			.then_some(()))
	})
	.unwrap_or_else(|e| fail(&format!("{e}: Dave voted on {} of {batches}", dave_roots.len())));
	for (seq, dave) in &dave_roots {
		if let Some(dave) = dave {
			assert_ne!(*dave, finalized_roots[seq], "batch {seq}: Dave voted the agreed root");
		}
	}
	assert!(dave_roots.len() >= 8, "Dave voted on {} batches before his removal", dave_roots.len());
	assert_eq!(dave_slashed, Some(100 * w3b_runtime::UNIT), "Dave's seat bond was taken");
	let finalized_head = alice.block_hash(scanned).unwrap();
	for seq in 0..batches {
		let proof = alice.call("w3b_getProof", json!([project, seq, finalized_head])).unwrap();
		assert_eq!(proof["status"], "Finalized", "batch {seq}: {proof}");
		assert_eq!(proof["outputRoot"], json!(finalized_roots[&seq]), "batch {seq}: {proof}");
	}
	println!(
		"[worker_network] Dave voted a wrong root on {} of {batches} batches, named as the dissenter of {named_dave}, then lost his seat and its bond",
		dave_roots.len()
	);

	// Each message is in exactly one batch; the bad ones in none; inclusion proofs
	// from one node verify against the roots another node reports.
	let contents = batch_messages(&charlie, project, batches);
	let mut seen = HashSet::new();
	for (_, _, hashes) in &contents {
		for hash in hashes {
			assert!(seen.insert(*hash), "{hash:?} is in two batches");
		}
	}
	assert_eq!(seen.len() as u64, stored);
	assert!(rpc_sent.iter().all(|h| seen.contains(h)));
	assert!(!seen.contains(&unknown_device) && !seen.contains(&forged));
	let decode = |answer: &Value, field: &str| {
		hex::decode(answer[field].as_str().unwrap().trim_start_matches("0x")).unwrap()
	};
	for (seq, root, hashes) in contents.iter().take(5) {
		let hash = hashes[hashes.len() / 2];
		let answer = bob.call("w3b_getMessageProof", json!([project, seq, hash])).unwrap();
		let proof = MerkleProof::decode(&mut &decode(&answer, "encoded")[..]).unwrap();
		let signature = DeviceSignature::decode(&mut &decode(&answer, "signature")[..]).unwrap();
		// The leaf is the message bound to the signature committed with it.
		let leaf = signed_message_hash(&hash, &signature);
		assert_eq!(answer["leaf"], json!(leaf));
		assert!(verify_proof(root, hashes.len() as u32, &leaf, &proof), "batch {seq}");
		assert!(!verify_proof(root, hashes.len() as u32, &hash, &proof), "an unsigned leaf");
		let forged = signed_message_hash(&hash, &DeviceSignature::Ed25519([0; 64]));
		assert!(!verify_proof(root, hashes.len() as u32, &forged, &proof), "another signature");
	}
	let absent = bob.call("w3b_getMessageProof", json!([project, 0, forged])).unwrap();
	assert!(absent.is_null());

	// The subscriber heard of every proof (in the order they were final, which within a
	// block need not be batch order), with the same roots.
	let mut heard: Vec<Value> = runtime.block_on(async {
		let mut heard = Vec::new();
		while (heard.len() as u64) < batches {
			let next = tokio::time::timeout(Duration::from_secs(30), subscription.1.next()).await;
			match next {
				// The hostile project's proofs come too.
				Ok(Some(Ok(proof))) if proof["project"] != project => {}
				Ok(Some(Ok(proof))) => heard.push(proof),
				other => panic!("subscription ended after {} proofs: {other:?}", heard.len()),
			}
		}
		heard
	});
	heard.sort_by_key(|notice| notice["batchSeq"].as_u64());
	for (seq, notice) in heard.iter().enumerate() {
		assert_eq!(
			(notice["project"].as_u64(), notice["batchSeq"].as_u64()),
			(Some(project), Some(seq as u64))
		);
		let proof = alice.call("w3b_getProof", json!([project, seq])).unwrap();
		assert_eq!(notice["outputRoot"], proof["outputRoot"], "batch {seq}");
		assert_eq!(notice["stateRoot"], proof["stateRoot"], "batch {seq}");
		assert_eq!(notice["previousStateRoot"], proof["previousStateRoot"], "batch {seq}");
	}
	// Each proof ran on the state the one before it agreed on.
	let mut agreed = json!(H256::zero());
	for notice in &heard {
		assert_eq!(notice["previousStateRoot"], agreed, "{notice}");
		agreed = notice["stateRoot"].clone();
	}

	// Every hostile message is in a proof all four finalized (the events failed, or were
	// refused, identically everywhere), and every node is up with bounded memory.
	let mut hostile_monitor = Monitor::new(bob.clone(), hostile);
	let quiet = Default::default();
	while hostile_monitor.progress.messages_final < 2 * APPLET_ATTACKS.len() as u64 {
		if Instant::now() > deadline {
			fail(&format!("hostile: {}", hostile_monitor.line(Duration::ZERO, &quiet)));
		}
		std::thread::sleep(Duration::from_millis(500));
		hostile_monitor.poll(&quiet).unwrap_or_else(|e| fail(&e));
	}
	for seq in 0..hostile_monitor.progress.finalized {
		// The fourth vote may come after the quorum's (a late vote still counts).
		let proof = loop {
			let proof = alice.call("w3b_getProof", json!([hostile, seq])).unwrap();
			if proof["agreed"] == 4 || Instant::now() > deadline {
				break proof;
			}
			std::thread::sleep(Duration::from_millis(500));
		};
		assert_eq!(proof["status"], "Finalized", "hostile batch {seq}: {proof}");
		assert_eq!(proof["agreed"], 4, "hostile batch {seq}: {proof}");
	}
	// Every node's SQL database holds the ledger's rows once its proofs are final there.
	for node in &net.nodes {
		let path = node.w3b_dir().join(format!("state/project-{ledger}.sql"));
		let rows = loop {
			let rows = w3b_executor::SqlDb::open(&path)
				.and_then(|db| db.query(b"SELECT count(*) AS n FROM readings"))
				.map(|rows| String::from_utf8_lossy(&rows).into_owned());
			match rows {
				Ok(rows) if rows == format!(r#"[{{"n":{LEDGER_ROWS}}}]"#) => break rows,
				_ if Instant::now() > deadline => fail(&format!("{}: {rows:?}", node.identity)),
				_ => std::thread::sleep(Duration::from_millis(500)),
			}
		};
		println!("[worker_network] {}: ledger rows {rows}", node.identity);
	}
	// Retention: every node let go of the ledger's settled bodies but the newest one.
	let ledger_batches =
		alice.call("w3b_getNextBatchSeq", json!([ledger])).unwrap().as_u64().unwrap();
	assert!(ledger_batches >= 2, "the ledger's rows came in {ledger_batches} batch");
	for node in &net.nodes {
		let rpc = node.rpc();
		w3b_e2e_tests::wait_for("the ledger's old bodies to go", TIMEOUT, || {
			let bodies: Vec<bool> = (0..ledger_batches)
				.map(|seq| {
					let batch = rpc.call("w3b_getBatch", json!([ledger, seq]))?;
					Ok(batch["messages"].is_array())
				})
				.collect::<w3b_e2e_tests::Result<_>>()?;
			let (newest, older) = bodies.split_last().expect("batches");
			assert!(newest, "{}: the newest ledger body is gone", node.identity);
			Ok(older.iter().all(|kept| !kept).then_some(()))
		})
		.unwrap_or_else(|e| fail(&format!("{}: {e}", node.identity)));
	}
	println!("[worker_network] every node kept only the newest of {ledger_batches} ledger bodies");
	for node in &net.nodes {
		let rss = node.peak_rss().unwrap_or_else(|e| fail(&e));
		println!("[worker_network] {}: peak RSS {} MiB", node.identity, rss >> 20);
		assert!(rss < MAX_NODE_RSS, "{}: peak RSS {} MiB", node.identity, rss >> 20);
	}

	// The metrics saw the traffic and the refusals.
	let alice_metrics = net.nodes[0].prometheus_port;
	for reason in
		["too_many_connections", "too_many_messages", "bad_signature", "malformed", "rate_limited"]
	{
		let label = format!("reason=\"{reason}\"");
		let refused = metric(alice_metrics, "w3b_messages_rejected_total", &[&label]);
		println!("[worker_network] Alice refused {refused} for {reason}");
		assert!(refused >= 1.0, "{reason}: {refused}");
	}
	// The attackers' messages are above every honest seq: checked, not stale.
	let stale = metric(alice_metrics, "w3b_messages_rejected_total", &["reason=\"stale_seq\""]);
	println!("[worker_network] Alice refused {stale} for stale_seq");
	assert!(metric(alice_metrics, "w3b_messages_ingested_total", &[]) > 0.0);
	assert!(
		metric(alice_metrics, "w3b_messages_rejected_total", &["reason=\"unknown_device\""]) >= 1.0
	);
	// Alice's worker counted each proof it saw final and each batch of hers the chain
	// took, exactly: the chain's own counts, once every project is quiet and settled.
	let (mut batches_total, mut alice_batches) = (0, 0);
	for p in [project, hostile, ledger, chainwatch] {
		let next = alice.call("w3b_getNextBatchSeq", json!([p])).unwrap().as_u64().unwrap();
		for seq in 0..next {
			let proof = alice.call("w3b_getProof", json!([p, seq])).unwrap();
			batches_total += u64::from(proof["status"] == "Finalized");
			let batch = alice.call("w3b_getBatch", json!([p, seq])).unwrap();
			let committer: w3b_runtime::AccountId =
				serde_json::from_value(batch["committer"].clone())
					.unwrap_or_else(|e| fail(&format!("project {p} batch {seq}: {e}: {batch}")));
			// A batch the chain made from logs is credited to a voter, not sealed by it.
			alice_batches +=
				u64::from(committer == Alice.to_account_id() && batch["madeOnChain"] == false);
		}
	}
	w3b_e2e_tests::wait_for("Alice's worker metrics to match the chain", TIMEOUT, || {
		let counted = [
			metric(alice_metrics, "w3b_proofs_finalized_total", &[]) as u64,
			metric(alice_metrics, "w3b_batches_committed_total", &[]) as u64,
		];
		Ok((counted == [batches_total, alice_batches]).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	println!("[worker_network] Alice counted {batches_total} proofs final, {alice_batches} batches of hers committed");
	assert!(metric(alice_metrics, "w3b_execution_seconds_count", &[]) > 0.0);

	// The relayer is SIGKILLed once it relayed its first batch (alerts keep coming in
	// later batches), and started again: it resumes from its saved state.
	w3b_e2e_tests::wait_for("the relayer's first batch", TIMEOUT, || {
		Ok((metric(relayer_port, "w3b_relayer_batches_relayed_total", &[]) >= 1.0).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	relayer.0.kill().expect("kill the relayer");
	relayer.0.wait().expect("the relayer exits");
	std::thread::sleep(Duration::from_secs(2));
	relayer = Relayer(start_relayer());
	// The chainwatch project's outputs are all final before the bridge is checked: its
	// alert and one per log (the logs come in once the chain took their ranges).
	w3b_e2e_tests::wait_for("the chainwatch project's four outputs final", TIMEOUT, || {
		let next = alice.call("w3b_getNextBatchSeq", json!([chainwatch]))?.as_u64().ok_or("seq")?;
		let mut outputs = 0;
		for seq in 0..next {
			let proof = alice.call("w3b_getProof", json!([chainwatch, seq]))?;
			outputs += proof["outputs"].as_array().map_or(0, Vec::len);
		}
		Ok((outputs >= 4).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	let delivered = Delivered {
		bridge: bridge_contract,
		receivers: vec![(project, receiver), (chainwatch, chainwatch_receiver)],
		runtime: &runtime,
	};
	let bridged = check_bridge(&alice, &delivered).unwrap_or_else(|e| fail(&e));
	let dave_votes = net.nodes[3].log_lines(&["voting EVM blocks"]);
	check_inbound(&alice, &bridged[&chainwatch], &evm, emitter_address, emitted_from)
		.unwrap_or_else(|e| fail(&e));
	// Dave observed his chain and voted what it showed (his votes that came before the
	// quorum are on chain, outvoted; those after it were no-ops), and none of it got in.
	assert!(dave_votes.contains("1 logs"), "Dave voted his forged log: {dave_votes}");
	let failures = std::fs::read_to_string(relayer_dir.join("failures.jsonl")).unwrap_or_default();
	assert!(failures.is_empty(), "the relayer gave up on: {failures}");
	w3b_e2e_tests::wait_for("the restarted relayer at the last batch", TIMEOUT, || {
		let sealed = alice.call("w3b_bridgeTargets", json!([]))?[0]["nextNonce"].as_u64();
		let relayed = metric(relayer_port, "w3b_relayer_next_nonce", &[]) as u64;
		Ok((Some(relayed) == sealed).then_some(()))
	})
	.unwrap_or_else(|e| fail(&e));
	// Across the two runs no batch was relayed twice (one the restarted relayer found
	// verified, its transaction mined while it was down, is not sent again), and the
	// contract verified every batch.
	let log = std::fs::read_to_string(dir.path().join("relayer.log")).unwrap();
	let relayed: Vec<u64> = log
		.lines()
		.filter_map(|line| {
			line.split("batch relayed nonce=").nth(1)?.split(' ').next()?.parse().ok()
		})
		.collect();
	assert!(
		relayed.windows(2).all(|w| w[0] < w[1]),
		"each batch relayed once, in order: {relayed:?}"
	);
	assert_eq!(log.matches("relaying chain=").count(), 2, "one restart");
	let sealed =
		alice.call("w3b_bridgeTargets", json!([])).unwrap()[0]["nextNonce"].as_u64().unwrap();
	let bridge = w3b_bridge::contract::W3bBridge::new(bridge_contract.0.into(), deployer.clone());
	for nonce in 0..sealed {
		let root =
			runtime.block_on(async { bridge.batchRoots(nonce).call().await }).expect("batchRoots");
		assert!(!root.is_zero(), "batch {nonce} verified by the contract");
	}
	drop(relayer);
}

/// The relayer process, killed when dropped (a failing test leaves none behind).
struct Relayer(std::process::Child);

impl Drop for Relayer {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

type Receiver = RecordingReceiver::RecordingReceiverInstance<alloy::providers::DynProvider>;

/// Where the bridge delivers on the EVM chain.
struct Delivered<'a> {
	bridge: sp_core::H160,
	/// The projects whose outputs are bridged, each with the receiver its outputs call.
	receivers: Vec<(u64, Receiver)>,
	runtime: &'a tokio::runtime::Runtime,
}

/// The finalized outputs of a project: batch and call data, in order.
type Outputs = Vec<(u64, Vec<u8>)>;

/// Every output the projects' finalized proofs hold is in one bridge batch for
/// `BRIDGE_CHAIN`, in each project's order; every batch gets signatures of at least two
/// thirds of the validator set, each recovering to the signer named at its place,
/// ascending; and each project's receiver contract recorded each of its outputs once, in
/// order, for that project. Returns the outputs by project.
fn check_bridge(
	rpc: &Rpc,
	delivered: &Delivered,
) -> w3b_e2e_tests::Result<std::collections::BTreeMap<u64, Outputs>> {
	use w3b_primitives::bridge::{eth_address, BridgeDomain, SendTx};
	let mut finalized = std::collections::BTreeMap::new();
	for (project, _) in &delivered.receivers {
		let project = *project;
		let next = rpc.call("w3b_getNextBatchSeq", json!([project]))?.as_u64().ok_or("seq")?;
		let mut outputs = Vec::new();
		for seq in 0..next {
			let proof = rpc.call("w3b_getProof", json!([project, seq]))?;
			if proof["status"] != "Finalized" {
				continue;
			}
			for output in proof["outputs"].as_array().ok_or("outputs")? {
				let bytes = sp_core::bytes::from_hex(output.as_str().ok_or("hex")?)
					.map_err(|e| format!("{e:?}"))?;
				let tx = SendTx::decode(&mut &bytes[..])?;
				outputs.push((seq, tx.data.to_vec()));
			}
		}
		assert!(!outputs.is_empty(), "project {project}: no alert was finalized");
		finalized.insert(project, outputs);
	}
	let total: usize = finalized.values().map(Vec::len).sum();
	let genesis = rpc.block_hash(0)?;
	let domain = BridgeDomain { chain_id: BRIDGE_CHAIN, contract: delivered.bridge, genesis };
	let batches = w3b_e2e_tests::wait_for("every bridge batch signed", TIMEOUT, || {
		let targets = rpc.call("w3b_bridgeTargets", json!([]))?;
		let next_nonce = targets[0]["nextNonce"].as_u64().ok_or("nextNonce")?;
		let batches: Vec<Value> = (0..next_nonce)
			.map(|nonce| rpc.call("w3b_bridgeBatch", json!([BRIDGE_CHAIN, nonce])))
			.collect::<w3b_e2e_tests::Result<_>>()?;
		let bridged: usize =
			batches.iter().map(|b| b["outputs"].as_array().map_or(0, Vec::len)).sum();
		let done = bridged == total && batches.iter().all(|b| b["complete"] == true);
		Ok(done.then_some(batches))
	})?;
	let mut bridged: std::collections::BTreeMap<u64, Outputs> = Default::default();
	for batch in &batches {
		for output in batch["outputs"].as_array().ok_or("outputs")? {
			let project = output["projectId"].as_u64().ok_or("projectId")?;
			let (_, receiver) = delivered
				.receivers
				.iter()
				.find(|(p, _)| *p == project)
				.ok_or_else(|| format!("an output of project {project}: {output}"))?;
			assert_eq!(output["kind"], "call");
			assert_eq!(output["to"], json!(sp_core::H160(receiver.address().0 .0)));
			let data = sp_core::bytes::from_hex(output["data"].as_str().ok_or("data")?)
				.map_err(|e| format!("{e:?}"))?;
			let seq = output["batchSeq"].as_u64().ok_or("batchSeq")?;
			bridged.entry(project).or_default().push((seq, data));
		}
		let signers: Vec<sp_core::H160> = serde_json::from_value(batch["signers"].clone())?;
		let threshold = batch["threshold"].as_u64().ok_or("threshold")? as usize;
		assert_eq!((signers.len(), threshold), (4, 3), "the four validators, three to sign");
		let digest = domain.batch_digest(
			batch["setId"].as_u64().ok_or("setId")?,
			batch["nonce"].as_u64().ok_or("nonce")?,
			batch["blockNumber"].as_u64().ok_or("blockNumber")?,
			serde_json::from_value(batch["outputsRoot"].clone())?,
		);
		let mut recovered = Vec::new();
		for signature in batch["signatures"].as_array().ok_or("signatures")? {
			let mut bytes = sp_core::bytes::from_hex(signature.as_str().ok_or("hex")?)
				.map_err(|e| format!("{e:?}"))?;
			assert!(bytes[64] == 27 || bytes[64] == 28, "v is 27 or 28");
			bytes[64] -= 27;
			let bytes: [u8; 65] = bytes.try_into().map_err(|_| "65 bytes")?;
			let signature = sp_core::ecdsa::Signature::from_raw(bytes);
			let key = signature.recover_prehashed(&digest.0).ok_or("recovers")?;
			recovered.push(eth_address(&key.into()).ok_or("a point")?);
		}
		assert!(
			recovered.len() >= threshold,
			"batch {}: {} signatures",
			batch["nonce"],
			recovered.len()
		);
		assert!(recovered.windows(2).all(|w| w[0] < w[1]), "signers ascending: {recovered:?}");
		assert!(recovered.iter().all(|a| signers.contains(a)), "signers in the set: {recovered:?}");
	}
	assert_eq!(bridged, finalized, "each finalized output bridged once, in order");
	for (project, receiver) in &delivered.receivers {
		let expected: Vec<(u64, Vec<u8>)> =
			finalized[project].iter().map(|(_, data)| (*project, data.clone())).collect();
		let notes = w3b_e2e_tests::wait_for("every alert delivered", TIMEOUT, || {
			delivered.runtime.block_on(async {
				let count = receiver.noteCount().call().await?.to::<u64>();
				if count < expected.len() as u64 {
					return Ok(None);
				}
				let mut notes = Vec::new();
				for i in 0..count {
					let index = alloy::primitives::U256::from(i);
					let project_id = receiver.noteProjects(index).call().await?.to::<u64>();
					notes.push((project_id, receiver.notes(index).call().await?.to_vec()));
				}
				Ok::<_, w3b_e2e_tests::Error>(Some(notes))
			})
		})?;
		assert_eq!(notes, expected, "each alert delivered once, in order, for project {project}");
	}
	println!(
		"[worker_network] {total} alerts of {} projects bridged in {} batches, each signed by at least 3 of 4 validators, delivered once each",
		finalized.len(),
		batches.len()
	);
	Ok(finalized)
}

/// The chainwatch project's logs: every `Reading` the emitter logged on the real chain
/// from `from_block` on is in exactly one batch the chain made, all four operators ran
/// that batch and agreed (their votes are the finalized root), the applet sent each
/// log's data on once (`outputs`: the project's finalized outputs), and nothing of the
/// forged log Dave's endpoint showed him got in; Dave voted, and was outvoted.
fn check_inbound(
	rpc: &Rpc,
	outputs: &Outputs,
	evm: &Ganache,
	emitter: sp_core::H160,
	from_block: u64,
) -> w3b_e2e_tests::Result<()> {
	use pallet_inbound::Event::{Observed, RangeAccepted};
	// The logs, as the real chain has them.
	let answer: Value = ureq::post(&evm.url)
		.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{
			"address": emitter,
			"fromBlock": format!("{from_block:#x}"),
			"toBlock": "latest",
		}]}))?
		.into_json()?;
	let logs: Vec<Vec<u8>> = answer["result"]
		.as_array()
		.ok_or("eth_getLogs")?
		.iter()
		.map(|log| sp_core::bytes::from_hex(log["data"].as_str().unwrap_or_default()))
		.collect::<Result<_, _>>()
		.map_err(|e| format!("{e:?}"))?;
	assert_eq!(logs.len(), 3, "the three readings");
	let sent: Vec<&Vec<u8>> = outputs.iter().map(|(_, data)| data).collect();
	for data in &logs {
		assert_eq!(sent.iter().filter(|d| **d == data).count(), 1, "each log's data sent on once");
	}
	assert!(sent.contains(&&b"alert:41".to_vec()), "the device's alert: {sent:?}");
	assert_eq!(sent.len(), logs.len() + 1, "nothing else: {sent:?}");
	// The batches the chain made from them, and who observed what.
	let head = rpc.finalized_number()?;
	let (mut log_batches, mut observed) = (Vec::new(), Vec::new());
	for number in 1..=head {
		for event in rpc.events_at(rpc.block_hash(number)?)? {
			match event {
				w3b_runtime::RuntimeEvent::Inbound(RangeAccepted {
					project,
					batch_seq: Some(seq),
					logs,
					..
				}) if project == CHAINWATCH => log_batches.push((seq, logs)),
				w3b_runtime::RuntimeEvent::Inbound(Observed {
					project, who, observation, ..
				}) if project == CHAINWATCH => observed.push((who, observation)),
				_ => {}
			}
		}
	}
	assert_eq!(log_batches.iter().map(|(_, n)| n).sum::<u32>(), 3, "{log_batches:?}");
	for (seq, count) in &log_batches {
		let batch = rpc.call("w3b_getBatch", json!([CHAINWATCH, seq]))?;
		assert_eq!(batch["madeOnChain"], true, "{batch}");
		assert_eq!(batch["messages"].as_array().map(Vec::len), Some(*count as usize), "{batch}");
		let proof = w3b_e2e_tests::wait_for("all four votes on a log batch", TIMEOUT, || {
			let proof = rpc.call("w3b_getProof", json!([CHAINWATCH, seq]))?;
			Ok((proof["agreed"] == 4).then_some(proof))
		})?;
		assert_eq!(proof["status"], "Finalized", "{proof}");
	}
	let honest: HashSet<H256> = observed
		.iter()
		.filter(|(who, _)| *who == Alice.to_account_id())
		.map(|(_, hash)| *hash)
		.collect();
	let dave: Vec<H256> =
		observed.iter().filter(|(who, _)| *who == Dave.to_account_id()).map(|(_, h)| *h).collect();
	let outvoted = dave.iter().filter(|hash| !honest.contains(hash)).count();
	println!(
		"[worker_network] 3 logs reached the applet in {} batches made on chain, run by all four operators; {outvoted} of Dave's {} recorded observations differed from Alice's",
		log_batches.len(),
		dave.len()
	);
	Ok(())
}
