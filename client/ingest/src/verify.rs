//! Signature checks of many connections verified as one batch.
//!
//! An ed25519 batch of one costs more than checking the signature on its own, and a
//! batch of hundreds about a third of it: most devices send a message at a time, so
//! each connection's own burst is a poor batch. Small requests are queued here; a caller
//! that finds no batch running takes everything queued (its own request and those of
//! other connections) and verifies it as one batch, while callers arriving meanwhile
//! queue theirs for the next one (the same combining as the store's group commit).
//!
//! A bad signature fails the whole batch: then each request is verified again on its
//! own ([`verify_many`]), so a sender of bad signatures makes honest small requests pay
//! the shared batch and then their own check (about what a batch of one costs), never
//! more, and large requests (a gateway's burst) are verified by their caller alone, out
//! of reach of anyone else's signatures.

use std::{
	collections::HashMap,
	sync::{Condvar, Mutex, MutexGuard},
};

use sp_core::H256;
use w3b_primitives::{
	device::{verify_all, verify_many},
	DeviceKey, DeviceSignature,
};

/// A signature to check: the device's key, the message hash, the signature.
pub type Check = (DeviceKey, H256, DeviceSignature);

/// Requests of more checks than this are verified by their caller alone.
pub const SHARED_UP_TO: usize = 32;

/// Most checks in one shared batch: bounds how long a caller waits for the batch ahead
/// of its own.
pub const MAX_SHARED_BATCH: usize = 1024;

/// Verifies small requests of many callers together (see the module's documentation).
#[derive(Default)]
pub struct SharedVerifier {
	state: Mutex<Queue>,
	finished: Condvar,
}

#[derive(Default)]
struct Queue {
	/// Requests waiting for a batch, oldest first, by ticket.
	waiting: Vec<(u64, Vec<Check>)>,
	/// Outcomes of verified requests not picked up yet, by ticket.
	done: HashMap<u64, Vec<bool>>,
	next_ticket: u64,
	/// Whether a caller is verifying a batch now.
	running: bool,
}

impl SharedVerifier {
	/// Whether each check verifies, in order. Blocks until it is known: run it where
	/// blocking is allowed (a blocking thread).
	pub fn verify(&self, checks: Vec<Check>) -> Vec<bool> {
		if checks.is_empty() {
			return Vec::new();
		}
		if checks.len() > SHARED_UP_TO {
			return verify_own(&checks);
		}
		let mut queue = self.lock();
		let ticket = queue.next_ticket;
		queue.next_ticket += 1;
		queue.waiting.push((ticket, checks));
		loop {
			if let Some(outcome) = queue.done.remove(&ticket) {
				return outcome;
			}
			if queue.running {
				queue = self.finished.wait(queue).unwrap_or_else(|e| e.into_inner());
				continue;
			}
			// No batch running: this caller verifies the next one, which holds its own
			// request (nobody took it: it is not done) and those queued before and after.
			queue.running = true;
			let batch = take_batch(&mut queue.waiting);
			drop(queue);
			// Verification does not panic on any input (keys and signatures are fixed-size
			// bytes); were it to, the node's panic handler ends the process.
			let outcomes = verify_batch(&batch);
			queue = self.lock();
			for ((ticket, _), outcome) in batch.into_iter().zip(outcomes) {
				queue.done.insert(ticket, outcome);
			}
			queue.running = false;
			self.finished.notify_all();
		}
	}

	fn lock(&self) -> MutexGuard<'_, Queue> {
		// The queue holds no invariant a panicking holder could break half-way.
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}
}

/// The oldest waiting requests, up to [`MAX_SHARED_BATCH`] checks (at least one request).
fn take_batch(waiting: &mut Vec<(u64, Vec<Check>)>) -> Vec<(u64, Vec<Check>)> {
	let mut checks = 0;
	let count = waiting
		.iter()
		.take_while(|(_, request)| {
			checks += request.len();
			checks <= MAX_SHARED_BATCH
		})
		.count()
		.max(1);
	waiting.drain(..count).collect()
}

/// Each request's outcomes: all of them in one batch, or each request on its own when
/// that batch fails.
fn verify_batch(batch: &[(u64, Vec<Check>)]) -> Vec<Vec<bool>> {
	let all: Vec<_> = batch
		.iter()
		.flat_map(|(_, checks)| checks.iter().map(|(key, hash, signature)| (key, *hash, signature)))
		.collect();
	if verify_all(&all) {
		return batch.iter().map(|(_, checks)| vec![true; checks.len()]).collect();
	}
	batch.iter().map(|(_, checks)| verify_own(checks)).collect()
}

/// [`verify_many`] over owned checks.
fn verify_own(checks: &[Check]) -> Vec<bool> {
	let items: Vec<_> =
		checks.iter().map(|(key, hash, signature)| (key, *hash, signature)).collect();
	verify_many(&items)
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{ed25519, sr25519, Pair};
	use std::sync::Arc;

	/// A check of device `device`'s signature over message `n`, signed over message
	/// `n + 1` instead when `bad`.
	fn check(device: u8, n: u64, bad: bool) -> Check {
		let pair = ed25519::Pair::from_seed(&[device; 32]);
		let hash = H256::from_low_u64_be(n);
		let signed = if bad { H256::from_low_u64_be(n + 1) } else { hash };
		(
			DeviceKey::Ed25519(pair.public().0),
			hash,
			DeviceSignature::Ed25519(pair.sign(signed.as_bytes()).0),
		)
	}

	#[test]
	fn callers_at_once_each_get_their_own_outcomes() {
		let verifier = Arc::new(SharedVerifier::default());
		// Sixteen connections sending a message at a time, every seventh signature bad,
		// and two gateways sending bursts too large to share, one with a bad signature.
		let callers: Vec<_> = (0..18u8)
			.map(|device| {
				let verifier = verifier.clone();
				std::thread::spawn(move || {
					if device >= 16 {
						let burst: Vec<Check> =
							(0..100).map(|n| check(device, n, device == 17 && n == 50)).collect();
						let outcome = verifier.verify(burst);
						let expected: Vec<bool> =
							(0..100).map(|n| !(device == 17 && n == 50)).collect();
						assert_eq!(outcome, expected, "gateway {device}");
						return;
					}
					for n in 0..200u64 {
						let bad = (u64::from(device) + n) % 7 == 0;
						assert_eq!(verifier.verify(vec![check(device, n, bad)]), [!bad]);
					}
				})
			})
			.collect();
		for caller in callers {
			caller.join().expect("outcomes as expected");
		}
		let queue = verifier.lock();
		assert!(queue.waiting.is_empty() && queue.done.is_empty() && !queue.running);
	}

	#[test]
	fn a_shared_batch_that_fails_finds_the_bad_signatures_of_each_request() {
		let sr = sr25519::Pair::from_seed(&[9; 32]);
		let hash = H256::repeat_byte(3);
		let sr_good = (
			DeviceKey::Sr25519(sr.public().0),
			hash,
			DeviceSignature::Sr25519(sr.sign(hash.as_bytes()).0),
		);
		let batch = vec![
			(0, vec![check(1, 1, false), check(1, 2, false)]),
			(1, vec![check(2, 1, true)]),
			(2, vec![sr_good.clone(), check(3, 1, false)]),
		];
		assert_eq!(verify_batch(&batch), [vec![true, true], vec![false], vec![true, true]]);
		let good = vec![(0, vec![check(1, 1, false)]), (1, vec![sr_good, check(2, 2, false)])];
		assert_eq!(verify_batch(&good), [vec![true], vec![true, true]]);
	}

	#[test]
	fn batches_are_bounded_and_take_the_oldest_requests() {
		let request = |n: usize| vec![check(1, 1, false); n];
		let mut waiting = vec![(0, request(600)), (1, request(400)), (2, request(100))];
		let batch = take_batch(&mut waiting);
		assert_eq!(batch.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [0, 1]);
		assert_eq!(waiting.len(), 1);
		// A request over the bound alone still goes.
		let mut waiting = vec![(5, request(MAX_SHARED_BATCH + 1))];
		assert_eq!(take_batch(&mut waiting).len(), 1);
		assert!(SharedVerifier::default().verify(Vec::new()).is_empty());
	}
}
