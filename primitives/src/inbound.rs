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
/// Most logs in one observation: a range holding more is cut to whole blocks, or inside
/// a block that alone holds more ([`cut_range`]).
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

/// Where a subscription's next range starts: the first EVM block not fully observed and
/// the first log index in it not observed yet (past 0 only once a block held more
/// matching logs than one observation: the rest of it comes in the next range).
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct Cursor {
	/// The block.
	pub block: u64,
	/// The first log index in it still to observe.
	pub log_index: u32,
}

impl Cursor {
	/// The start of `block`.
	pub fn at_block(block: u64) -> Self {
		Cursor { block, log_index: 0 }
	}

	/// Whether `log` comes at or after the cursor.
	fn admits(&self, log: &EvmLog) -> bool {
		(log.block_number, log.log_index) >= (self.block, self.log_index)
	}
}

/// What an operator saw in one range of EVM blocks of a subscription: every matching
/// log from the cursor to the end of block `to_block`, in (block, index) order, or, when
/// `partial`, the first [`MAX_RANGE_LOGS`] of a block that holds more.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Observation {
	/// Where the range starts (the subscription's cursor).
	pub from: Cursor,
	/// Last block of the range.
	pub to_block: u64,
	/// The logs.
	pub logs: BoundedVec<EvmLog, ConstU32<MAX_RANGE_LOGS>>,
	/// Whether `to_block` holds more matching logs than these (all [`MAX_RANGE_LOGS`] of
	/// them in it): the next range starts inside it, after the last one.
	pub partial: bool,
}

impl Observation {
	/// The hash votes are counted by: `blake2_256("w3b/evm-observation/v1" ++ SCALE)`.
	pub fn hash(&self) -> H256 {
		let mut buf = Vec::with_capacity(OBSERVATION_TAG.len() + self.encoded_size());
		buf.extend_from_slice(OBSERVATION_TAG);
		self.encode_to(&mut buf);
		H256(blake2_256(&buf))
	}

	/// Where the next range starts once this one is accepted: after `to_block`, or
	/// after the last log when `partial`.
	pub fn next_cursor(&self) -> Cursor {
		match self.logs.last().filter(|_| self.partial) {
			Some(last) => {
				Cursor { block: self.to_block, log_index: last.log_index.saturating_add(1) }
			}
			None => Cursor::at_block(self.to_block.saturating_add(1)),
		}
	}

	/// Whether it is well formed for a range starting at `cursor` of a subscription with
	/// ranges of `blocks_per_range` blocks: within the range, logs in strictly ascending
	/// (block, index) order, none before the cursor or past `to_block`, and `partial`
	/// only when [`MAX_RANGE_LOGS`] logs all in `to_block` leave room for a next index
	/// (so the cursor always moves on).
	pub fn is_well_formed(&self, cursor: Cursor, blocks_per_range: u32) -> bool {
		let last = cursor.block.saturating_add(u64::from(blocks_per_range.max(1)) - 1);
		let ordered = self
			.logs
			.windows(2)
			.all(|w| (w[0].block_number, w[0].log_index) < (w[1].block_number, w[1].log_index));
		let inside = self.logs.iter().all(|l| cursor.admits(l) && l.block_number <= self.to_block);
		let partial_ok = !self.partial
			|| (self.logs.len() as u32 == MAX_RANGE_LOGS
				&& self.logs.iter().all(|l| l.block_number == self.to_block)
				&& self.logs.last().is_some_and(|l| l.log_index < u32::MAX));
		self.from == cursor
			&& self.to_block >= cursor.block
			&& self.to_block <= last
			&& ordered
			&& inside && partial_ok
	}
}

/// The observation of a range from `from` to the end of block `last_block` given the
/// matching logs of its blocks in (block, index) order (those before the cursor, left
/// from a block observed in part, are dropped): the longest run of whole blocks whose
/// logs fit in [`MAX_RANGE_LOGS`] (the next range starts after it); when the first block
/// with logs alone holds more, its first logs, `partial` (the next range takes the
/// rest of it). Every operator that saw the same logs makes the same observation, and
/// no log is left out.
pub fn cut_range(from: Cursor, last_block: u64, mut logs: Vec<EvmLog>) -> Observation {
	logs.retain(|l| from.admits(l) && l.block_number <= last_block);
	let max = MAX_RANGE_LOGS as usize;
	if logs.len() <= max {
		return Observation {
			from,
			to_block: last_block,
			logs: BoundedVec::truncate_from(logs),
			partial: false,
		};
	}
	// The block of the first log that does not fit ends the range before it.
	let overflow_block = logs[max].block_number;
	if logs[0].block_number == overflow_block {
		logs.truncate(max);
		return Observation {
			from,
			to_block: overflow_block,
			logs: BoundedVec::truncate_from(logs),
			partial: true,
		};
	}
	logs.retain(|l| l.block_number < overflow_block);
	Observation {
		from,
		to_block: overflow_block - 1,
		logs: BoundedVec::truncate_from(logs),
		partial: false,
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
		let observation = cut_range(Cursor::at_block(5), 14, logs.clone());
		assert_eq!(
			(observation.to_block, observation.logs.to_vec(), observation.partial),
			(14, logs, false)
		);
		assert_eq!(observation.next_cursor(), Cursor::at_block(15));
		assert!(observation.is_well_formed(Cursor::at_block(5), 10));
		assert!(!observation.is_well_formed(Cursor::at_block(6), 10), "another cursor");
		assert!(!observation.is_well_formed(Cursor::at_block(5), 9), "past the range");
	}

	#[test]
	fn a_full_range_ends_before_the_block_that_overflows() {
		let mut logs: Vec<_> = (0..20).map(|i| log(5, i)).collect();
		logs.extend((0..20).map(|i| log(6, i)));
		let observation = cut_range(Cursor::at_block(5), 14, logs);
		assert_eq!(
			(observation.to_block, observation.logs.len(), observation.partial),
			(5, 20, false)
		);
		assert!(observation.is_well_formed(Cursor::at_block(5), 10));
		assert_eq!(observation.next_cursor(), Cursor::at_block(6));
	}

	#[test]
	fn a_block_with_too_many_logs_is_observed_in_parts_and_none_is_left_out() {
		// 40 logs in block 5 (indexes 0, 2, 4, ...: other contracts' logs between), 3 in
		// block 6.
		let all: Vec<_> = (0..40).map(|i| log(5, 2 * i)).chain((0..3).map(|i| log(6, i))).collect();
		let first = cut_range(Cursor::at_block(5), 14, all.clone());
		assert_eq!((first.to_block, first.logs.len(), first.partial), (5, 32, true));
		assert!(first.is_well_formed(Cursor::at_block(5), 10));
		let cursor = first.next_cursor();
		assert_eq!(cursor, Cursor { block: 5, log_index: 63 });
		// The next range starts inside block 5 and takes the rest of it and more; the
		// endpoint's answer for the range still holds the logs already taken.
		let second = cut_range(cursor, 14, all.clone());
		assert_eq!((second.to_block, second.logs.len(), second.partial), (14, 11, false));
		assert!(second.is_well_formed(cursor, 10));
		let mut seen: Vec<EvmLog> = first.logs.to_vec();
		seen.extend(second.logs.to_vec());
		assert_eq!(seen, all, "every log once, in order");
		// Logs before the cursor, a partial range of several blocks or of fewer logs
		// than an observation holds are not well formed.
		let mut lying = second.clone();
		lying.logs = BoundedVec::truncate_from(vec![log(5, 62)]);
		assert!(!lying.is_well_formed(cursor, 10), "a log taken already");
		let mut lying = first.clone();
		lying.to_block = 6;
		assert!(!lying.is_well_formed(Cursor::at_block(5), 10), "partial across blocks");
		let mut lying = cut_range(Cursor::at_block(5), 5, all[..3].to_vec());
		lying.partial = true;
		assert!(!lying.is_well_formed(Cursor::at_block(5), 10), "partial but not full");
	}

	#[test]
	fn unordered_or_outside_logs_are_not_well_formed() {
		let mut observation = cut_range(Cursor::at_block(5), 14, vec![log(7, 1), log(7, 0)]);
		assert!(!observation.is_well_formed(Cursor::at_block(5), 10));
		observation.logs = BoundedVec::truncate_from(vec![log(15, 0)]);
		assert!(!observation.is_well_formed(Cursor::at_block(5), 10));
		observation.logs = BoundedVec::truncate_from(vec![log(7, 0), log(7, 0)]);
		assert!(!observation.is_well_formed(Cursor::at_block(5), 10), "a log twice");
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
		let observation = cut_range(Cursor::at_block(5), 14, vec![log(5, 0), log(9, 2)]);
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
		let base = cut_range(Cursor::at_block(5), 14, vec![log(5, 0)]);
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
