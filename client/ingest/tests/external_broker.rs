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
