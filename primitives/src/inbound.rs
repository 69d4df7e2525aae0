//! Inbound: EVM contract logs as events of a project.
//!
//! A project subscribes to the logs of one contract on one EVM chain (with a topic
//! filter and a confirmation depth). Its operators read the logs of consecutive ranges
//! of EVM blocks and vote an [`Observation`] of each range; once a quorum of the subnet
//! voted the same observation, the runtime turns its logs into a batch of the project
//! whose body is on chain ([`batch_body`]), so that every operator executes the same
//! input whatever its own EVM endpoint says.
//!
//! A log becomes a [`Message`] with a device id naming its source ([`source_id`]), the
//! subscription's event type and a JSON payload ([`log_payload`]) in the shape of an
//! Ethereum JSON-RPC log, which W3bstream applets parse with their SDK's JSON helpers.

use alloc::{format, string::String, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H160, H256};
use sp_io::hashing::blake2_256;
use sp_runtime::BoundedVec;

use crate::{merkle::merkle_root, message::signed_message_hash, project::EventType};
use crate::{DeviceId, DeviceSignature, Message, ProjectId};

/// What the event type of every log starts with (`evm:Transfer`, ...): device messages
/// with such an event type are refused (at ingestion, and as committed: see
/// [`crate::validity::Invalid::ReservedEventType`]), so that an applet's handler for
/// logs only ever sees logs a quorum observed.
pub const LOG_EVENT_PREFIX: &[u8] = b"evm:";

/// Most subscriptions of one project.
pub const MAX_SUBSCRIPTIONS: u32 = 8;
/// Most topics of a log (the EVM's LOG4).
pub type MaxTopics = ConstU32<4>;
/// Longest log data taken, in bytes: a log with more data than this is observed with
/// its data cut and `data_truncated` set, identically by every operator.
pub const MAX_LOG_DATA: u32 = 1024;
/// Most logs in one observation: a range holding more is cut to whole blocks
/// ([`cut_range`]).
pub const MAX_RANGE_LOGS: u32 = 32;
/// Most EVM blocks one range spans.
pub const MAX_RANGE_BLOCKS: u32 = 1000;
/// Most confirmations a subscription may ask for.
pub const MAX_CONFIRMATIONS: u32 = 10_000;

/// Domain tag of [`source_id`].
const SOURCE_TAG: &[u8] = b"w3b/evm-log-source/v1";
/// Domain tag of [`Observation::hash`].
const OBSERVATION_TAG: &[u8] = b"w3b/evm-observation/v1";

/// The signature every log message carries: logs are not signed by a device, they are
/// accepted by the subnet's quorum, and the body's Merkle leaves still bind a signature.
pub const LOG_SIGNATURE: DeviceSignature = DeviceSignature::Secp256k1([0; 65]);

/// What a project listens to on an EVM chain.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Subscription {
	/// EVM chain id (IoTeX: 4689, testnet 4690).
	pub chain_id: u64,
	/// The contract whose logs are taken.
	pub contract: H160,
	/// Topic filter by position (`topics[0]` is the event signature): `None` matches any.
	pub topics: BoundedVec<Option<H256>, MaxTopics>,
	/// Blocks on top of a log's block before it is observed.
	pub confirmations: u32,
	/// EVM blocks per observed range (from 1 to [`MAX_RANGE_BLOCKS`]): operators vote one
	/// range once all of it is `confirmations` deep, so a log waits for at most this many
	/// blocks on top of its confirmations.
	pub blocks_per_range: u32,
	/// The event type the logs get (routed to a handler by the applets' strategies),
	/// starting with [`LOG_EVENT_PREFIX`].
	pub event_type: EventType,
}

/// One log, as an operator's EVM endpoint returned it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct EvmLog {
	/// Block holding it.
	pub block_number: u64,
	/// Hash of that block: operators agree on a log only if they saw it in one block.
	pub block_hash: H256,
	/// Transaction that emitted it.
	pub transaction_hash: H256,
	/// Its index in the block.
	pub log_index: u32,
	/// Its topics.
	pub topics: BoundedVec<H256, MaxTopics>,
	/// Its data, cut at [`MAX_LOG_DATA`] bytes.
	pub data: BoundedVec<u8, ConstU32<MAX_LOG_DATA>>,
	/// Whether `data` was cut.
	pub data_truncated: bool,
}

/// What an operator saw in one range of EVM blocks of a subscription: every matching
/// log of blocks `from_block..=to_block`, in (block, index) order.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Observation {
	/// First block of the range (the subscription's cursor).
	pub from_block: u64,
	/// Last block of the range.
	pub to_block: u64,
	/// The logs.
	pub logs: BoundedVec<EvmLog, ConstU32<MAX_RANGE_LOGS>>,
	/// Logs of the range's only block past [`MAX_RANGE_LOGS`], left out (a block with
	/// more matching logs than an observation holds).
	pub omitted: u32,
}

impl Observation {
	/// The hash votes are counted by: `blake2_256("w3b/evm-observation/v1" ++ SCALE)`.
	pub fn hash(&self) -> H256 {
		let mut buf = Vec::with_capacity(OBSERVATION_TAG.len() + self.encoded_size());
		buf.extend_from_slice(OBSERVATION_TAG);
		self.encode_to(&mut buf);
		H256(blake2_256(&buf))
	}

	/// Whether it is well formed for a range starting at `from_block` of a subscription
	/// with ranges of `blocks_per_range` blocks: within the range, logs in strictly
	/// ascending (block, index) order and inside it, `omitted` only for a range of one
	/// block that is full.
	pub fn is_well_formed(&self, from_block: u64, blocks_per_range: u32) -> bool {
		let last = from_block.saturating_add(u64::from(blocks_per_range.max(1)) - 1);
		let ordered = self
			.logs
			.windows(2)
			.all(|w| (w[0].block_number, w[0].log_index) < (w[1].block_number, w[1].log_index));
		let inside =
			self.logs.iter().all(|l| (self.from_block..=self.to_block).contains(&l.block_number));
		let omitted_ok = self.omitted == 0
			|| (self.from_block == self.to_block && self.logs.len() as u32 == MAX_RANGE_LOGS);
		self.from_block == from_block
			&& self.to_block >= from_block
			&& self.to_block <= last
			&& ordered
			&& inside && omitted_ok
	}
}

/// The observation of a range `from_block..=last_block` given all its matching logs in
/// (block, index) order: the longest run of whole blocks whose logs fit in
/// [`MAX_RANGE_LOGS`] (the next range starts after it); when the first block alone holds
/// more, that block with its first logs and the count of the others. Every operator
/// that saw the same logs makes the same observation.
pub fn cut_range(from_block: u64, last_block: u64, mut logs: Vec<EvmLog>) -> Observation {
	let max = MAX_RANGE_LOGS as usize;
	if logs.len() <= max {
		return Observation {
			from_block,
			to_block: last_block,
			logs: BoundedVec::truncate_from(logs),
			omitted: 0,
		};
	}
	// The block of the first log that does not fit ends the range before it.
	let overflow_block = logs[max].block_number;
	if logs[0].block_number == overflow_block {
		let in_block = logs.iter().take_while(|l| l.block_number == overflow_block).count();
		logs.truncate(max);
		return Observation {
			from_block,
			to_block: overflow_block.max(from_block),
			logs: BoundedVec::truncate_from(logs),
			omitted: (in_block - max) as u32,
		};
	}
	logs.retain(|l| l.block_number < overflow_block);
	Observation {
		from_block,
		to_block: overflow_block - 1,
		logs: BoundedVec::truncate_from(logs),
		omitted: 0,
	}
}

/// The device id log messages of `contract` on chain `chain_id` carry:
/// `blake2_256("w3b/evm-log-source/v1" ++ SCALE((chain_id, contract)))`. No device key
/// hashes to it (a key's id has no tag), so no device can publish as a contract.
pub fn source_id(chain_id: u64, contract: &H160) -> DeviceId {
	let mut buf = Vec::with_capacity(SOURCE_TAG.len() + 28);
	buf.extend_from_slice(SOURCE_TAG);
	(chain_id, contract).encode_to(&mut buf);
	H256(blake2_256(&buf))
}

fn hex(bytes: &[u8]) -> String {
	const DIGITS: &[u8; 16] = b"0123456789abcdef";
	let mut out = String::with_capacity(2 + 2 * bytes.len());
	out.push_str("0x");
	for byte in bytes {
		out.push(DIGITS[(byte >> 4) as usize] as char);
		out.push(DIGITS[(byte & 0xf) as usize] as char);
	}
	out
}

/// The JSON payload of a log's message, in the field names of an Ethereum JSON-RPC log
/// (numbers as JSON numbers):
/// `{"chainId":4690,"address":"0x..","blockNumber":7,"blockHash":"0x..",
/// "transactionHash":"0x..","logIndex":0,"topics":["0x.."],"data":"0x..","dataTruncated":false}`.
pub fn log_payload(subscription: &Subscription, log: &EvmLog) -> Vec<u8> {
	let topics: Vec<String> =
		log.topics.iter().map(|t| format!("\"{}\"", hex(t.as_bytes()))).collect();
	format!(
		"{{\"chainId\":{},\"address\":\"{}\",\"blockNumber\":{},\"blockHash\":\"{}\",\"transactionHash\":\"{}\",\"logIndex\":{},\"topics\":[{}],\"data\":\"{}\",\"dataTruncated\":{}}}",
		subscription.chain_id,
		hex(subscription.contract.as_bytes()),
		log.block_number,
		hex(log.block_hash.as_bytes()),
		hex(log.transaction_hash.as_bytes()),
		log.log_index,
		topics.join(","),
		hex(&log.data),
		log.data_truncated,
	)
	.into_bytes()
}

/// The message a log of `subscription` becomes in `project`, accepted at `accepted_ms`
/// (the time of the block that accepted it: the same for every operator). Its `seq` is
/// the log's block number.
pub fn log_message(
	project: ProjectId,
	subscription: &Subscription,
	log: &EvmLog,
	accepted_ms: u64,
) -> Message {
	Message {
		project,
		device: source_id(subscription.chain_id, &subscription.contract),
		seq: log.block_number,
		timestamp_ms: accepted_ms,
		event_type: subscription.event_type.to_vec(),
		payload: log_payload(subscription, log),
		encrypted: false,
	}
}

/// A batch made on chain from accepted logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogBatch {
	/// The body, SCALE encoded exactly as the node's batch body (each message with
	/// [`LOG_SIGNATURE`] and `accepted_ms` as its receipt time).
	pub body: Vec<u8>,
	/// Merkle root over the signed message hashes, as for any batch.
	pub merkle_root: H256,
	/// Number of messages.
	pub count: u32,
}

/// The batch the logs of `observation` become in `project`.
pub fn batch_body(
	project: ProjectId,
	subscription: &Subscription,
	observation: &Observation,
	accepted_ms: u64,
) -> LogBatch {
	let messages: Vec<(Message, DeviceSignature, u64)> = observation
		.logs
		.iter()
		.map(|log| {
			(log_message(project, subscription, log, accepted_ms), LOG_SIGNATURE, accepted_ms)
		})
		.collect();
	let leaves: Vec<H256> =
		messages.iter().map(|(m, s, _)| signed_message_hash(&m.hash(), s)).collect();
	LogBatch {
		body: messages.encode(),
		merkle_root: merkle_root(&leaves),
		count: messages.len() as u32,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn log(block: u64, index: u32) -> EvmLog {
		EvmLog {
			block_number: block,
			block_hash: H256::repeat_byte(block as u8),
			transaction_hash: H256::repeat_byte(0xaa),
			log_index: index,
			topics: BoundedVec::truncate_from(vec![H256::repeat_byte(1)]),
			data: BoundedVec::truncate_from(vec![0xde, 0xad]),
			data_truncated: false,
		}
	}

	fn subscription() -> Subscription {
		Subscription {
			chain_id: 4690,
			contract: H160::repeat_byte(0x11),
			topics: BoundedVec::truncate_from(vec![Some(H256::repeat_byte(1))]),
			confirmations: 2,
			blocks_per_range: 10,
			event_type: BoundedVec::truncate_from(b"evm:Reading".to_vec()),
		}
	}

	#[test]
	fn a_range_that_fits_is_kept_whole() {
		let logs = vec![log(5, 0), log(7, 1)];
		let observation = cut_range(5, 14, logs.clone());
		assert_eq!(
			(observation.to_block, observation.logs.to_vec(), observation.omitted),
			(14, logs, 0)
		);
		assert!(observation.is_well_formed(5, 10));
		assert!(!observation.is_well_formed(6, 10), "another cursor");
		assert!(!observation.is_well_formed(5, 9), "past the range");
	}

	#[test]
	fn a_full_range_ends_before_the_block_that_overflows() {
		let mut logs: Vec<_> = (0..20).map(|i| log(5, i)).collect();
		logs.extend((0..20).map(|i| log(6, i)));
		let observation = cut_range(5, 14, logs);
		assert_eq!((observation.to_block, observation.logs.len(), observation.omitted), (5, 20, 0));
		assert!(observation.is_well_formed(5, 10));
	}

	#[test]
	fn a_block_with_too_many_logs_is_cut_and_counted() {
		let logs: Vec<_> = (0..40).map(|i| log(5, i)).collect();
		let observation = cut_range(5, 14, logs);
		assert_eq!((observation.to_block, observation.logs.len(), observation.omitted), (5, 32, 8));
		assert!(observation.is_well_formed(5, 10));
		let mut lying = observation.clone();
		lying.to_block = 6;
		assert!(!lying.is_well_formed(5, 10), "omitted logs only for a one-block range");
	}

	#[test]
	fn unordered_or_outside_logs_are_not_well_formed() {
		let mut observation = cut_range(5, 14, vec![log(7, 1), log(7, 0)]);
		assert!(!observation.is_well_formed(5, 10));
		observation.logs = BoundedVec::truncate_from(vec![log(15, 0)]);
		assert!(!observation.is_well_formed(5, 10));
		observation.logs = BoundedVec::truncate_from(vec![log(7, 0), log(7, 0)]);
		assert!(!observation.is_well_formed(5, 10), "a log twice");
	}

	#[test]
	fn the_payload_is_an_ethereum_log_in_json() {
		let payload = String::from_utf8(log_payload(&subscription(), &log(7, 3))).unwrap();
		let json: serde_json::Value = serde_json::from_str(&payload).unwrap();
		assert_eq!(json["chainId"], 4690);
		assert_eq!(json["address"], format!("0x{}", "11".repeat(20)));
		assert_eq!(json["blockNumber"], 7);
		assert_eq!(json["logIndex"], 3);
		assert_eq!(json["topics"][0], format!("0x{}", "01".repeat(32)));
		assert_eq!(json["data"], "0xdead");
		assert_eq!(json["dataTruncated"], false);
	}

	#[test]
	fn the_body_decodes_as_messages_with_the_log_signature() {
		let observation = cut_range(5, 14, vec![log(5, 0), log(9, 2)]);
		let batch = batch_body(3, &subscription(), &observation, 1_700_000_000_000);
		let decoded: Vec<(Message, DeviceSignature, u64)> =
			Decode::decode(&mut &batch.body[..]).unwrap();
		assert_eq!(decoded.len(), 2);
		assert_eq!(batch.count, 2);
		assert!(decoded.iter().all(|(m, s, t)| m.project == 3
			&& m.device == source_id(4690, &H160::repeat_byte(0x11))
			&& *s == LOG_SIGNATURE
			&& *t == 1_700_000_000_000));
		let leaves: Vec<_> =
			decoded.iter().map(|(m, s, _)| signed_message_hash(&m.hash(), s)).collect();
		assert_eq!(batch.merkle_root, merkle_root(&leaves));
	}

	#[test]
	fn observations_differing_anywhere_hash_apart() {
		let base = cut_range(5, 14, vec![log(5, 0)]);
		let mut other_block = base.clone();
		other_block.logs[0].block_hash = H256::repeat_byte(9);
		let mut other_end = base.clone();
		other_end.to_block = 13;
		let mut fewer = base.clone();
		fewer.logs.clear();
		for other in [other_block, other_end, fewer] {
			assert_ne!(base.hash(), other.hash());
		}
	}
}
