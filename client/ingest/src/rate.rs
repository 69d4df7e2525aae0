//! Token buckets per device, per project and per sender address.

use std::{collections::HashMap, hash::Hash, sync::Mutex};

/// A rate: `per_second` sustained, bursts of `burst`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
	/// Messages per second, sustained.
	pub per_second: f64,
	/// Messages allowed at once after a quiet period.
	pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
	tokens: f64,
	updated_ms: u64,
}

/// Keys kept before full buckets are forgotten (a full bucket is what a new key gets).
const PRUNE_FROM: usize = 65_536;

/// Token buckets keyed by `K`. Memory stays with the keys that spent tokens recently:
/// past [`PRUNE_FROM`] keys, buckets that refilled are dropped.
pub struct Buckets<K> {
	rate: Rate,
	buckets: Mutex<Keyed<K>>,
}

struct Keyed<K> {
	buckets: HashMap<K, Bucket>,
	prune_at: usize,
}

impl<K: Hash + Eq> Buckets<K> {
	/// Buckets refilling at `rate`.
	pub fn new(rate: Rate) -> Self {
		Buckets {
			rate,
			buckets: Mutex::new(Keyed { buckets: HashMap::new(), prune_at: PRUNE_FROM }),
		}
	}

	/// Takes a token for `key` at `now_ms`; false when none is left.
	pub fn take(&self, key: K, now_ms: u64) -> bool {
		self.take_many(key, 1, now_ms)
	}

	/// Takes `count` tokens for `key` at `now_ms` if it has them all; false (and takes
	/// none) otherwise.
	pub fn take_many(&self, key: K, count: usize, now_ms: u64) -> bool {
		let mut keyed = self.buckets.lock().expect("bucket lock");
		if keyed.buckets.len() >= keyed.prune_at {
			let rate = self.rate;
			keyed.buckets.retain(|_, bucket| refill(bucket, rate, now_ms) < rate.burst);
			keyed.prune_at = (2 * keyed.buckets.len()).max(PRUNE_FROM);
		}
		let bucket = keyed
			.buckets
			.entry(key)
			.or_insert(Bucket { tokens: self.rate.burst, updated_ms: now_ms });
		let tokens = refill(bucket, self.rate, now_ms);
		if tokens >= count as f64 {
			bucket.tokens -= count as f64;
			true
		} else {
			false
		}
	}

	/// Keys with a bucket.
	pub fn len(&self) -> usize {
		self.buckets.lock().expect("bucket lock").buckets.len()
	}

	/// Whether no key has a bucket.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}
}

/// Refills `bucket` up to `now_ms`; answers its tokens.
fn refill(bucket: &mut Bucket, rate: Rate, now_ms: u64) -> f64 {
	let elapsed = now_ms.saturating_sub(bucket.updated_ms) as f64 / 1000.0;
	bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
	bucket.updated_ms = bucket.updated_ms.max(now_ms);
	bucket.tokens
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn bursts_then_refills() {
		let buckets = Buckets::new(Rate { per_second: 10.0, burst: 3.0 });
		assert!((0..3).all(|_| buckets.take("a", 0)));
		assert!(!buckets.take("a", 0));
		assert!(buckets.take("b", 0), "keys are separate");
		assert!(buckets.take("a", 100), "one token after 100 ms at 10/s");
		assert!(!buckets.take("a", 100));
		assert!((0..3).all(|_| buckets.take("a", 10_000)), "refilled to the burst, not beyond");
		assert!(!buckets.take("a", 10_000));
		assert!(!buckets.take_many("b", 4, 10_000), "all or nothing");
		assert!(buckets.take_many("b", 3, 10_000));
		assert!(!buckets.take("b", 10_000));
	}

	#[test]
	fn many_keys_are_forgotten_once_refilled() {
		let buckets = Buckets::new(Rate { per_second: 1.0, burst: 2.0 });
		for key in 0..PRUNE_FROM as u64 {
			assert!(buckets.take(key, 0));
		}
		assert_eq!(buckets.len(), PRUNE_FROM);
		// Key 0 spends again later: it keeps its state; the others refilled and go.
		assert!(buckets.take_many(0, 2, 1_000));
		assert!(buckets.take(u64::MAX, 1_000));
		assert_eq!(buckets.len(), 2);
		assert!(!buckets.take(0, 1_000), "key 0 kept its spent bucket");
	}
}
