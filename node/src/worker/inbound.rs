//! Inbound: the operator's node observes the EVM logs its projects subscribed to
//! (`pallets/inbound`) and votes what it saw. Each read runs as its own task against the
//! chain's endpoint (`--w3b-evm-url CHAIN=URL`), off the worker's loop: a slow or dead
//! endpoint never stalls sealing, execution or voting on batches. The chain accepts a
//! range once a quorum of the subnet voted the same observation; its logs then come back
//! as a batch made on chain, which the worker runs like any other.

use std::collections::{HashMap, HashSet};

use sp_core::H256;
use sp_runtime::BoundedVec;
use tokio::sync::mpsc;
use w3b_bridge::logs::{LogQuery, LogReader, RawLog};
use w3b_primitives::{
	inbound::{cut_range, EvmLog, Observation, Subscription, MAX_LOG_DATA},
	ProjectId,
};
use w3b_runtime::BlockNumber;

/// Blocks a vote waits to be seen on chain before the range is read and voted again
/// (the transaction may have been dropped).
const RESEND_AFTER_BLOCKS: BlockNumber = 10;

/// A subscription's range: project, subscription id, first EVM block.
pub type RangeKey = (ProjectId, u32, u64);

/// What one read found: the observation to vote, `None` while the range is not deep
/// enough, or why the endpoint could not tell.
pub type Read = (RangeKey, Result<Option<Observation>, String>);

/// The reads under way and the votes sent.
pub struct LogObserver {
	readers: HashMap<u64, LogReader>,
	in_flight: HashSet<RangeKey>,
	/// The last vote sent per range, with the best block it was sent at.
	sent: HashMap<RangeKey, (H256, BlockNumber)>,
	/// Chains a subscription names that this node has no endpoint for (told once).
	told_missing: HashSet<u64>,
	done_tx: mpsc::UnboundedSender<Read>,
	done_rx: mpsc::UnboundedReceiver<Read>,
}

impl LogObserver {
	/// An observer reading each chain of `endpoints` (chain id, JSON-RPC URL).
	pub fn new(endpoints: &[(u64, String)]) -> Result<Self, String> {
		let mut readers = HashMap::new();
		for (chain, url) in endpoints {
			let reader = LogReader::new(url, "--w3b-evm-url").map_err(|e| e.to_string())?;
			readers.insert(*chain, reader);
		}
		let (done_tx, done_rx) = mpsc::unbounded_channel();
		Ok(LogObserver {
			readers,
			in_flight: HashSet::new(),
			sent: HashMap::new(),
			told_missing: HashSet::new(),
			done_tx,
			done_rx,
		})
	}

	/// Starts reading the range of `subscription` from `cursor`, unless a read of it is
	/// under way, this node sent a vote on it lately (best block `number`), or it has no
	/// endpoint for the subscription's chain.
	pub fn request(
		&mut self,
		project: ProjectId,
		id: u32,
		subscription: &Subscription,
		cursor: u64,
		number: BlockNumber,
	) {
		let key = (project, id, cursor);
		if self.sent.get(&key).is_some_and(|(_, at)| number < at + RESEND_AFTER_BLOCKS) {
			return;
		}
		let Some(reader) = self.readers.get(&subscription.chain_id).cloned() else {
			if self.told_missing.insert(subscription.chain_id) {
				log::warn!(
					target: "w3b",
					"project {project} subscribes to logs of chain {} but this node has no --w3b-evm-url for it: it does not observe them",
					subscription.chain_id
				);
			}
			return;
		};
		if !self.in_flight.insert(key) {
			return;
		}
		let last = cursor.saturating_add(u64::from(subscription.blocks_per_range.max(1)) - 1);
		let query = LogQuery {
			contract: subscription.contract.0,
			topics: subscription.topics.iter().map(|t| t.map(|t| t.0)).collect(),
			from: cursor,
			to: last,
			confirmations: subscription.confirmations,
		};
		let done = self.done_tx.clone();
		tokio::spawn(async move {
			let read = match reader.read(&query).await {
				Ok(Some(logs)) => Ok(Some(observation(cursor, last, logs))),
				Ok(None) => Ok(None),
				Err(e) => Err(e.to_string()),
			};
			let _ = done.send((key, read));
		});
	}

	/// Waits for a read to end.
	pub async fn next(&mut self) -> Option<Read> {
		let read = self.done_rx.recv().await?;
		self.in_flight.remove(&read.0);
		Some(read)
	}

	/// Records that a vote of `hash` on `key` was sent at best block `number`; forgets
	/// the ranges the chain moved past.
	pub fn sent(&mut self, key: RangeKey, hash: H256, number: BlockNumber) {
		self.sent.retain(|(project, id, cursor), _| {
			(*project, *id) != (key.0, key.1) || *cursor >= key.2
		});
		self.sent.insert(key, (hash, number));
	}

	/// The vote last sent on `key`, if any.
	pub fn last_sent(&self, key: &RangeKey) -> Option<H256> {
		self.sent.get(key).map(|(hash, _)| *hash)
	}
}

/// The observation of blocks `from..=last` given the logs the endpoint returned (in
/// order): data cut at [`MAX_LOG_DATA`] bytes, then the range cut to what one
/// observation holds ([`cut_range`]).
fn observation(from: u64, last: u64, logs: Vec<RawLog>) -> Observation {
	let logs = logs
		.into_iter()
		.map(|log| {
			let truncated = log.data.len() > MAX_LOG_DATA as usize;
			EvmLog {
				block_number: log.block_number,
				block_hash: H256(log.block_hash),
				transaction_hash: H256(log.transaction_hash),
				log_index: log.log_index as u32,
				topics: BoundedVec::truncate_from(log.topics.into_iter().map(H256).collect()),
				data: BoundedVec::truncate_from(log.data),
				data_truncated: truncated,
			}
		})
		.collect();
	cut_range(from, last, logs)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn long_data_is_cut_and_flagged() {
		let raw = RawLog {
			block_number: 5,
			block_hash: [1; 32],
			transaction_hash: [2; 32],
			log_index: 3,
			topics: vec![[4; 32]],
			data: vec![7; MAX_LOG_DATA as usize + 1],
		};
		let observation = observation(5, 9, vec![raw]);
		let log = &observation.logs[0];
		assert!(log.data_truncated);
		assert_eq!(log.data.len(), MAX_LOG_DATA as usize);
		assert_eq!((observation.from_block, observation.to_block), (5, 9));
	}
}
