//! Token buckets per device and per project.

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

/// Token buckets keyed by `K`.
pub struct Buckets<K> {
	rate: Rate,
	buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> Buckets<K> {
	/// Buckets refilling at `rate`.
	pub fn new(rate: Rate) -> Self {
		Buckets { rate, buckets: Mutex::new(HashMap::new()) }
	}

	/// Takes a token for `key` at `now_ms`; false when none is left.
	pub fn take(&self, key: K, now_ms: u64) -> bool {
		let mut buckets = self.buckets.lock().expect("bucket lock");
		let bucket =
			buckets.entry(key).or_insert(Bucket { tokens: self.rate.burst, updated_ms: now_ms });
		let elapsed = now_ms.saturating_sub(bucket.updated_ms) as f64 / 1000.0;
		bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
		bucket.updated_ms = now_ms;
		if bucket.tokens >= 1.0 {
			bucket.tokens -= 1.0;
			true
		} else {
			false
		}
	}
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
	}
}
