//! Ingesting through an external broker: Debian's mosquitto, started by the test.

mod common;

use std::{sync::Arc, time::Duration};

use common::{fixture, Mosquitto};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use w3b_ingest::{
	external::{self, ExternalBroker},
	ChainView, Ingestor, Limits,
};
use w3b_storage::{EmbeddedStore, MessageStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_through_mosquitto_are_checked_and_stored() {
	let broker = Mosquitto::start();
	let dir = tempfile::tempdir().unwrap();
	let (chain, devices) = fixture();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let ingestor =
		Arc::new(Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, Limits::default()));
	let node = tokio::spawn(external::run(
		ExternalBroker {
			host: "127.0.0.1".into(),
			port: broker.port,
			client_id: "w3b-node-test".into(),
		},
		ingestor,
	));

	let (client, mut eventloop) =
		AsyncClient::new(MqttOptions::new("device", "127.0.0.1", broker.port), 100);
	let device_id = format!("{:?}", devices[1].key().device_id());
	client.subscribe(format!("w3b/errors/{device_id}"), QoS::AtMostOnce).await.unwrap();
	client.subscribe("w3b/errors/unknown", QoS::AtMostOnce).await.unwrap();
	let (errors_tx, mut errors) = tokio::sync::mpsc::unbounded_channel::<Value>();
	tokio::spawn(async move {
		while let Ok(event) = eventloop.poll().await {
			if let Event::Incoming(Packet::Publish(p)) = event {
				let _ = errors_tx.send(serde_json::from_slice(&p.payload).unwrap());
			}
		}
	});
	// Probe until the node is subscribed: it refuses the probe on w3b/errors/unknown.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
	loop {
		client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, "probe").await.unwrap();
		match tokio::time::timeout(Duration::from_millis(500), errors.recv()).await {
			Ok(Some(error)) => {
				assert_eq!(error["code"], "malformed");
				break;
			}
			_ => assert!(tokio::time::Instant::now() < deadline, "the node never subscribed"),
		}
	}
	let mut forged = devices[1].message(1, 2, b"x");
	forged["payload"] = Value::from("0xff");
	for body in [
		devices[0].message(1, 1, b"via mosquitto").to_string(),
		devices[1].message(1, 1, b"good").to_string(),
		forged.to_string(),
	] {
		client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap();
	}
	// Skip leftover probe refusals; the forged message's comes on the device's topic.
	let refusal = loop {
		let error =
			tokio::time::timeout_at(deadline, errors.recv()).await.expect("a refusal").unwrap();
		if error["code"] != "malformed" {
			break error;
		}
	};
	assert_eq!(refusal["code"], "bad_signature");
	while store.pending(1).unwrap().len() < 2 {
		assert!(tokio::time::Instant::now() < deadline, "messages not stored");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	assert_eq!(store.pending(1).unwrap().len(), 2);
	node.abort();
}

/// What the broker delivers while the node is down, or over a device's rate, reaches the
/// store: the node's persistent session gets it after a restart, and a message refused
/// for now is not acknowledged to the broker (which would drop it) but taken later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_broker_delivers_is_lost_to_a_restart_or_the_rate_limit() {
	let broker = Mosquitto::start();
	let dir = tempfile::tempdir().unwrap();
	let (chain, devices) = fixture();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let limits = Limits {
		device_rate: w3b_ingest::rate::Rate { per_second: 2.0, burst: 1.0 },
		..Limits::default()
	};
	let ingestor = Arc::new(Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, limits));
	let session = ExternalBroker {
		host: "127.0.0.1".into(),
		port: broker.port,
		client_id: "w3b-node-restarts".into(),
	};
	let node = tokio::spawn(external::run(session.clone(), ingestor.clone()));
	let mut options = MqttOptions::new("device", "127.0.0.1", broker.port);
	options.set_clean_session(false);
	let (client, mut eventloop) = AsyncClient::new(options, 100);
	tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
	let publish = |seq: u64| {
		let body = devices[0].message(1, seq, format!("reading {seq}").as_bytes()).to_string();
		let client = client.clone();
		async move {
			client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap()
		}
	};
	let stored = |count: usize| {
		let store = store.clone();
		async move {
			let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
			while store.pending(1).unwrap().len() < count {
				assert!(
					tokio::time::Instant::now() < deadline,
					"{} of {count} stored",
					store.pending(1).unwrap().len()
				);
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
		}
	};
	// The node subscribed once the first message is through (copies sent before that are
	// refused as duplicates).
	let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
	while store.pending(1).unwrap().is_empty() {
		assert!(tokio::time::Instant::now() < deadline, "the node never subscribed");
		publish(1).await;
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	// Past the refusals of those copies, the device's rate is back.
	tokio::time::sleep(Duration::from_secs(1)).await;
	// Four at once from one device: three are over its rate of one at a time.
	for seq in 2..=5 {
		publish(seq).await;
	}
	stored(5).await;
	// The node stops; the broker keeps its session's messages until it is back.
	node.abort();
	let _ = node.await;
	for seq in 6..=7 {
		publish(seq).await;
	}
	tokio::time::sleep(Duration::from_millis(500)).await;
	assert_eq!(store.pending(1).unwrap().len(), 5, "nothing reached a stopped node");
	let node = tokio::spawn(external::run(session, ingestor));
	stored(7).await;
	assert_eq!(store.pending(1).unwrap().len(), 7, "each message stored once");
	node.abort();
}
