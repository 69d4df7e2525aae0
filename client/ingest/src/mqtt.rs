//! The embedded MQTT endpoint (MQTT 3.1.1, packets encoded with rumqttc's codec).
//!
//! Devices publish signed messages (JSON or protobuf, see [`crate::wire`]) with QoS 1 to
//! `w3b/projects/{project}/events`, or W3bstream's `{project}/push/{token}/{event_type}`
//! (the project by id; the event type must match the message's). The PUBACK is sent
//! only once the message is durably stored. MQTT 3.1.1 has no negative acknowledgement:
//! a message refused for good is acknowledged too (so the device does not resend what
//! will never be accepted) and the refusal is published to `w3b/errors/{client id}` as
//! `{"code", "message", "pkid"}` for clients subscribed to it. A message the node may
//! take later (over the rate limit, the node behind on the project, storage failing) is not acknowledged, nor anything
//! after it, and the connection closes: a client with a persistent session
//! (`clean_session = false`) sends its unacknowledged messages again when it reconnects,
//! and a message stored before is then acknowledged as a duplicate. Publishes that
//! arrive together are checked and stored together (one fsync).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::BytesMut;
use rumqttc::mqttbytes::{
	v4::{ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode},
	QoS,
};
use serde_json::json;
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpListener, TcpStream},
};

pub use crate::connections::ConnectionLimits;
use crate::{connections::Open, now_ms, wire, IngestError, Ingestor, BYTES_PER_CHARGE};

/// Messages of one project to ingest together: their outcome slots and the messages
/// (message, signature bytes).
type ProjectBatch = (u64, Vec<usize>, Vec<(w3b_primitives::Message, Vec<u8>)>);

/// Largest MQTT packet accepted.
pub const MAX_PACKET: usize = 256 << 10;

/// Longest a connection may stay silent: its keep-alive and a half (MQTT 3.1.1, 3.1.2.10),
/// at most this.
const MAX_IDLE: Duration = Duration::from_secs(600);

/// Longest client id accepted, in bytes: the id names the client's error topic, written
/// with every refusal reported to it.
pub const MAX_CLIENT_ID: usize = 256;

/// Error reports written to one client in a burst at most, in bytes, and per second
/// after it: a refusal costs the client a few bytes and the node a report of a hundred
/// or more, so past this refusals go unreported (they are still counted, and a device
/// that sends what it should gets few).
const ERROR_REPORT_BURST: f64 = (64 << 10) as f64;
const ERROR_REPORT_RATE: f64 = (16 << 10) as f64;

/// Longest a client may take to read what the node answers.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts MQTT connections on `listener` until the task is dropped, within `limits`
/// (connections over them are closed at once).
pub async fn serve(listener: TcpListener, ingestor: Arc<Ingestor>, limits: ConnectionLimits) {
	let open = Open::new();
	loop {
		let Ok((stream, peer)) = listener.accept().await else { continue };
		let Some(admitted) = open.admit(peer.ip(), &limits) else {
			tracing::debug!(target: "w3b::ingest", %peer, "MQTT connection refused: too many open");
			ingestor.observe_refusal("too_many_connections");
			continue;
		};
		let ingestor = ingestor.clone();
		let connect_timeout = limits.connect_timeout;
		tokio::spawn(async move {
			let _admitted = admitted;
			if let Err(e) = Connection::new(stream, peer, ingestor).run(connect_timeout).await {
				tracing::debug!(target: "w3b::ingest", %peer, error = %e, "MQTT connection closed");
			}
		});
	}
}

/// The project and event type a topic names (the event type only for W3bstream's form).
fn parse_topic(topic: &str) -> Option<(u64, Option<&str>)> {
	let parts: Vec<&str> = topic.split('/').collect();
	match parts.as_slice() {
		["w3b", "projects", project, "events"] => Some((project.parse().ok()?, None)),
		[project, "push", _token, event_type] => Some((project.parse().ok()?, Some(event_type))),
		_ => None,
	}
}

/// A message, its signature bytes and the project its topic names.
pub(crate) type Decoded = (u64, w3b_primitives::Message, Vec<u8>);

/// Decodes a publish on one of the ingestion topics.
pub(crate) fn decode(topic: &str, payload: &[u8]) -> Result<Decoded, IngestError> {
	let (project, event_type) = parse_topic(topic)
		.ok_or_else(|| IngestError::Malformed(format!("unknown topic `{topic}`")))?;
	let (message, signature) = wire::parse_one(payload)?;
	match event_type {
		Some(ty) if ty.as_bytes() != message.event_type.as_slice() => {
			Err(IngestError::Malformed("the topic's event type differs from the message's".into()))
		}
		_ => Ok((project, message, signature)),
	}
}

struct Connection {
	stream: TcpStream,
	peer: SocketAddr,
	ingestor: Arc<Ingestor>,
	client_id: String,
	errors_subscribed: bool,
	out: BytesMut,
	/// Bytes of error reports the client may be sent now, and when that was reckoned.
	report_allowance: (f64, std::time::Instant),
}

impl Connection {
	fn new(stream: TcpStream, peer: SocketAddr, ingestor: Arc<Ingestor>) -> Self {
		Connection {
			stream,
			peer,
			ingestor,
			client_id: String::new(),
			errors_subscribed: false,
			out: BytesMut::new(),
			report_allowance: (ERROR_REPORT_BURST, std::time::Instant::now()),
		}
	}

	/// Serves the connection; it has `connect_timeout` to send its whole CONNECT, then
	/// its keep-alive and a half between whole packets.
	async fn run(mut self, connect_timeout: Duration) -> std::io::Result<()> {
		// Grows with what the client sends: nothing is set aside before it sends.
		let mut buffer = BytesMut::new();
		let mut connected = false;
		let mut idle = connect_timeout;
		// Counted from whole packets, not bytes: a client that sends a packet a byte at a
		// time is closed all the same.
		let mut last_packet = tokio::time::Instant::now();
		loop {
			// Every complete packet in the buffer, publishes gathered into one batch.
			let mut publishes = Vec::new();
			loop {
				let packet = Packet::read(&mut buffer, MAX_PACKET);
				if packet.is_ok() {
					last_packet = tokio::time::Instant::now();
				}
				match packet {
					Ok(Packet::Connect(connect)) => {
						if connect.client_id.len() > MAX_CLIENT_ID {
							ConnAck::new(ConnectReturnCode::BadClientId, false)
								.write(&mut self.out)
								.ok();
							self.flush().await?;
							return Ok(());
						}
						self.client_id = connect.client_id;
						connected = true;
						idle = match connect.keep_alive {
							0 => MAX_IDLE,
							seconds => (Duration::from_secs(seconds.into()) * 3 / 2).min(MAX_IDLE),
						};
						// The server side of a device's session holds nothing but its error
						// subscription: a persistent session is resumed, so that the client
						// sends what was not acknowledged again (a client told its session
						// is new drops it).
						let resumed = !connect.clean_session;
						ConnAck::new(ConnectReturnCode::Success, resumed).write(&mut self.out).ok();
					}
					Ok(_) if !connected => return Ok(()),
					Ok(Packet::Publish(publish)) => publishes.push(publish),
					Ok(Packet::Subscribe(subscribe)) => {
						let codes = subscribe
							.filters
							.iter()
							.map(|f| {
								if f.path.starts_with("w3b/errors/") {
									self.errors_subscribed = true;
									SubscribeReasonCode::Success(QoS::AtMostOnce)
								} else {
									SubscribeReasonCode::Failure
								}
							})
							.collect();
						SubAck::new(subscribe.pkid, codes).write(&mut self.out).ok();
					}
					Ok(Packet::PingReq) => {
						rumqttc::mqttbytes::v4::PingResp.write(&mut self.out).ok();
					}
					Ok(Packet::Disconnect) => {
						self.flush().await?;
						return Ok(());
					}
					Ok(_) => {}
					Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => break,
					Err(e) => {
						tracing::debug!(target: "w3b::ingest", error = %e, "bad MQTT packet");
						self.flush().await?;
						return Ok(());
					}
				}
			}
			let retry = !publishes.is_empty() && self.handle_publishes(publishes).await;
			self.flush().await?;
			if retry {
				tracing::debug!(target: "w3b::ingest", client = %self.client_id, "closing: messages to send again");
				return Ok(());
			}
			buffer.reserve(4 << 10);
			let read =
				tokio::time::timeout_at(last_packet + idle, self.stream.read_buf(&mut buffer))
					.await
					.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
			if read == 0 {
				return Ok(());
			}
		}
	}

	async fn flush(&mut self) -> std::io::Result<()> {
		if !self.out.is_empty() {
			let out = self.out.split();
			// A client that stops reading does not hold its place for ever.
			tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&out))
				.await
				.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "not reading"))??;
		}
		Ok(())
	}

	/// Whether a report of `bytes` may be written to the client now (and takes them from
	/// its allowance if so).
	fn may_report(&mut self, bytes: usize) -> bool {
		let (allowance, reckoned) = &mut self.report_allowance;
		let now = std::time::Instant::now();
		*allowance = (*allowance + now.duration_since(*reckoned).as_secs_f64() * ERROR_REPORT_RATE)
			.min(ERROR_REPORT_BURST);
		*reckoned = now;
		if *allowance < bytes as f64 {
			return false;
		}
		*allowance -= bytes as f64;
		true
	}

	/// Ingests `publishes` and writes their acknowledgements. Returns true when one was
	/// refused for now: it and the ones after it are not acknowledged, and the client
	/// must send them again.
	async fn handle_publishes(&mut self, mut publishes: Vec<Publish>) -> bool {
		// (pkid, qos, result slot or an early refusal), then the messages to ingest per
		// project, in order.
		let mut outcomes: Vec<(u16, QoS, Option<IngestError>)> = Vec::new();
		let mut batches: Vec<ProjectBatch> = Vec::new();
		let sender = self.peer.ip();
		// The first publish to a project the node is behind on, and the ones after it, are
		// refused for now before the sender pays (a device sending again while the node
		// catches up must not use up its budget on refusals); the ones before it, to
		// projects the node keeps up with, are taken and acknowledged.
		let first_behind = publishes.iter().position(|publish| {
			parse_topic(&publish.topic).is_some_and(|(project, _)| self.ingestor.is_behind(project))
		});
		let behind = first_behind.is_some();
		if let Some(first) = first_behind {
			for _ in publishes.split_off(first) {
				self.ingestor.observe_refusal(IngestError::Backlogged.code());
			}
			tracing::debug!(target: "w3b::ingest", client = %self.client_id, "the node is behind on a project published to: closing, to come back later");
			if publishes.is_empty() {
				return true;
			}
		}
		// Every publish costs its sender before it is decoded, as a message or by its
		// size, whichever is more (see `BYTES_PER_CHARGE`): junk is paid for like messages.
		let units: usize =
			publishes.iter().map(|p| p.payload.len().div_ceil(BYTES_PER_CHARGE).max(1)).sum();
		if !self.ingestor.charge_sender(sender, units, now_ms()) {
			let refusal = IngestError::RateLimited("sender");
			for _ in &publishes {
				self.ingestor.observe_refusal(refusal.code());
			}
			tracing::debug!(target: "w3b::ingest", client = %self.client_id, "over its sender's rate: closing, to come back later");
			return true;
		}
		for publish in publishes {
			let slot = outcomes.len();
			let decoded = if publish.qos == QoS::ExactlyOnce {
				Err(IngestError::Malformed("QoS 2 is not supported; use QoS 1".into()))
			} else {
				decode(&publish.topic, &publish.payload)
			};
			match decoded {
				Ok((project, message, signature)) => {
					outcomes.push((publish.pkid, publish.qos, None));
					match batches.iter_mut().find(|(p, _, _)| *p == project) {
						Some((_, slots, messages)) => {
							slots.push(slot);
							messages.push((message, signature));
						}
						None => batches.push((project, vec![slot], vec![(message, signature)])),
					}
				}
				Err(e) => {
					self.ingestor.observe_refusal(e.code());
					outcomes.push((publish.pkid, publish.qos, Some(e)));
				}
			}
		}
		let ingestor = self.ingestor.clone();
		let observer = self.ingestor.clone();
		let sent: Vec<usize> = batches.iter().flat_map(|(_, slots, _)| slots.clone()).collect();
		let results = tokio::task::spawn_blocking(move || {
			let now = now_ms();
			batches
				.into_iter()
				.flat_map(|(project, slots, messages)| {
					let paid = messages.len();
					slots
						.into_iter()
						.zip(ingestor.ingest_prepaid(sender, paid, project, messages, now))
				})
				.collect::<Vec<_>>()
		})
		.await
		// The ingestion failed as a whole (it panicked): nothing it had is known stored.
		.unwrap_or_else(|e| {
			tracing::error!(target: "w3b::ingest", error = %e, "MQTT ingestion failed");
			let failed = || {
				let error = IngestError::Storage(format!("ingestion failed: {e}"));
				observer.observe_refusal(error.code());
				Err(error)
			};
			sent.into_iter().map(|slot| (slot, failed())).collect()
		});
		for (slot, result) in results {
			if let Err(e) = result {
				outcomes[slot].2 = Some(e);
			}
		}
		for (pkid, qos, refusal) in outcomes {
			if refusal.as_ref().is_some_and(IngestError::is_transient) {
				// PUBACKs go in the order of the publishes: none from here on.
				return true;
			}
			if let Some(e) = refusal {
				tracing::debug!(target: "w3b::ingest", client = %self.client_id, code = e.code(), "refused over MQTT");
				if self.errors_subscribed {
					let body = json!({"code": e.code(), "message": e.to_string(), "pkid": pkid});
					let topic = format!("w3b/errors/{}", self.client_id);
					let report = Publish::new(topic, QoS::AtMostOnce, body.to_string());
					if self.may_report(report.size()) {
						report.write(&mut self.out).ok();
					}
				}
			}
			if qos == QoS::AtLeastOnce {
				PubAck::new(pkid).write(&mut self.out).ok();
			}
		}
		behind
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn topics() {
		assert_eq!(parse_topic("w3b/projects/7/events"), Some((7, None)));
		assert_eq!(parse_topic("7/push/tok/TEMP"), Some((7, Some("TEMP"))));
		assert_eq!(parse_topic("w3b/projects/x/events"), None);
		assert_eq!(parse_topic("other"), None);
		assert_eq!(parse_topic("a/b/c/d/e"), None);
	}
}
