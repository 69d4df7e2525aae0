//! Ingestion: where device data enters the network. Every message is checked — its
//! project active, its device registered and not revoked, its signature (by the key
//! registered on chain, over [`Message::hash`]), its size, its clock, its device's rate
//! and its `seq` (strictly increasing per device, checked atomically with the store) —
//! and stored durably before it is acknowledged. A refused message touches nothing.
//!
//! Ed25519 signatures are verified in batches (each request's: a connection's burst or
//! an HTTP body); sr25519 and secp256k1 ones (recovered from the signature) one by one.
//! The endpoints: HTTP in [`http`], MQTT in [`mqtt`], or an external MQTT broker in
//! [`external`].

#![deny(missing_docs)]

pub mod backlog;
mod chain;
pub mod connections;
mod error;
pub mod external;
pub mod http;
pub mod mqtt;
pub mod rate;
pub mod wire;

use std::{
	net::IpAddr,
	sync::Arc,
	time::{Duration, SystemTime, UNIX_EPOCH},
};

use sp_core::H256;
use w3b_primitives::{
	project::DeviceStatus, DeviceKey, DeviceSignature, Message, ProjectId, ProjectStatus,
};
use w3b_storage::{MessageStore, Rejection, StoredMessage};

pub use chain::{ChainView, MemoryChain};
pub use error::{ErrorBody, IngestError};
use rate::{Buckets, Rate};

/// Bytes of a request body worth one message of its sender's budget: a body is charged
/// for the larger of its messages and its size in these units, before it is parsed (an
/// honest message is a few hundred bytes; 4 MiB of junk costs 1,024).
pub const BYTES_PER_CHARGE: usize = 4096;

/// Limits on what devices send.
#[derive(Debug, Clone)]
pub struct Limits {
	/// Largest payload, in bytes.
	pub max_payload: usize,
	/// Largest distance between a message's timestamp and the node's clock.
	pub max_skew_ms: u64,
	/// Per device.
	pub device_rate: Rate,
	/// Per project.
	pub project_rate: Rate,
	/// Per sender address, counted before any check: what one address can make the node
	/// verify and look up, valid or not.
	pub sender_rate: Rate,
}

impl Default for Limits {
	/// 64 KiB payloads, 4 minutes of skew, 100 messages/s per device (bursts of 200),
	/// 10,000 per project (bursts of 20,000), 10,000 per sender address (bursts of
	/// 20,000: a gateway publishing for a whole project).
	fn default() -> Self {
		Limits {
			max_payload: w3b_primitives::validity::MAX_PAYLOAD,
			// A minute inside the window the chain judges by at commitment time, so the
			// node's clock running a little ahead of the block's never makes a message
			// it acknowledged not count.
			max_skew_ms: w3b_primitives::validity::MAX_AHEAD_MS - 60_000,
			device_rate: Rate { per_second: 100.0, burst: 200.0 },
			project_rate: Rate { per_second: 10_000.0, burst: 20_000.0 },
			sender_rate: Rate { per_second: 10_000.0, burst: 20_000.0 },
		}
	}
}

/// Told the outcome of every message the [`Ingestor`] checks (metrics).
pub trait IngestObserver: Send + Sync {
	/// `count` messages were stored.
	fn stored(&self, count: usize);
	/// A message was refused, for the reason with this [`IngestError::code`].
	fn refused(&self, code: &'static str);
}

/// Checks and stores messages.
pub struct Ingestor {
	store: Arc<dyn MessageStore>,
	chain: Arc<dyn ChainView>,
	limits: Limits,
	devices: Buckets<(ProjectId, H256)>,
	projects: Buckets<ProjectId>,
	senders: Buckets<IpAddr>,
	observer: Option<Arc<dyn IngestObserver>>,
	backlog: Option<Arc<backlog::Backlog>>,
}

/// A message that passed every check but the signature and the store.
struct Candidate {
	index: usize,
	message: Message,
	key: DeviceKey,
	signature: DeviceSignature,
	/// For a device registered by DID whose key changed in a block not final yet: the new
	/// key and the signature read for it.
	pending: Option<(DeviceKey, DeviceSignature)>,
}

/// Whether `message` is signed by the device's key-to-be (`pending`): then it is refused
/// for now, not for good.
fn signed_by_pending_key(
	pending: &Option<(DeviceKey, DeviceSignature)>,
	message: &Message,
) -> bool {
	pending.as_ref().is_some_and(|(key, signature)| key.verify(&message.hash(), signature))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Ingestor {
	/// An ingestor storing into `store`, checking against `chain`.
	pub fn new(store: Arc<dyn MessageStore>, chain: Arc<dyn ChainView>, limits: Limits) -> Self {
		Ingestor {
			devices: Buckets::new(limits.device_rate),
			projects: Buckets::new(limits.project_rate),
			senders: Buckets::new(limits.sender_rate),
			store,
			chain,
			limits,
			observer: None,
			backlog: None,
		}
	}

	/// Refuses new messages for now ([`IngestError::Backlogged`]) while `backlog` says the
	/// node runs behind.
	pub fn with_backlog(mut self, backlog: Arc<backlog::Backlog>) -> Self {
		self.backlog = Some(backlog);
		self
	}

	/// Whether `project`'s new messages are refused for now: the node runs behind on its
	/// work for it.
	pub fn is_behind(&self, project: ProjectId) -> bool {
		self.backlog.as_ref().is_some_and(|backlog| backlog.is_behind(project))
	}

	/// How long a device refused for now because the node is behind should wait before
	/// it sends again.
	pub fn retry_after(&self) -> Duration {
		self.backlog.as_ref().map_or(Duration::from_secs(1), |backlog| backlog.retry_after())
	}

	/// Refuses all of `messages` for now as [`IngestError::Backlogged`] when the node is
	/// behind on `project`.
	fn refuse_if_behind(
		&self,
		project: ProjectId,
		messages: &[(Message, Vec<u8>)],
	) -> Option<Vec<Result<H256, IngestError>>> {
		if !self.is_behind(project) {
			return None;
		}
		let results: Vec<_> = messages.iter().map(|_| Err(IngestError::Backlogged)).collect();
		self.observe(&results);
		Some(results)
	}

	/// Reports every outcome to `observer`.
	pub fn with_observer(mut self, observer: Arc<dyn IngestObserver>) -> Self {
		self.observer = Some(observer);
		self
	}

	/// Tells the observer how `results` went.
	fn observe(&self, results: &[Result<H256, IngestError>]) {
		let Some(observer) = &self.observer else { return };
		observer.stored(results.iter().filter(|r| r.is_ok()).count());
		for error in results.iter().filter_map(|r| r.as_ref().err()) {
			observer.refused(error.code());
		}
	}

	/// Tells the observer of a message an endpoint refused before [`Ingestor::ingest`]
	/// saw it (it did not decode, or its request was refused whole), for the reason with
	/// this [`IngestError::code`].
	pub fn observe_refusal(&self, code: &'static str) {
		if let Some(observer) = &self.observer {
			observer.refused(code);
		}
	}

	/// The store messages go to.
	pub fn store(&self) -> &Arc<dyn MessageStore> {
		&self.store
	}

	/// [`Ingestor::ingest`] for messages from the network, charged to `sender` (its IPv4
	/// address or IPv6 /64, [`connections::sender_of`]) before
	/// anything is checked: past its rate, every message is refused for now
	/// ([`IngestError::RateLimited`], transient) without a signature verified or a device
	/// looked up.
	pub fn ingest_from(
		&self,
		sender: IpAddr,
		endpoint_project: ProjectId,
		messages: Vec<(Message, Vec<u8>)>,
		now_ms: u64,
	) -> Vec<Result<H256, IngestError>> {
		self.ingest_prepaid(sender, 0, endpoint_project, messages, now_ms)
	}

	/// Charges `sender` `units` of its budget before any work is done (a request body
	/// before it is parsed, see [`BYTES_PER_CHARGE`]); false, with nothing charged, past
	/// its rate.
	pub fn charge_sender(&self, sender: IpAddr, units: usize, now_ms: u64) -> bool {
		self.senders.take_many(connections::sender_of(sender), units, now_ms)
	}

	/// [`Ingestor::ingest_from`] for messages whose sender paid `prepaid` units already
	/// ([`Ingestor::charge_sender`]): only the messages beyond those are charged.
	pub fn ingest_prepaid(
		&self,
		sender: IpAddr,
		prepaid: usize,
		endpoint_project: ProjectId,
		messages: Vec<(Message, Vec<u8>)>,
		now_ms: u64,
	) -> Vec<Result<H256, IngestError>> {
		// Before the sender pays: a device sending again while the node catches up must
		// not use up its budget on refusals.
		if let Some(refused) = self.refuse_if_behind(endpoint_project, &messages) {
			return refused;
		}
		let due = messages.len().saturating_sub(prepaid);
		if due > 0 && !self.charge_sender(sender, due, now_ms) {
			let results: Vec<_> =
				messages.iter().map(|_| Err(IngestError::RateLimited("sender"))).collect();
			self.observe(&results);
			return results;
		}
		self.ingest(endpoint_project, messages, now_ms)
	}

	/// Checks and stores `messages` (message, signature bytes) sent to the endpoint of
	/// `endpoint_project` at `now_ms`. Answers per message, in order: the message hash
	/// once durably stored, or why it was refused. Charges no sender: for a trusted
	/// source (the node's own broker); see [`Ingestor::ingest_from`].
	pub fn ingest(
		&self,
		endpoint_project: ProjectId,
		messages: Vec<(Message, Vec<u8>)>,
		now_ms: u64,
	) -> Vec<Result<H256, IngestError>> {
		if let Some(refused) = self.refuse_if_behind(endpoint_project, &messages) {
			return refused;
		}
		let mut results: Vec<Result<H256, IngestError>> = (0..messages.len())
			.map(|_| Err(IngestError::Storage("not processed".into())))
			.collect();
		let mut candidates = Vec::new();
		for (index, (message, signature)) in messages.into_iter().enumerate() {
			match self.check(endpoint_project, message, &signature, now_ms) {
				Ok(candidate) => candidates.push(Candidate { index, ..candidate }),
				Err(e) => results[index] = Err(e),
			}
		}
		let verified = verify_signatures(&candidates);
		let mut to_store = Vec::new();
		let mut indices = Vec::new();
		for (candidate, ok) in candidates.into_iter().zip(verified) {
			if !ok {
				results[candidate.index] =
					Err(if signed_by_pending_key(&candidate.pending, &candidate.message) {
						IngestError::DeviceNotFinal
					} else {
						IngestError::BadSignature
					});
				continue;
			}
			// Rate limits count messages that would be stored, not garbage.
			let project = candidate.message.project;
			if !self.devices.take((project, candidate.message.device), now_ms) {
				results[candidate.index] = Err(IngestError::RateLimited("device"));
				continue;
			}
			if !self.projects.take(project, now_ms) {
				results[candidate.index] = Err(IngestError::RateLimited("project"));
				continue;
			}
			indices.push(candidate.index);
			to_store.push(StoredMessage {
				message: candidate.message,
				signature: candidate.signature,
				received_ms: now_ms,
			});
		}
		if to_store.is_empty() {
			self.observe(&results);
			return results;
		}
		match self.store.append(to_store) {
			Ok(stored) => {
				for (index, outcome) in indices.into_iter().zip(stored) {
					results[index] = outcome.map_err(|rejection| match rejection {
						Rejection::Duplicate(hash) => IngestError::Duplicate(format!("{hash:?}")),
						Rejection::StaleSeq { seq, last } => IngestError::StaleSeq { seq, last },
					});
				}
			}
			Err(e) => {
				for index in indices {
					results[index] = Err(IngestError::Storage(e.to_string()));
				}
			}
		}
		self.observe(&results);
		results
	}

	fn check(
		&self,
		endpoint_project: ProjectId,
		message: Message,
		signature: &[u8],
		now_ms: u64,
	) -> Result<Candidate, IngestError> {
		if message.project != endpoint_project {
			return Err(IngestError::WrongProject {
				message: message.project,
				endpoint: endpoint_project,
			});
		}
		if message.payload.len() > self.limits.max_payload {
			return Err(IngestError::PayloadTooLarge {
				size: message.payload.len(),
				max: self.limits.max_payload,
			});
		}
		if message.timestamp_ms.abs_diff(now_ms) > self.limits.max_skew_ms {
			return Err(IngestError::ClockSkew {
				timestamp_ms: message.timestamp_ms,
				max_skew_ms: self.limits.max_skew_ms,
			});
		}
		match self.chain.project_status(message.project) {
			None => return Err(IngestError::UnknownProject(message.project)),
			Some(ProjectStatus::Active) => {}
			Some(_) => return Err(IngestError::ProjectNotActive(message.project)),
		}
		if !self.chain.serves(message.project) {
			return Err(IngestError::NotServed(message.project));
		}
		let device = self.chain.device(message.project, &message.device).ok_or_else(|| {
			if self.chain.device_pending(message.project, &message.device) {
				IngestError::DeviceNotFinal
			} else {
				IngestError::UnknownDevice
			}
		})?;
		if device.status == DeviceStatus::Revoked {
			return Err(IngestError::RevokedDevice);
		}
		let last = self
			.store
			.last_seq(message.project, message.device)
			.map_err(|e| IngestError::Storage(e.to_string()))?;
		if let Some(last) = last {
			if message.seq <= last {
				// A message sent again (its acknowledgement was lost, a broker delivers
				// it once more) is told it is stored: `duplicate`, not a replay.
				let hash = message.hash();
				if self.store.contains(&hash).map_err(|e| IngestError::Storage(e.to_string()))? {
					return Err(IngestError::Duplicate(format!("{hash:?}")));
				}
				return Err(IngestError::StaleSeq { seq: message.seq, last });
			}
		}
		let pending = device
			.by_did
			.and_then(|_| self.chain.pending_key(message.project, &message.device))
			.and_then(|key| Some((key.clone(), wire::signature_for(&key, signature).ok()?)));
		let signature = match wire::signature_for(&device.key, signature) {
			Ok(signature) => signature,
			// Another curve than the DID's key at the finalized block: maybe its next key's.
			Err(refusal) => {
				return Err(if signed_by_pending_key(&pending, &message) {
					IngestError::DeviceNotFinal
				} else {
					refusal
				})
			}
		};
		Ok(Candidate { index: 0, message, key: device.key, signature, pending })
	}
}

/// Whether each candidate's signature verifies.
fn verify_signatures(candidates: &[Candidate]) -> Vec<bool> {
	let items: Vec<_> =
		candidates.iter().map(|c| (&c.key, c.message.hash(), &c.signature)).collect();
	w3b_primitives::device::verify_many(&items)
}
