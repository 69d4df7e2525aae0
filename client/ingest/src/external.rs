//! Ingesting from an external MQTT broker (such as mosquitto) instead of the embedded
//! endpoint: the node subscribes to the ingestion topics with QoS 1 in a persistent
//! session and acknowledges each publish to the broker only after it is stored, so a
//! node that crashes gets the unacknowledged messages again from the broker.
//!
//! Devices are acknowledged by the broker itself; refusals are published to
//! `w3b/errors/{device id}` (the `device` of the message, `unknown` when it does not
//! parse).

use std::{sync::Arc, time::Duration};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;

use crate::{mqtt, now_ms, Ingestor};

/// Where the external broker is.
#[derive(Debug, Clone)]
pub struct ExternalBroker {
	/// Host name or address.
	pub host: String,
	/// Port.
	pub port: u16,
	/// Client id of this node (its persistent session).
	pub client_id: String,
}

/// Subscribes to `broker` and ingests what it delivers, until the task is dropped.
/// Reconnects after errors.
pub async fn run(broker: ExternalBroker, ingestor: Arc<Ingestor>) {
	let mut options = MqttOptions::new(&broker.client_id, &broker.host, broker.port);
	options.set_clean_session(false).set_manual_acks(true).set_keep_alive(Duration::from_secs(30));
	options.set_max_packet_size(mqtt::MAX_PACKET, mqtt::MAX_PACKET);
	let (client, mut eventloop) = AsyncClient::new(options, 1024);
	loop {
		match eventloop.poll().await {
			Ok(Event::Incoming(Packet::ConnAck(_))) => {
				for topic in ["w3b/projects/+/events", "+/push/+/+"] {
					if let Err(e) = client.subscribe(topic, QoS::AtLeastOnce).await {
						tracing::warn!(target: "w3b::ingest", error = %e, "subscribing to the external broker");
					}
				}
			}
			Ok(Event::Incoming(Packet::Publish(publish))) => {
				let decoded = mqtt::decode(&publish.topic, &publish.payload);
				let device = decoded
					.as_ref()
					.map(|(_, m, _)| format!("{:?}", m.device))
					.unwrap_or_else(|_| "unknown".into());
				let result = match decoded {
					Ok((project, message, signature)) => {
						let ingestor = ingestor.clone();
						tokio::task::spawn_blocking(move || {
							ingestor.ingest(project, vec![(message, signature)], now_ms()).remove(0)
						})
						.await
						.unwrap_or_else(|e| Err(crate::IngestError::Storage(e.to_string())))
					}
					Err(e) => Err(e),
				};
				if let Err(e) = result {
					let body =
						json!({"code": e.code(), "message": e.to_string(), "topic": publish.topic});
					let topic = format!("w3b/errors/{device}");
					let _ = client.try_publish(topic, QoS::AtMostOnce, false, body.to_string());
				}
				// Stored or refused for good: either way the broker may forget it.
				if let Err(e) = client.ack(&publish).await {
					tracing::warn!(target: "w3b::ingest", error = %e, "acknowledging to the external broker");
				}
			}
			Ok(_) => {}
			Err(e) => {
				tracing::warn!(target: "w3b::ingest", error = %e, "external broker connection; retrying");
				tokio::time::sleep(Duration::from_secs(1)).await;
			}
		}
	}
}
