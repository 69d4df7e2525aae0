//! The node killed with SIGKILL while devices publish over MQTT: after it is gone, every
//! message it acknowledged (PUBACK) is in its message store exactly once, and after a
//! restart it serves again and refuses replays of what it stored.

use std::{
	collections::{HashMap, HashSet},
	time::{Duration, Instant},
};

use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::Alice;
use w3b_e2e_tests::{
	active_project_with_device, dev_node_key, free_port, signed_message, Node, NodeConfig,
};
use w3b_storage::{EmbeddedStore, MessageStore};

const STEP: Duration = Duration::from_secs(60);

fn config(mqtt: u16) -> NodeConfig {
	NodeConfig {
		identity: "alice",
		chain: "dev".into(),
		node_key: dev_node_key(1),
		bootnodes: vec![],
		extra_args: vec![
			"--w3b-mqtt-port".into(),
			mqtt.to_string(),
			"--w3b-device-rate".into(),
			"1000000".into(),
			// Nothing sealed: every stored message stays in the pending list, where the
			// test counts them.
			"--w3b-worker=false".into(),
		],
	}
}

#[test]
fn acknowledged_messages_survive_sigkill() {
	let dir = w3b_e2e_tests::test_dir();
	let mqtt = free_port();
	let mut node = Node::start(config(mqtt), dir.path()).expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let device = ed25519::Pair::from_seed(&[7; 32]);
	active_project_with_device(&node.rpc(), "sensors", Alice, &device, STEP);

	// One device publishing as fast as the node acknowledges, 100 in flight.
	let mut options = MqttOptions::new("crash-device", "127.0.0.1", mqtt);
	options.set_inflight(100).set_keep_alive(Duration::from_secs(30));
	let (client, mut connection) = Client::new(options, 200);
	// Refusals are acknowledged too, after a report here (none expected).
	client.subscribe("w3b/errors/crash-device", QoS::AtMostOnce).unwrap();
	let bodies: Vec<(u64, String)> = (1..=20_000u64)
		.map(|seq| (seq, signed_message(&device, 0, seq, &seq.to_le_bytes())))
		.collect();
	let publisher = std::thread::spawn(move || {
		for (_, body) in bodies {
			if client.publish("w3b/projects/0/events", QoS::AtLeastOnce, false, body).is_err() {
				break;
			}
		}
	});
	// pkid -> seq of what is in flight; seqs acknowledged.
	let mut in_flight: HashMap<u16, u64> = HashMap::new();
	let mut next_seq = 1u64;
	let mut acked: HashSet<u64> = HashSet::new();
	let mut refused: HashSet<u16> = HashSet::new();
	let mut refusals = 0usize;
	let started = Instant::now();
	let mut killed = false;
	for event in connection.iter() {
		match event {
			Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
				in_flight.insert(pkid, next_seq);
				next_seq += 1;
			}
			Ok(Event::Incoming(Packet::Publish(p))) => {
				let error: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
				println!("refused: {error}");
				refused.insert(error["pkid"].as_u64().unwrap() as u16);
			}
			Ok(Event::Incoming(Packet::PubAck(ack))) => {
				if let Some(seq) = in_flight.remove(&ack.pkid) {
					if refused.remove(&ack.pkid) {
						refusals += 1;
					} else {
						acked.insert(seq);
					}
				}
			}
			Ok(_) => {}
			Err(_) => break,
		}
		if !killed && (acked.len() >= 2_000 || started.elapsed() > Duration::from_secs(60)) {
			// Mid-stream: messages are in flight.
			node.kill();
			killed = true;
		}
	}
	drop(publisher);
	assert!(killed && acked.len() >= 100, "{} acknowledged before the kill", acked.len());

	let store = EmbeddedStore::open(&dir.path().join("alice/w3b/messages")).unwrap();
	let stored = store.pending(0).unwrap();
	let unique: HashSet<_> = stored.iter().collect();
	assert_eq!(unique.len(), stored.len(), "a message is stored twice");
	let stored_seqs: HashSet<u64> = stored
		.iter()
		.map(|h| store.get(h).unwrap().expect("indexed message readable").message.seq)
		.collect();
	let lost: Vec<&u64> = acked.iter().filter(|seq| !stored_seqs.contains(seq)).collect();
	assert!(lost.is_empty(), "{} acknowledged messages lost, e.g. {:?}", lost.len(), lost.first());
	println!(
		"[crash] {} acknowledged as stored ({refusals} refused), {} stored, none lost",
		acked.len(),
		stored.len()
	);
	let last = store
		.last_seq(0, w3b_primitives::DeviceKey::Ed25519(device.public().0).device_id())
		.unwrap()
		.unwrap();
	drop(store);

	// Restarted, the node refuses what it stored and takes what comes next.
	let mut node = Node::start(config(mqtt), dir.path()).expect("node restarts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let http_probe = |seq: u64| {
		let mut options = MqttOptions::new("after-restart", "127.0.0.1", mqtt);
		options.set_keep_alive(Duration::from_secs(30));
		let (client, mut connection) = Client::new(options, 10);
		client.subscribe("w3b/errors/after-restart", QoS::AtMostOnce).unwrap();
		client
			.publish(
				"w3b/projects/0/events",
				QoS::AtLeastOnce,
				false,
				signed_message(&device, 0, seq, b"after"),
			)
			.unwrap();
		let deadline = Instant::now() + Duration::from_secs(30);
		let mut error = None;
		for event in connection.iter() {
			match event {
				Ok(Event::Incoming(Packet::Publish(p))) => {
					error = Some(
						serde_json::from_slice::<serde_json::Value>(&p.payload).unwrap()["code"]
							.clone(),
					)
				}
				Ok(Event::Incoming(Packet::PubAck(_))) => break,
				_ => {}
			}
			assert!(Instant::now() < deadline, "no acknowledgement after the restart");
		}
		error
	};
	// The endpoint may need a moment after RPC is up.
	let mut replay = None;
	for _ in 0..20 {
		if std::net::TcpStream::connect(("127.0.0.1", mqtt)).is_ok() {
			replay = Some(http_probe(last));
			break;
		}
		std::thread::sleep(Duration::from_millis(250));
	}
	assert_eq!(replay.expect("MQTT endpoint back"), Some(serde_json::json!("stale_seq")));
	assert_eq!(http_probe(last + 1), None, "the next message is accepted");
	node.kill();
}
