//! The worker's metrics on the node's Prometheus endpoint (`w3b_*`).

use prometheus_endpoint::{
	exponential_buckets, register, Counter, CounterVec, Gauge, Histogram, HistogramOpts, Opts,
	PrometheusError, Registry, U64,
};

/// Counters and timings of ingestion, sealing, execution and attestation.
#[derive(Clone)]
pub struct Metrics {
	/// Messages stored.
	pub messages_ingested: Counter<U64>,
	/// Messages refused, by reason (the stable error code).
	pub messages_rejected: CounterVec<U64>,
	/// Batches this node committed (included on chain).
	pub batches_committed: Counter<U64>,
	/// Batches executed.
	pub batches_executed: Counter<U64>,
	/// Attestations submitted.
	pub attestations_sent: Counter<U64>,
	/// Proofs of executed batches finalized (GRANDPA-final).
	pub proofs_finalized: Counter<U64>,
	/// Proofs of executed batches expired.
	pub proofs_expired: Counter<U64>,
	/// Messages of finalized batches executed here, by project and verdict (`counted`,
	/// or why a message did not count).
	pub batch_messages: CounterVec<U64>,
	/// Batches finalized on another state than the one computed here.
	pub state_divergences: Counter<U64>,
	/// Batches whose agreed changes this node took from a peer (it could not compute
	/// them).
	pub state_syncs: Counter<U64>,
	/// Wall-clock time to execute a batch.
	pub execution_seconds: Histogram,
	/// Projects whose new messages the node refuses for now, being behind on their work
	/// (as of the worker's last pass).
	pub projects_behind: Gauge<U64>,
}

impl Metrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let counter = |name: &str, help: &str| register(Counter::new(name, help)?, registry);
		Ok(Metrics {
			messages_ingested: counter(
				"w3b_messages_ingested_total",
				"Device messages verified and durably stored",
			)?,
			messages_rejected: register(
				CounterVec::new(
					Opts::new("w3b_messages_rejected_total", "Device messages refused, by reason"),
					&["reason"],
				)?,
				registry,
			)?,
			batches_committed: counter(
				"w3b_batches_committed_total",
				"Batches this node sealed whose commitment was included",
			)?,
			batches_executed: counter("w3b_batches_executed_total", "Batches executed")?,
			attestations_sent: counter(
				"w3b_attestations_sent_total",
				"Attestations submitted to the pool",
			)?,
			proofs_finalized: counter(
				"w3b_proofs_finalized_total",
				"Proofs of executed batches finalized in a GRANDPA-final block",
			)?,
			proofs_expired: counter(
				"w3b_proofs_expired_total",
				"Proofs of executed batches that expired without a quorum",
			)?,
			batch_messages: register(
				CounterVec::new(
					Opts::new(
						"w3b_batch_messages_total",
						"Messages of finalized batches, by project and verdict (counted, or why not)",
					),
					&["project", "verdict"],
				)?,
				registry,
			)?,
			state_divergences: counter(
				"w3b_state_divergences_total",
				"Batches finalized on another state than the one this node computed",
			)?,
			state_syncs: counter(
				"w3b_state_syncs_total",
				"Batches whose agreed changes this node took from a peer, having computed them otherwise",
			)?,
			execution_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"w3b_execution_seconds",
						"Wall-clock time to execute one batch",
					)
					.buckets(exponential_buckets(0.001, 2.0, 14)?),
				)?,
				registry,
			)?,
			projects_behind: register(
				Gauge::new(
					"w3b_projects_behind",
					"Projects whose new messages the node refuses for now (backlogged): its worker runs behind on them",
				)?,
				registry,
			)?,
		})
	}
}

impl Metrics {
	/// A batch of `project` is final here: `counted` of its messages counted, `refused`
	/// did not (each by its reason).
	pub fn batch_final(
		&self,
		project: w3b_primitives::ProjectId,
		counted: u64,
		refused: &[(u32, w3b_primitives::validity::Invalid)],
	) {
		self.proofs_finalized.inc();
		let label = project.to_string();
		self.batch_messages.with_label_values(&[label.as_str(), "counted"]).inc_by(counted);
		for (_, reason) in refused {
			self.batch_messages.with_label_values(&[label.as_str(), reason.code()]).inc();
		}
	}
}

impl w3b_ingest::IngestObserver for Metrics {
	fn stored(&self, count: usize) {
		self.messages_ingested.inc_by(count as u64);
	}

	fn refused(&self, code: &'static str) {
		self.messages_rejected.with_label_values(&[code]).inc();
	}
}
