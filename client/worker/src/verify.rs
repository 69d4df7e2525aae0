//! Judging a committed batch: which of its messages count. Every operator judges every
//! batch it executes, its own included, with the same rules
//! ([`w3b_primitives::validity`]) against the chain as of the batch's commitment and
//! against the project's replay windows, so that all honest operators drop the same
//! forged, foreign or replayed copies whoever committed them.

use std::collections::{BTreeMap, HashMap, HashSet};

use sp_core::H256;
use w3b_primitives::{
	device::verify_many,
	merkle::merkle_proof,
	project::DeviceRecord,
	validity::{check_unsigned, verdicts_digest, Context, Evidence, Invalid, ReplayWindow},
	BlockNumber, DeviceId,
};
use w3b_storage::BatchBody;

use crate::state::Windows;

/// Which messages of a batch count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
	/// Indices of the messages that count, in batch order.
	pub counted: Vec<usize>,
	/// Index and reason of every message that does not, in batch order.
	pub refused: Vec<(u32, Invalid)>,
	/// The replay windows of the devices whose messages counted, after the batch.
	pub windows: Windows,
}

impl Verdicts {
	/// Every message of `body` counts, none takes a device's replay window: a batch the
	/// chain made from what a quorum observed.
	pub fn all_count(body: &BatchBody) -> Self {
		Verdicts { counted: (0..body.messages.len()).collect(), ..Default::default() }
	}

	/// The digest the state root commits to.
	pub fn digest(&self) -> H256 {
		verdicts_digest(&self.refused)
	}

	/// The first refused message that shows the chain its committer at fault, if any.
	pub fn first_fault(&self) -> Option<(u32, Invalid)> {
		first_fault(&self.refused, |_, _| true)
	}
}

/// The first of `refused` that shows the chain its batch's committer at fault, if any,
/// among those `judged` says the chain will judge (a bad signature of a device whose DID
/// changed its key around the commitment proves nothing, and a report of it would fail
/// and cost its sender: the committer could hide its real faults behind one).
pub fn first_fault(
	refused: &[(u32, Invalid)],
	judged: impl Fn(u32, Invalid) -> bool,
) -> Option<(u32, Invalid)> {
	refused
		.iter()
		.copied()
		.find(|(index, reason)| reason.is_committer_fault() && judged(*index, *reason))
}

/// Judges every message of `body`, committed in `context`: `devices` holds the records
/// of its devices as of the commitment (those the chain has), `window` gives a device's
/// replay window as the batch starts.
pub fn judge(
	context: &Context<BlockNumber>,
	body: &BatchBody,
	devices: &HashMap<DeviceId, DeviceRecord<BlockNumber>>,
	window: impl Fn(&DeviceId) -> ReplayWindow,
) -> Verdicts {
	let hashes = body.hashes();
	let mut verdict: Vec<Option<Invalid>> = vec![None; hashes.len()];
	let mut seen = HashSet::with_capacity(hashes.len());
	let mut to_verify = Vec::with_capacity(hashes.len());
	for (i, stored) in body.messages.iter().enumerate() {
		let message = &stored.message;
		let device = devices.get(&message.device);
		let reason = if !seen.insert(hashes[i]) {
			Err(Invalid::Duplicate)
		} else {
			check_unsigned(context, message, device)
		};
		match (reason, device) {
			(Ok(()), Some(device)) => {
				to_verify.push((i, (&device.key, hashes[i], &stored.signature)))
			}
			(Ok(()), None) => verdict[i] = Some(Invalid::UnknownDevice),
			(Err(reason), _) => verdict[i] = Some(reason),
		}
	}
	let items: Vec<_> = to_verify.iter().map(|(_, item)| *item).collect();
	for ((i, _), ok) in to_verify.iter().zip(verify_many(&items)) {
		if !ok {
			verdict[*i] = Some(Invalid::BadSignature);
		}
	}
	// Replays last, in batch order: only a message that could count takes its `seq`.
	let mut windows: BTreeMap<DeviceId, ReplayWindow> = BTreeMap::new();
	let mut verdicts = Verdicts::default();
	for (i, stored) in body.messages.iter().enumerate() {
		let reason = match verdict[i] {
			Some(reason) => Err(reason),
			None => {
				let device = stored.message.device;
				windows.entry(device).or_insert_with(|| window(&device)).admit(stored.message.seq)
			}
		};
		match reason {
			Ok(()) => verdicts.counted.push(i),
			Err(reason) => verdicts.refused.push((i as u32, reason)),
		}
	}
	verdicts.windows = windows;
	verdicts
}

/// The evidence that message `index` of `body` could never count for `reason` (a
/// committer's fault), for `commitments.report_invalid_batch`.
pub fn evidence(body: &BatchBody, index: u32, reason: Invalid) -> Option<Evidence> {
	let (hashes, leaves) = (body.hashes(), body.leaves());
	let index = index as usize;
	let stored = body.messages.get(index)?;
	let at = |i: usize| Some((body.messages.get(i)?.signature.clone(), merkle_proof(&leaves, i)?));
	match reason {
		Invalid::Duplicate => {
			let first = hashes.iter().position(|h| *h == hashes[index])?;
			Some(Evidence::Duplicate {
				message_hash: hashes[index],
				first: at(first)?,
				second: at(index)?,
			})
		}
		reason if reason.is_committer_fault() => Some(Evidence::Invalid {
			message: stored.message.clone(),
			signature: stored.signature.clone(),
			proof: merkle_proof(&leaves, index)?,
		}),
		_ => None,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{ed25519, Pair};
	use w3b_primitives::{
		merkle::{merkle_root, verify_proof},
		project::DeviceStatus,
		DeviceKey, DeviceSignature, Message,
	};
	use w3b_storage::StoredMessage;

	const NOW: u64 = 1_800_000_000_000;

	fn context() -> Context<BlockNumber> {
		Context { project: 1, committed_at: 50, committed_at_ms: NOW }
	}

	struct Device {
		pair: ed25519::Pair,
		record: DeviceRecord<BlockNumber>,
	}

	impl Device {
		fn new(seed: u8) -> Self {
			let pair = ed25519::Pair::from_seed(&[seed; 32]);
			let record = DeviceRecord {
				key: DeviceKey::Ed25519(pair.public().0),
				did: None,
				by_did: None,
				status: DeviceStatus::Active,
				registered_at: 1,
				revoked_at: None,
			};
			Device { pair, record }
		}

		fn id(&self) -> DeviceId {
			self.record.key.device_id()
		}

		fn message(&self, seq: u64) -> StoredMessage {
			let message = Message {
				project: 1,
				device: self.id(),
				seq,
				timestamp_ms: NOW - 1000,
				event_type: b"DEFAULT".to_vec(),
				payload: seq.to_le_bytes().to_vec(),
				encrypted: false,
			};
			let signature = DeviceSignature::Ed25519(self.pair.sign(message.hash().as_bytes()).0);
			StoredMessage { message, signature, received_ms: NOW }
		}
	}

	fn directory(devices: &[&Device]) -> HashMap<DeviceId, DeviceRecord<BlockNumber>> {
		devices.iter().map(|d| (d.id(), d.record.clone())).collect()
	}

	#[test]
	fn forged_foreign_and_repeated_messages_do_not_count() {
		let alice = Device::new(1);
		let stranger = Device::new(2);
		let mut tampered = alice.message(3);
		tampered.message.payload = b"forged".to_vec();
		let mut zeroed = alice.message(4);
		zeroed.signature = DeviceSignature::Ed25519([0; 64]);
		let body = BatchBody {
			messages: vec![
				alice.message(1),
				stranger.message(1),
				alice.message(2),
				tampered,
				alice.message(2),
				zeroed,
				alice.message(5),
			],
		};
		let verdicts = judge(&context(), &body, &directory(&[&alice]), |_| ReplayWindow::default());
		assert_eq!(verdicts.counted, [0, 2, 6]);
		assert_eq!(
			verdicts.refused,
			[
				(1, Invalid::UnknownDevice),
				(3, Invalid::BadSignature),
				(4, Invalid::Duplicate),
				(5, Invalid::BadSignature)
			]
		);
		assert_eq!(verdicts.first_fault(), Some((1, Invalid::UnknownDevice)));
		// A fault the chain would not judge is passed over for the next one.
		let refused = [(0, Invalid::BadSignature), (3, Invalid::Oversized)];
		let unjudged_signatures = |_, reason| reason != Invalid::BadSignature;
		assert_eq!(first_fault(&refused, unjudged_signatures), Some((3, Invalid::Oversized)));
		assert_eq!(first_fault(&refused[..1], unjudged_signatures), None);
		let mut expected = ReplayWindow::default();
		for seq in [1, 2, 5] {
			expected.admit(seq).unwrap();
		}
		assert_eq!(verdicts.windows.get(&alice.id()), Some(&expected));
	}

	#[test]
	fn a_seq_counted_in_an_earlier_batch_is_a_replay_not_a_fault() {
		let alice = Device::new(1);
		let body = BatchBody { messages: vec![alice.message(7), alice.message(8)] };
		let mut before = ReplayWindow::default();
		before.admit(7).unwrap();
		let verdicts = judge(&context(), &body, &directory(&[&alice]), |_| before.clone());
		assert_eq!(verdicts.counted, [1]);
		assert_eq!(verdicts.refused, [(0, Invalid::Replayed)]);
		assert_eq!(verdicts.first_fault(), None, "a device may send one message to two nodes");
	}

	#[test]
	fn verdicts_do_not_depend_on_who_judges() {
		// Two judges with the same inputs agree on the verdicts and their digest; a
		// different set of counted messages gives another digest.
		let alice = Device::new(1);
		let body = BatchBody { messages: (1..=20).map(|s| alice.message(s)).collect() };
		let one = judge(&context(), &body, &directory(&[&alice]), |_| ReplayWindow::default());
		let two = judge(&context(), &body, &directory(&[&alice]), |_| ReplayWindow::default());
		assert_eq!(one, two);
		assert_eq!(one.digest(), two.digest());
		let mut later = ReplayWindow::default();
		later.admit(10).unwrap();
		let three = judge(&context(), &body, &directory(&[&alice]), |_| later.clone());
		assert_ne!(one.digest(), three.digest());
	}

	#[test]
	fn evidence_proves_the_message_against_the_root() {
		let alice = Device::new(1);
		let stranger = Device::new(2);
		let mut unsigned = alice.message(2);
		unsigned.signature = DeviceSignature::Ed25519([0; 64]);
		let body = BatchBody {
			messages: vec![alice.message(1), stranger.message(1), alice.message(1), unsigned],
		};
		let root = merkle_root(&body.leaves());
		let leaf = |message: &Message, signature: &DeviceSignature| {
			w3b_primitives::message::signed_message_hash(&message.hash(), signature)
		};
		for (index, reason) in [(1, Invalid::UnknownDevice), (3, Invalid::BadSignature)] {
			match evidence(&body, index, reason) {
				Some(Evidence::Invalid { message, signature, proof }) => {
					assert!(verify_proof(&root, 4, &leaf(&message, &signature), &proof));
					assert_eq!(proof.leaf_index, index);
				}
				other => panic!("{other:?}"),
			}
		}
		match evidence(&body, 2, Invalid::Duplicate) {
			Some(Evidence::Duplicate { message_hash, first, second }) => {
				assert_eq!((first.1.leaf_index, second.1.leaf_index), (0, 2));
				let leaf_of = |signature| {
					w3b_primitives::message::signed_message_hash(&message_hash, signature)
				};
				assert!(verify_proof(&root, 4, &leaf_of(&first.0), &first.1));
				assert!(verify_proof(&root, 4, &leaf_of(&second.0), &second.1));
			}
			other => panic!("{other:?}"),
		}
		assert_eq!(evidence(&body, 2, Invalid::Replayed), None);
	}
}
