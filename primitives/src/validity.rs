//! When a device message counts: the rules every operator applies to every message of
//! every batch it executes, and the runtime applies to evidence against a committer.
//!
//! A message committed in a batch is checked against the chain as of the batch's
//! commitment ([`Context`]): its project, its device (registered before the commitment
//! block and not revoked before it), its signature on the device's curve, its size,
//! and its timestamp (within [`MAX_AGE_MS`] before and [`MAX_AHEAD_MS`] after the
//! commitment's time). Those checks need nothing but the message and the chain, so the
//! runtime can check them too ([`check`]), and a committer who sealed such a message can
//! be named on chain.
//!
//! Replays are checked against each device's [`ReplayWindow`], part of the project's
//! deterministic state: a `seq` counts once, whichever operators the device sent it to
//! and in whichever order their batches were committed, as long as it is no more than
//! [`REPLAY_WINDOW`] behind the highest `seq` of the device executed so far, or is one
//! of the seqs that left that window without counting (the [`MAX_GAPS`] most recent
//! ranges of them). Those are what an expired batch's messages leave behind when the
//! device's later messages count first: committed again, however many the device sent
//! since, they count.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_runtime::BoundedVec;

use crate::{merkle::MerkleProof, project::DeviceRecord, DeviceSignature, Message, ProjectId};

/// Largest payload a message may carry, in bytes.
pub const MAX_PAYLOAD: usize = 64 << 10;
/// Longest event type, in bytes.
pub const MAX_EVENT_TYPE: usize = 64;
/// How long before its commitment's time a message may have been made: a node that was
/// down for a while still commits what it acknowledged before.
pub const MAX_AGE_MS: u64 = 24 * 60 * 60 * 1000;
/// How far after its commitment's time a message's timestamp may be (clock skew).
pub const MAX_AHEAD_MS: u64 = 5 * 60 * 1000;
/// How many `seq`s behind a device's highest executed `seq` a message may still count:
/// room for the device's messages sent to several operators and committed out of order.
pub const REPLAY_WINDOW: u64 = 1024;
/// How many ranges of seqs that left a device's window without counting it remembers,
/// the most recent ones: a device's messages in an expired batch leave one range when
/// the device publishes through one node (one per message when it spreads its messages
/// over several nodes and the others' batches counted). An operator holding an expired
/// batch's body can split its range by committing every other message of it first: with
/// 32 ranges, the honest recommit of a device's 300 messages lost 118 of them; with 256,
/// a batch must hold more than 512 messages of one device (over 2 s of its default rate
/// limit) for a split to evict any. At most 4 KiB per device.
pub const MAX_GAPS: u32 = 256;

/// Why a committed message does not count. The code ([`Invalid::code`]) is part of the
/// state root, so every honest operator must give the same reason for the same message.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum Invalid {
	/// The message names another project than the batch's.
	WrongProject,
	/// Its device was not registered with the project before the commitment.
	UnknownDevice,
	/// Its device was revoked before the commitment.
	RevokedDevice,
	/// The signature is not the device's over the message hash, or is on another curve.
	BadSignature,
	/// The payload or the event type is over its limit, or the event type is empty.
	Oversized,
	/// Its timestamp is more than [`MAX_AGE_MS`] before the commitment's time.
	TooOld,
	/// Its timestamp is more than [`MAX_AHEAD_MS`] after the commitment's time.
	TooNew,
	/// The same message appears earlier in the same batch.
	Duplicate,
	/// Its device's `seq` already counted (in this or an earlier batch).
	Replayed,
	/// Its `seq` is more than [`REPLAY_WINDOW`] behind the device's highest counted one,
	/// and not in a remembered range of seqs that left the window without counting.
	SeqTooOld,
	/// Its event type starts with [`crate::inbound::LOG_EVENT_PREFIX`]: those are the
	/// contract logs' that a quorum observed, and no device may pose as one.
	ReservedEventType,
}

impl Invalid {
	/// A stable name (logs, metrics, RPC).
	pub fn code(&self) -> &'static str {
		match self {
			Invalid::WrongProject => "wrong_project",
			Invalid::UnknownDevice => "unknown_device",
			Invalid::RevokedDevice => "revoked_device",
			Invalid::BadSignature => "bad_signature",
			Invalid::Oversized => "oversized",
			Invalid::TooOld => "too_old",
			Invalid::TooNew => "too_new",
			Invalid::Duplicate => "duplicate",
			Invalid::Replayed => "replayed",
			Invalid::SeqTooOld => "seq_too_old",
			Invalid::ReservedEventType => "reserved_event_type",
		}
	}

	/// Whether a committer who sealed such a message is at fault: no honest node could
	/// have acknowledged it, and the chain can be shown it (the message, its signature
	/// and their inclusion proof: the batch's leaves bind each message to the signature
	/// committed with it). Not so for a device revoked, or a timestamp that left its
	/// window, between the acknowledgement and the commitment's inclusion (an owner's
	/// revocation, a node down for a day, clocks a little apart), nor for a replay (a
	/// device may send one message to several operators; only the first copy counts).
	pub fn is_committer_fault(&self) -> bool {
		matches!(
			self,
			Invalid::WrongProject
				| Invalid::UnknownDevice
				| Invalid::BadSignature
				| Invalid::Oversized
				| Invalid::Duplicate
				| Invalid::ReservedEventType
		)
	}
}

/// The chain as of a batch's commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context<BlockNumber> {
	/// The batch's project.
	pub project: ProjectId,
	/// The block that included the commitment.
	pub committed_at: BlockNumber,
	/// That block's time, in milliseconds since the Unix epoch.
	pub committed_at_ms: u64,
}

/// Checks everything about `message` but its signature and replays: project, device
/// (`device` is its record, if the chain has one), sizes and timestamp.
pub fn check_unsigned<BlockNumber: PartialOrd + Copy>(
	context: &Context<BlockNumber>,
	message: &Message,
	device: Option<&DeviceRecord<BlockNumber>>,
) -> Result<(), Invalid> {
	if message.project != context.project {
		return Err(Invalid::WrongProject);
	}
	if message.payload.len() > MAX_PAYLOAD
		|| message.event_type.is_empty()
		|| message.event_type.len() > MAX_EVENT_TYPE
	{
		return Err(Invalid::Oversized);
	}
	if message.event_type.starts_with(crate::inbound::LOG_EVENT_PREFIX) {
		return Err(Invalid::ReservedEventType);
	}
	if message.timestamp_ms.saturating_add(MAX_AGE_MS) < context.committed_at_ms {
		return Err(Invalid::TooOld);
	}
	if message.timestamp_ms > context.committed_at_ms.saturating_add(MAX_AHEAD_MS) {
		return Err(Invalid::TooNew);
	}
	let device = device.ok_or(Invalid::UnknownDevice)?;
	if device.id() != message.device || device.registered_at >= context.committed_at {
		return Err(Invalid::UnknownDevice);
	}
	if device.revoked_at.is_some_and(|at| at < context.committed_at) {
		return Err(Invalid::RevokedDevice);
	}
	Ok(())
}

/// Every check but replays, the signature included (one by one; the node verifies
/// whole batches faster).
pub fn check<BlockNumber: PartialOrd + Copy>(
	context: &Context<BlockNumber>,
	message: &Message,
	signature: &DeviceSignature,
	device: Option<&DeviceRecord<BlockNumber>>,
) -> Result<(), Invalid> {
	check_unsigned(context, message, device)?;
	let device = device.ok_or(Invalid::UnknownDevice)?;
	if !device.key.verify(&message.hash(), signature) {
		return Err(Invalid::BadSignature);
	}
	Ok(())
}

/// The `seq`s of one device that already counted: the highest, which of the
/// [`REPLAY_WINDOW`] below it, and the ranges of older seqs that never did.
#[derive(
	Clone,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct ReplayWindow {
	/// The highest `seq` counted, if any.
	pub highest: Option<u64>,
	/// Bit `i` (word `i / 64`, bit `i % 64`): whether `highest - 1 - i` counted.
	pub below: [u64; (REPLAY_WINDOW / 64) as usize],
	/// Seqs below the window (`below`) that never counted, as inclusive ranges in
	/// increasing order, disjoint and not adjacent: the [`MAX_GAPS`] most recent (the
	/// seqs below the first one counted are one range, the oldest).
	pub gaps: BoundedVec<(u64, u64), ConstU32<MAX_GAPS>>,
}

impl ReplayWindow {
	/// Counts `seq` if it has not counted yet and is within the window or one of its
	/// gaps; says why not otherwise.
	pub fn admit(&mut self, seq: u64) -> Result<(), Invalid> {
		let Some(highest) = self.highest else {
			self.highest = Some(seq);
			// The device's first messages may come after later ones (a batch delayed or
			// expired, another node's counted first): below the window, none counted yet.
			if seq > REPLAY_WINDOW {
				self.record_gap(0, seq - REPLAY_WINDOW - 1);
			}
			return Ok(());
		};
		if seq > highest {
			self.shift(highest, seq - highest);
			self.highest = Some(seq);
			return Ok(());
		}
		if seq == highest {
			return Err(Invalid::Replayed);
		}
		let behind = highest - seq - 1;
		if behind >= REPLAY_WINDOW {
			return self.fill_gap(seq);
		}
		let (word, bit) = ((behind / 64) as usize, behind % 64);
		if self.below[word] & (1 << bit) != 0 {
			return Err(Invalid::Replayed);
		}
		self.below[word] |= 1 << bit;
		Ok(())
	}

	/// Counts `seq`, below the window, if it is in a gap (which it then leaves).
	fn fill_gap(&mut self, seq: u64) -> Result<(), Invalid> {
		// The last range starting at or below `seq`: the only one that may hold it.
		let index = self.gaps.partition_point(|(start, _)| *start <= seq);
		let Some(at) = index.checked_sub(1).filter(|at| self.gaps[*at].1 >= seq) else {
			return Err(Invalid::SeqTooOld);
		};
		let (start, end) = self.gaps[at];
		match (start == seq, end == seq) {
			(true, true) => {
				self.gaps.remove(at);
			}
			(true, false) => self.gaps[at].0 = seq + 1,
			(false, true) => self.gaps[at].1 = seq - 1,
			(false, false) => {
				self.gaps[at].1 = seq - 1;
				// One range more: at the bound the oldest goes (the lower part of this one,
				// when this was the oldest).
				let insert_at = if self.gaps.is_full() {
					self.gaps.remove(0);
					at
				} else {
					at + 1
				};
				let inserted = self.gaps.try_insert(insert_at, (seq + 1, end));
				debug_assert!(inserted.is_ok(), "room was made");
			}
		}
		Ok(())
	}

	/// Moves the window up by `by` seqs from `highest`: the old highest becomes bit
	/// `by - 1`, and the seqs that leave the window without having counted become gaps.
	fn shift(&mut self, highest: u64, by: u64) {
		// The bitmap's seqs that leave, oldest first.
		for i in (REPLAY_WINDOW - by.min(REPLAY_WINDOW)..REPLAY_WINDOW).rev() {
			let Some(seq) = highest.checked_sub(1 + i) else { continue };
			if self.below[(i / 64) as usize] & (1 << (i % 64)) == 0 {
				self.record_gap(seq, seq);
			}
		}
		// The seqs above the old highest that land below the new window at once.
		if by > REPLAY_WINDOW + 1 {
			self.record_gap(highest + 1, highest + by - REPLAY_WINDOW - 1);
		}
		if by > REPLAY_WINDOW {
			self.below = Default::default();
			return;
		}
		// A shift of the bitmap (word 0 holds the seqs closest to the highest) by `by`
		// bits towards the end, then the old highest marked as counted.
		let words = (by / 64) as usize;
		let bits = (by % 64) as u32;
		let n = self.below.len();
		for i in (0..n).rev() {
			let from = i.checked_sub(words);
			let low = from.map_or(0, |j| self.below[j]);
			let carry = from.and_then(|j| j.checked_sub(1)).map_or(0, |j| self.below[j]);
			self.below[i] = if bits == 0 { low } else { (low << bits) | (carry >> (64 - bits)) };
		}
		let old = by - 1;
		self.below[(old / 64) as usize] |= 1 << (old % 64);
	}

	/// Remembers `start..=end`, above every gap so far, as never counted: the oldest gap
	/// goes when there are [`MAX_GAPS`].
	fn record_gap(&mut self, start: u64, end: u64) {
		if let Some(last) = self.gaps.last_mut().filter(|last| last.1 + 1 == start) {
			last.1 = end;
			return;
		}
		if self.gaps.is_full() {
			self.gaps.remove(0);
		}
		let pushed = self.gaps.try_push((start, end));
		debug_assert!(pushed.is_ok(), "room was made");
	}
}

/// What anyone can show the chain about a committed batch to name its committer: a
/// message of the batch that could never count (its inclusion proof against the
/// committed root, and the message and signature behind the leaf), or one message at two
/// positions of the batch.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum Evidence {
	/// `message`, signed `signature`, is leaf `proof.leaf_index` of the batch, and
	/// [`check`] refuses it for a reason that is the committer's fault.
	Invalid {
		/// The message.
		message: Message,
		/// Its signature, as committed.
		signature: DeviceSignature,
		/// Its inclusion proof against the batch's Merkle root.
		proof: MerkleProof,
	},
	/// Message hash `message_hash` is leaf `first.1.leaf_index` and leaf
	/// `second.1.leaf_index` of the batch (two different positions), each with the
	/// signature committed there.
	Duplicate {
		/// The repeated message's hash.
		message_hash: H256,
		/// The signature and inclusion proof at one position.
		first: (DeviceSignature, MerkleProof),
		/// The signature and inclusion proof at another.
		second: (DeviceSignature, MerkleProof),
	},
}

/// The digest of a batch's verdicts that goes into its state root: the index and reason
/// of every message that did not count, in batch order.
pub fn verdicts_digest(refused: &[(u32, Invalid)]) -> H256 {
	H256(sp_io::hashing::blake2_256(&(b"w3b/verdicts/v1", refused).encode()))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{project::DeviceStatus, DeviceKey};
	use sp_core::{ed25519, Pair};

	#[test]
	fn a_seq_counts_once_in_any_order_within_the_window() {
		let mut window = ReplayWindow::default();
		assert_eq!(window.admit(10), Ok(()));
		assert_eq!(window.admit(10), Err(Invalid::Replayed));
		assert_eq!(window.admit(12), Ok(()));
		assert_eq!(window.admit(11), Ok(()), "late but within the window");
		assert_eq!(window.admit(11), Err(Invalid::Replayed));
		assert_eq!(window.admit(10), Err(Invalid::Replayed), "the old highest is remembered");
		assert_eq!(window.admit(9), Ok(()), "below the first seq seen, within the window");
		// Far ahead: everything below the window is too old, and what is inside it is
		// still remembered across word boundaries.
		assert_eq!(window.admit(12 + 200), Ok(()));
		assert_eq!(window.admit(12), Err(Invalid::Replayed));
		assert_eq!(window.admit(13), Ok(()));
		assert_eq!(window.admit(13), Err(Invalid::Replayed));
		assert_eq!(window.admit(212 + REPLAY_WINDOW), Ok(()));
		assert_eq!(window.admit(212), Err(Invalid::Replayed), "exactly at the window's edge");
		assert_eq!(window.admit(211), Ok(()), "below the window, never counted: a gap");
		assert_eq!(window.admit(211), Err(Invalid::SeqTooOld), "counted, below the window");
		assert_eq!(window.admit(13), Err(Invalid::SeqTooOld));
		assert_eq!(window.admit(8), Ok(()), "below the first seq counted, never counted");
		assert_eq!(window.admit(8), Err(Invalid::SeqTooOld));
		assert_eq!(window.admit(213), Ok(()));
		assert_eq!(window.admit(212 + 3 * REPLAY_WINDOW), Ok(()));
		assert_eq!(window.admit(212 + 2 * REPLAY_WINDOW), Ok(()), "the window's last seq");
		assert_eq!(window.admit(212 + REPLAY_WINDOW), Err(Invalid::SeqTooOld));
		assert_eq!(window.admit(211 + 2 * REPLAY_WINDOW), Ok(()), "a gap");
		assert_eq!(window.admit(211 + 2 * REPLAY_WINDOW), Err(Invalid::SeqTooOld));
	}

	#[test]
	fn the_window_matches_a_set_of_counted_seqs() {
		// Against a plain set: in a pseudo-random order, no seq ever counts twice; every
		// seq counts that is within the window of the highest and has not counted; one
		// below the window counts only if it never counted, is not below the first seq
		// counted, and is in a remembered gap (checked against the gaps before the call).
		let mut window = ReplayWindow::default();
		let mut counted = std::collections::BTreeSet::new();
		let mut x: u64 = 7;
		let mut below_the_window_counted = 0;
		for _ in 0..50_000 {
			x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
			let seq = (x >> 33) % 20_000;
			let highest = counted.last().copied();
			let in_a_gap = window.gaps.iter().any(|(start, end)| (*start..=*end).contains(&seq));
			let got = window.admit(seq);
			let expected = match highest {
				_ if counted.contains(&seq) => {
					Err(if highest.is_some_and(|h| seq + REPLAY_WINDOW < h) {
						Invalid::SeqTooOld
					} else {
						Invalid::Replayed
					})
				}
				Some(h) if seq + REPLAY_WINDOW < h => {
					if in_a_gap {
						below_the_window_counted += 1;
						Ok(())
					} else {
						Err(Invalid::SeqTooOld)
					}
				}
				_ => Ok(()),
			};
			assert_eq!(got, expected, "seq {seq}, highest {highest:?}");
			if got.is_ok() {
				counted.insert(seq);
			}
			assert!(window.gaps.windows(2).all(|pair| pair[0].1 + 1 < pair[1].0));
		}
		assert!(below_the_window_counted > 100, "{below_the_window_counted} gaps filled");
	}

	#[test]
	fn an_expired_batch_recommitted_after_the_window_moved_on_still_counts() {
		// A device sends 50 messages a second. The batch that held its seqs 100..=349
		// expired; the 5,000 messages that followed counted; the committer then commits
		// the expired batch's messages again. They never counted: each counts now, once.
		let mut window = ReplayWindow::default();
		for seq in (0..100).chain(350..5_350) {
			assert_eq!(window.admit(seq), Ok(()));
		}
		for seq in 100..350 {
			assert_eq!(window.admit(seq), Ok(()), "seq {seq}, acknowledged, never counted");
		}
		for seq in [0, 99, 100, 200, 349, 350] {
			assert_eq!(window.admit(seq), Err(Invalid::SeqTooOld), "seq {seq}");
		}
		assert_eq!(window.admit(5_349 - REPLAY_WINDOW), Err(Invalid::Replayed));
		assert!(window.gaps.is_empty(), "every gap filled");
	}

	#[test]
	fn a_gap_is_kept_among_the_most_recent_ones_only() {
		// A device whose every other seq never arrives: the window's bitmap keeps
		// REPLAY_WINDOW seqs, the gaps below it the MAX_GAPS most recent ranges.
		let mut window = ReplayWindow::default();
		let last = 2 * REPLAY_WINDOW + 2 * MAX_GAPS as u64 + 100;
		for seq in (0..=last).step_by(2) {
			assert_eq!(window.admit(seq), Ok(()));
		}
		assert_eq!(window.gaps.len(), MAX_GAPS as usize);
		let oldest_kept = window.gaps[0].0;
		assert_eq!(window.admit(oldest_kept), Ok(()));
		assert_eq!(window.admit(oldest_kept - 2), Err(Invalid::SeqTooOld), "forgotten");
		assert_eq!(window.admit(oldest_kept - 1), Err(Invalid::SeqTooOld), "counted, forgotten");
		// What is below the first seq counted never counted: one gap. A device's first
		// 1,000 messages, in a batch that expired, count after its next 3,000 did.
		let mut window = ReplayWindow::default();
		window.admit(5_000).unwrap();
		assert_eq!(window.gaps.to_vec(), vec![(0, 5_000 - REPLAY_WINDOW - 1)]);
		window.admit(5_000 + 3 * REPLAY_WINDOW).unwrap();
		assert_eq!(
			window.gaps.to_vec(),
			vec![(0, 4_999), (5_001, 5_000 + 2 * REPLAY_WINDOW - 1)],
			"the bitmap's seqs below the first joined the range below it"
		);
		for seq in 4_000..5_000 {
			assert_eq!(window.admit(seq), Ok(()));
		}
		assert_eq!(window.admit(4_999), Err(Invalid::SeqTooOld));
		assert_eq!(window.admit(5_001), Ok(()));
		assert_eq!(window.admit(5_001), Err(Invalid::SeqTooOld), "counted, left the window");
		assert_eq!(window.admit(5_000), Err(Invalid::SeqTooOld), "counted, left the window");
		assert_eq!(window.admit(6_000), Ok(()));
		assert_eq!(
			window.gaps.to_vec(),
			vec![(0, 3_999), (5_002, 5_999), (6_001, 5_000 + 2 * REPLAY_WINDOW - 1)],
			"split in two"
		);
	}

	#[test]
	fn an_expired_batch_split_by_a_minority_committer_still_counts_whole() {
		// A device's batch of seqs 1..=300 expired; its next 2,000 messages counted. An
		// operator holding the expired body commits every other message of it first:
		// each splits the batch's gap. The honest committer's messages must still count
		// when it commits the batch again.
		let mut window = ReplayWindow::default();
		for seq in 301..=2_300 {
			window.admit(seq).unwrap();
		}
		assert_eq!(window.gaps.to_vec(), vec![(0, 300)]);
		for seq in (1..=299).step_by(2) {
			assert_eq!(window.admit(seq), Ok(()), "the minority's copy of {seq}");
		}
		for seq in 1..=300 {
			let expected = if seq % 2 == 1 { Err(Invalid::SeqTooOld) } else { Ok(()) };
			assert_eq!(window.admit(seq), expected, "the honest recommit of {seq}");
		}
	}

	fn device(
		pair: &ed25519::Pair,
		registered_at: u32,
		revoked_at: Option<u32>,
	) -> DeviceRecord<u32> {
		DeviceRecord {
			key: DeviceKey::Ed25519(pair.public().0),
			did: None,
			by_did: None,
			status: if revoked_at.is_some() { DeviceStatus::Revoked } else { DeviceStatus::Active },
			registered_at,
			revoked_at,
		}
	}

	#[test]
	fn each_rule_has_its_reason() {
		let pair = ed25519::Pair::from_seed(&[1; 32]);
		let context = Context { project: 3, committed_at: 100u32, committed_at_ms: 1_000_000_000 };
		let record = device(&pair, 10, None);
		let message = Message {
			project: 3,
			device: record.key.device_id(),
			seq: 1,
			timestamp_ms: 1_000_000_000 - 1000,
			event_type: b"DEFAULT".to_vec(),
			payload: b"{}".to_vec(),
			encrypted: false,
		};
		let sign = |m: &Message| DeviceSignature::Ed25519(pair.sign(m.hash().as_bytes()).0);
		assert_eq!(check(&context, &message, &sign(&message), Some(&record)), Ok(()));
		let with = |f: fn(&mut Message)| {
			let mut m = message.clone();
			f(&mut m);
			check(&context, &m, &sign(&m), Some(&record))
		};
		assert_eq!(with(|m| m.project = 4), Err(Invalid::WrongProject));
		assert_eq!(with(|m| m.payload = vec![0; MAX_PAYLOAD + 1]), Err(Invalid::Oversized));
		assert_eq!(with(|m| m.payload = vec![0; MAX_PAYLOAD]), Ok(()));
		assert_eq!(with(|m| m.event_type.clear()), Err(Invalid::Oversized));
		// A device posing as a contract log.
		assert_eq!(
			with(|m| m.event_type = b"evm:Transfer".to_vec()),
			Err(Invalid::ReservedEventType)
		);
		assert_eq!(with(|m| m.event_type = b"EVM:Transfer".to_vec()), Ok(()));
		assert_eq!(with(|m| m.timestamp_ms -= MAX_AGE_MS), Err(Invalid::TooOld));
		assert_eq!(with(|m| m.timestamp_ms += MAX_AHEAD_MS + 1001), Err(Invalid::TooNew));
		assert_eq!(with(|m| m.device = H256::repeat_byte(9)), Err(Invalid::UnknownDevice));
		assert_eq!(check(&context, &message, &sign(&message), None), Err(Invalid::UnknownDevice));
		let late = device(&pair, 100, None);
		assert_eq!(
			check(&context, &message, &sign(&message), Some(&late)),
			Err(Invalid::UnknownDevice),
			"registered in the commitment's block: after the context"
		);
		let revoked = device(&pair, 10, Some(99));
		assert_eq!(
			check(&context, &message, &sign(&message), Some(&revoked)),
			Err(Invalid::RevokedDevice)
		);
		let revoked_later = device(&pair, 10, Some(100));
		assert_eq!(check(&context, &message, &sign(&message), Some(&revoked_later)), Ok(()));
		let mut forged = message.clone();
		forged.payload = b"{\"x\":1}".to_vec();
		assert_eq!(
			check(&context, &forged, &sign(&message), Some(&record)),
			Err(Invalid::BadSignature)
		);
		assert_eq!(
			check(&context, &message, &DeviceSignature::Ed25519([0; 64]), Some(&record)),
			Err(Invalid::BadSignature)
		);
	}

	#[test]
	fn only_what_no_honest_node_acknowledges_is_a_committer_fault() {
		use Invalid::*;
		let faults =
			[WrongProject, UnknownDevice, BadSignature, Oversized, Duplicate, ReservedEventType];
		let races = [RevokedDevice, TooOld, TooNew, Replayed, SeqTooOld];
		assert!(faults.iter().all(Invalid::is_committer_fault));
		assert!(races.iter().all(|r| !r.is_committer_fault()));
	}

	#[test]
	fn verdicts_bind_index_and_reason() {
		let base = verdicts_digest(&[(1, Invalid::BadSignature)]);
		assert_ne!(base, verdicts_digest(&[(2, Invalid::BadSignature)]));
		assert_ne!(base, verdicts_digest(&[(1, Invalid::Replayed)]));
		assert_ne!(base, verdicts_digest(&[]));
	}
}
