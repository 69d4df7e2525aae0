//! Ingesting from an external MQTT broker (such as mosquitto) instead of the embedded
//! endpoint: the node subscribes to the ingestion topics with QoS 1 in a persistent
//! session and acknowledges each publish to the broker only after it is stored, so a
//! node that crashes gets the unacknowledged messages again from the broker.
//!
//! Devices are acknowledged by the broker itself; refusals are published to
//! `w3b/errors/{device id}` (the `device` of the message, `unknown` when it does not
//! parse). A message the node may take later (over the rate limit, storage failing) is
//! tried again for a few seconds, then left unacknowledged and the session reconnected,
//! so that the broker delivers it again: it is never acknowledged unstored.

use std::{sync::Arc, time::Duration};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;

use crate::{mqtt, now_ms, IngestError, Ingestor};

/// How often, and how far apart, a message refused for now is tried again before the
/// node leaves it to the broker to deliver again.
const RETRIES: u32 = 25;
const RETRY_AFTER: Duration = Duration::from_millis(200);

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
	// Acknowledgements not yet handed to the client. The event loop hands out what it
	// read before it takes requests, and only this task polls it: waiting here for room
	// in the request queue (a reconnection delivers a thousand messages at once) would
	// wait for ever.
	let mut unsent_acks: std::collections::VecDeque<rumqttc::Publish> = Default::default();
	loop {
		while let Some(publish) = unsent_acks.front() {
			if client.try_ack(publish).is_err() {
				break;
			}
			unsent_acks.pop_front();
		}
		match eventloop.poll().await {
			Ok(Event::Incoming(Packet::ConnAck(_))) => {
				// Acknowledgements of the previous connection mean nothing in this one:
				// the broker sends those messages again.
				unsent_acks.clear();
				for topic in ["w3b/projects/+/events", "+/push/+/+"] {
					if let Err(e) = client.try_subscribe(topic, QoS::AtLeastOnce) {
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
						ingest_retrying(&ingestor, project, message, signature).await
					}
					Err(e) => Err(e),
				};
				if result.as_ref().is_err_and(IngestError::is_transient) {
					// Not acknowledged: the broker delivers it again on the next session.
					tracing::warn!(target: "w3b::ingest", topic = %publish.topic, "a message could not be taken now: reconnecting to have it again");
					let _ = client.try_disconnect();
					continue;
				}
				if let Err(e) = result {
					let body =
						json!({"code": e.code(), "message": e.to_string(), "topic": publish.topic});
					let topic = format!("w3b/errors/{device}");
					let _ = client.try_publish(topic, QoS::AtMostOnce, false, body.to_string());
				}
				// Stored or refused for good: either way the broker may forget it. Only
				// the packet id and QoS make the acknowledgement: the body is not kept.
				let mut ack = publish;
				ack.payload = Default::default();
				ack.topic = String::new();
				unsent_acks.push_back(ack);
			}
			Ok(_) => {}
			Err(e) => {
				tracing::warn!(target: "w3b::ingest", error = %e, "external broker connection; retrying");
				tokio::time::sleep(Duration::from_secs(1)).await;
			}
		}
	}
}

/// Ingests one message, trying again a few times while it is refused for now.
async fn ingest_retrying(
	ingestor: &Arc<Ingestor>,
	project: u64,
	message: w3b_primitives::Message,
	signature: Vec<u8>,
) -> Result<(), IngestError> {
	let mut attempt = 0;
	loop {
		let (task, message, signature) = (ingestor.clone(), message.clone(), signature.clone());
		let result = tokio::task::spawn_blocking(move || {
			task.ingest(project, vec![(message, signature)], now_ms()).remove(0)
		})
		.await
		.unwrap_or_else(|e| {
			let error = IngestError::Storage(format!("ingestion failed: {e}"));
			ingestor.observe_refusal(error.code());
			Err(error)
		});
		attempt += 1;
		if !result.as_ref().is_err_and(IngestError::is_transient) || attempt >= RETRIES {
			return result.map(|_| ());
		}
		tokio::time::sleep(RETRY_AFTER).await;
	}
}
