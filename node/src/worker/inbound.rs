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
	inbound::{cut_range, Cursor, EvmLog, Observation, Subscription, MAX_LOG_DATA},
	ProjectId,
};
use w3b_runtime::BlockNumber;

/// Blocks between two reads of a range still open: a vote may have been dropped or undone
/// (a failed acceptance reverts it), or the endpoint may answer differently now (the
/// first answer came from a lagging or forked node), so each open range is read again
/// and voted again when the chain does not hold what this node now sees.
const REREAD_AFTER_BLOCKS: BlockNumber = 10;

/// A subscription's range: project, subscription id, where it starts.
pub type RangeKey = (ProjectId, u32, Cursor);

/// What one read found: the observation to vote, `None` while the range is not deep
/// enough, or why the endpoint could not tell.
pub type Read = (RangeKey, Result<Option<Observation>, String>);

/// The reads under way and the votes sent.
pub struct LogObserver {
	readers: HashMap<u64, LogReader>,
	in_flight: HashSet<RangeKey>,
	/// The best block at which each open range was last read to the end (voted, or
	/// found voted already).
	checked: HashMap<RangeKey, BlockNumber>,
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
			checked: HashMap::new(),
			told_missing: HashSet::new(),
			done_tx,
			done_rx,
		})
	}

	/// Starts reading the range of `subscription` from `cursor`, unless a read of it is
	/// under way, it was checked lately (before best block `number`), or this node has no
	/// endpoint for the subscription's chain. Returns whether a read started.
	pub fn request(
		&mut self,
		project: ProjectId,
		id: u32,
		subscription: &Subscription,
		cursor: Cursor,
		number: BlockNumber,
	) -> bool {
		let key = (project, id, cursor);
		if self.checked.get(&key).is_some_and(|at| number < at + REREAD_AFTER_BLOCKS) {
			return false;
		}
		let Some(reader) = self.readers.get(&subscription.chain_id).cloned() else {
			if self.told_missing.insert(subscription.chain_id) {
				log::warn!(
					target: "w3b",
					"project {project} subscribes to logs of chain {} but this node has no --w3b-evm-url for it: it does not observe them",
					subscription.chain_id
				);
			}
			return false;
		};
		if !self.in_flight.insert(key) {
			return false;
		}
		let last = cursor.block.saturating_add(u64::from(subscription.blocks_per_range.max(1)) - 1);
		let query = LogQuery {
			contract: subscription.contract.0,
			topics: subscription.topics.iter().map(|t| t.map(|t| t.0)).collect(),
			from: cursor.block,
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
		true
	}

	/// Waits for a read to end.
	pub async fn next(&mut self) -> Option<Read> {
		let read = self.done_rx.recv().await?;
		self.in_flight.remove(&read.0);
		Some(read)
	}

	/// Records that `key` was read to the end at best block `number` (a vote sent, or the
	/// chain found holding it); forgets the ranges the chain moved past, and those due
	/// for a new read anyway (of subscriptions since removed, say).
	pub fn checked(&mut self, key: RangeKey, number: BlockNumber) {
		self.checked.retain(|(project, id, cursor), at| {
			((*project, *id) != (key.0, key.1) || *cursor >= key.2)
				&& number < *at + REREAD_AFTER_BLOCKS
		});
		self.checked.insert(key, number);
	}
}

/// What to do with an observation of a range read to the end.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
	/// Vote it: the chain holds no vote of this node on the range, or another one.
	Vote,
	/// The chain holds this very vote.
	Voted,
	/// The range is no longer the open one (accepted meanwhile).
	Closed,
}

/// Decides on `observation` given, at the best block, where the subscription's open range
/// starts (`None`: it is gone) and this node's vote on it.
pub fn decide(
	observation: &Observation,
	open_from: Option<Cursor>,
	on_chain_vote: Option<H256>,
) -> Decision {
	if open_from != Some(observation.from) {
		Decision::Closed
	} else if on_chain_vote == Some(observation.hash()) {
		Decision::Voted
	} else {
		Decision::Vote
	}
}

/// The observation of the range from `from` to the end of block `last` given the logs
/// the endpoint returned for its blocks (in order): data cut at [`MAX_LOG_DATA`] bytes,
/// then the range cut to what one observation holds ([`cut_range`]).
fn observation(from: Cursor, last: u64, logs: Vec<RawLog>) -> Observation {
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
		let observation = observation(Cursor::at_block(5), 9, vec![raw]);
		let log = &observation.logs[0];
		assert!(log.data_truncated);
		assert_eq!(log.data.len(), MAX_LOG_DATA as usize);
		assert_eq!((observation.from, observation.to_block), (Cursor::at_block(5), 9));
	}

	#[test]
	fn a_vote_is_sent_again_when_the_chain_lost_it_and_changed_when_the_answer_changed() {
		let open = Cursor::at_block(10);
		let seen = observation(open, 14, Vec::new());
		let other = H256::repeat_byte(1);
		// Never voted, or the vote was undone (a failed acceptance reverts it).
		assert_eq!(decide(&seen, Some(open), None), Decision::Vote);
		// Voted something else (the endpoint answered differently before).
		assert_eq!(decide(&seen, Some(open), Some(other)), Decision::Vote);
		assert_eq!(decide(&seen, Some(open), Some(seen.hash())), Decision::Voted);
		// Accepted meanwhile (to the block's end, or to the middle of a block), or the
		// subscription is gone.
		assert_eq!(decide(&seen, Some(Cursor::at_block(15)), None), Decision::Closed);
		assert_eq!(decide(&seen, Some(Cursor { block: 10, log_index: 7 }), None), Decision::Closed);
		assert_eq!(decide(&seen, None, None), Decision::Closed);
	}

	#[tokio::test]
	async fn an_open_range_is_read_again_every_few_blocks() {
		// Nothing listens there: reads end with an error.
		let mut observer = LogObserver::new(&[(4690, "http://127.0.0.1:1".into())]).unwrap();
		let subscription = Subscription {
			chain_id: 4690,
			contract: Default::default(),
			topics: Default::default(),
			confirmations: 2,
			blocks_per_range: 5,
			event_type: BoundedVec::truncate_from(b"evm:Reading".to_vec()),
		};
		let open = Cursor::at_block(10);
		assert!(observer.request(1, 0, &subscription, open, 100));
		// One read of a range at a time.
		assert!(!observer.request(1, 0, &subscription, open, 101));
		let (key, read) = observer.next().await.unwrap();
		assert_eq!(key, (1, 0, open));
		assert!(read.is_err());
		observer.checked(key, 101);
		assert!(!observer.request(1, 0, &subscription, open, 101 + REREAD_AFTER_BLOCKS - 1));
		assert!(observer.request(1, 0, &subscription, open, 101 + REREAD_AFTER_BLOCKS));
		// A chain this node has no endpoint for is not read.
		let elsewhere = Subscription { chain_id: 1, ..subscription };
		assert!(!observer.request(1, 1, &elsewhere, Cursor::default(), 200));
	}

	#[test]
	fn ranges_of_removed_subscriptions_are_forgotten() {
		let mut observer = LogObserver::new(&[]).unwrap();
		// A thousand subscriptions, each read once and removed since.
		for id in 0..1_000 {
			observer.checked((1, id, Cursor::at_block(10)), 100);
		}
		// The chain moved past a range: it is forgotten at once.
		observer.checked((1, 0, Cursor::at_block(15)), 101);
		assert!(!observer.checked.contains_key(&(1, 0, Cursor::at_block(10))));
		// Once due for a new read, nothing is worth keeping of the others.
		observer.checked((2, 0, Cursor::at_block(10)), 100 + REREAD_AFTER_BLOCKS);
		let mut kept: Vec<_> = observer.checked.keys().copied().collect();
		kept.sort();
		assert_eq!(kept, [(1, 0, Cursor::at_block(15)), (2, 0, Cursor::at_block(10))]);
	}
}
