//! A node ingesting from an external broker (Debian's mosquitto) is SIGKILLed while a
//! device publishes, and stays down while the device goes on: mosquitto keeps the
//! node's persistent session, and after a restart (same client id, kept under the base
//! path) the node takes everything it had not acknowledged. Every message the device
//! published ends up in the node's store exactly once.

#[path = "../../client/ingest/tests/common/mod.rs"]
mod ingest_common;

use std::{
	collections::HashSet,
	time::{Duration, Instant},
};

use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::Alice;
use w3b_e2e_tests::{
	active_project_with_device, dev_node_key, metric, signed_message, Node, NodeConfig,
};
use w3b_storage::{EmbeddedStore, MessageStore};

const STEP: Duration = Duration::from_secs(60);
const MESSAGES: u64 = 3_000;

/// Publishes `seqs` of `device` to the broker with QoS 1 and waits for the broker's
/// acknowledgements (the broker's, not the node's).
fn publish(broker: u16, device: &ed25519::Pair, seqs: std::ops::RangeInclusive<u64>) {
	let mut options = MqttOptions::new(format!("device-{}", seqs.start()), "127.0.0.1", broker);
	options.set_inflight(100).set_keep_alive(Duration::from_secs(30));
	let (client, mut connection) = Client::new(options, 200);
	let count = seqs.clone().count();
	let bodies: Vec<String> =
		seqs.map(|seq| signed_message(device, 0, seq, &seq.to_le_bytes())).collect();
	let publisher = std::thread::spawn(move || {
		for body in bodies {
			client.publish("w3b/projects/0/events", QoS::AtLeastOnce, false, body).unwrap();
		}
		client
	});
	let (mut sent, mut acked) = (0, 0);
	let deadline = Instant::now() + STEP;
	for event in connection.iter() {
		match event {
			Ok(Event::Outgoing(Outgoing::Publish(_))) => sent += 1,
			Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
			Ok(_) => {}
			Err(e) => panic!("the broker: {e}"),
		}
		if acked == count || Instant::now() > deadline {
			break;
		}
	}
	assert_eq!((sent, acked), (count, count), "the broker took every message");
	drop(publisher.join());
}

/// Messages the node stored and refused as duplicates since it started.
fn taken(node: &Node) -> f64 {
	metric(node.prometheus_port, "w3b_messages_ingested_total", &[])
		+ metric(node.prometheus_port, "w3b_messages_rejected_total", &["reason=\"duplicate\""])
}

#[test]
fn a_node_killed_while_the_broker_holds_its_messages_loses_none() {
	let broker = ingest_common::Mosquitto::start();
	let dir = w3b_e2e_tests::test_dir();
	let config = NodeConfig {
		identity: "alice",
		chain: "dev".into(),
		node_key: dev_node_key(1),
		bootnodes: vec![],
		extra_args: vec![
			"--w3b-mqtt-broker".into(),
			format!("127.0.0.1:{}", broker.port),
			"--w3b-device-rate".into(),
			"1000000".into(),
			// Nothing sealed: every stored message stays in the pending list, where the
			// test counts them.
			"--w3b-worker=false".into(),
		],
	};
	let mut node = Node::start(config, dir.path()).expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let device = ed25519::Pair::from_seed(&[8; 32]);
	active_project_with_device(&node.rpc(), "sensors", Alice, &device, STEP);
	// The device is known at the finalized block once a message is stored.
	w3b_e2e_tests::wait_for("the first message to be stored", STEP, || {
		publish(broker.port, &device, 1..=1);
		std::thread::sleep(Duration::from_secs(1));
		Ok((taken(&node) >= 1.0).then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", node.log_tail(30)));

	// Half the messages while the node runs, killed in the middle of taking them; the
	// other half while it is down.
	publish(broker.port, &device, 2..=MESSAGES / 2);
	node.kill();
	publish(broker.port, &device, MESSAGES / 2 + 1..=MESSAGES);

	node.restart().expect("node restarts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready again");
	// Until messages came and then nothing new for a while (the broker delivered what it
	// held).
	let mut last = (0.0, Instant::now());
	let deadline = Instant::now() + STEP;
	while (last.0 == 0.0 || last.1.elapsed() < Duration::from_secs(5)) && Instant::now() < deadline
	{
		let now = taken(&node);
		if now != last.0 {
			last = (now, Instant::now());
		}
		std::thread::sleep(Duration::from_millis(250));
	}
	let refused: Vec<(&str, f64)> = ["duplicate", "stale_seq", "unknown_device", "rate_limited"]
		.into_iter()
		.map(|reason| {
			let label = format!("reason=\"{reason}\"");
			(reason, metric(node.prometheus_port, "w3b_messages_rejected_total", &[&label]))
		})
		.collect();
	println!("[broker_crash] after the restart: {} taken, refused {refused:?}", taken(&node));
	// What the broker delivered again had been stored: duplicates, never replays.
	assert!(refused.iter().all(|(reason, count)| *reason == "duplicate" || *count == 0.0));
	node.kill();

	let store = EmbeddedStore::open(&dir.path().join("alice/w3b/messages")).unwrap();
	let stored = store.pending(0).unwrap();
	let seqs: HashSet<u64> = stored
		.iter()
		.map(|h| store.get(h).unwrap().expect("indexed message readable").message.seq)
		.collect();
	assert_eq!(seqs.len(), stored.len(), "a message is stored twice");
	let missing: Vec<u64> = (1..=MESSAGES).filter(|seq| !seqs.contains(seq)).collect();
	assert!(missing.is_empty(), "{} messages lost, e.g. {:?}", missing.len(), missing.first());
	println!("[broker_crash] {MESSAGES} published, {} stored once each, none lost", stored.len());
}
