//! The relayer's Prometheus metrics (`--prometheus-port`), all prefixed `w3b_relayer_`.

use prometheus_endpoint::{
	prometheus::core::Collector, register, Counter, Gauge, PrometheusError, Registry, U64,
};

/// Counters and gauges of one relayer.
#[derive(Clone)]
pub struct Metrics {
	/// Batches the contract verified through this relayer's transactions.
	pub batches_relayed: Counter<U64>,
	/// Batches found verified already (by another relayer, or before a restart).
	pub batches_found_verified: Counter<U64>,
	/// Outputs the contract marked delivered after this relayer's transactions.
	pub outputs_delivered: Counter<U64>,
	/// Deliveries that failed at the receiver (each attempt counts).
	pub output_failures: Counter<U64>,
	/// Outputs given up after the last retry, and batches refused or pruned.
	pub permanent_failures: Counter<U64>,
	/// Validator-set hand-overs relayed.
	pub set_changes_relayed: Counter<U64>,
	/// Transactions sent, replacements included.
	pub transactions_sent: Counter<U64>,
	/// Replacements at a higher gas price.
	pub fee_bumps: Counter<U64>,
	/// Gas used by this relayer's mined transactions.
	pub gas_used: Counter<U64>,
	/// Errors worth retrying (an endpoint down, a time-out).
	pub transient_errors: Counter<U64>,
	/// The next batch nonce to relay.
	pub next_nonce: Gauge<U64>,
	/// Batches the appchain has sealed that are not relayed yet.
	pub batches_behind: Gauge<U64>,
	/// Undelivered outputs' batches waiting for a retry.
	pub retries_waiting: Gauge<U64>,
}

impl Metrics {
	/// The metrics, registered in `registry` if there is one.
	pub fn new(registry: Option<&Registry>) -> Result<Self, PrometheusError> {
		let counter = |name: &str, help: &str| {
			registered(Counter::new(format!("w3b_relayer_{name}"), help)?, registry)
		};
		let gauge = |name: &str, help: &str| {
			registered(Gauge::new(format!("w3b_relayer_{name}"), help)?, registry)
		};
		Ok(Metrics {
			batches_relayed: counter(
				"batches_relayed_total",
				"Batches verified by this relayer's transactions",
			)?,
			batches_found_verified: counter(
				"batches_found_verified_total",
				"Batches found verified already",
			)?,
			outputs_delivered: counter(
				"outputs_delivered_total",
				"Outputs delivered by this relayer's transactions",
			)?,
			output_failures: counter(
				"output_failures_total",
				"Deliveries that failed at the receiver",
			)?,
			permanent_failures: counter(
				"permanent_failures_total",
				"Failures given up on and recorded",
			)?,
			set_changes_relayed: counter(
				"set_changes_relayed_total",
				"Validator-set hand-overs relayed",
			)?,
			transactions_sent: counter(
				"transactions_sent_total",
				"Transactions sent, replacements included",
			)?,
			fee_bumps: counter("fee_bumps_total", "Replacements at a higher gas price")?,
			gas_used: counter("gas_used_total", "Gas used by mined transactions")?,
			transient_errors: counter("transient_errors_total", "Errors retried later")?,
			next_nonce: gauge("next_nonce", "The next batch nonce to relay")?,
			batches_behind: gauge("batches_behind", "Sealed batches not relayed yet")?,
			retries_waiting: gauge("retries_waiting", "Batches with outputs waiting for a retry")?,
		})
	}
}

/// `metric`, registered in `registry` if there is one.
fn registered<M: Clone + Collector + 'static>(
	metric: M,
	registry: Option<&Registry>,
) -> Result<M, PrometheusError> {
	match registry {
		Some(registry) => register(metric, registry),
		None => Ok(metric),
	}
}
