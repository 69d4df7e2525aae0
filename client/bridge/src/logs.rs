//! Inbound: the logs of a range of EVM blocks, read the way an operator's node observes
//! them for a project's subscription (`pallets/inbound`). The reader only reports what
//! its endpoint says; the appchain takes a range only when a quorum of the subnet
//! reported the same.

use alloy::{
	primitives::{Address, B256},
	providers::{DynProvider, Provider, ProviderBuilder},
	rpc::types::Filter,
};

use crate::{with_causes, Error, Result};

/// What to read: the logs of `contract` matching `topics` in blocks `from..=to`, once
/// `to` is `confirmations` blocks deep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogQuery {
	/// The contract.
	pub contract: [u8; 20],
	/// Topic filter by position: `None` matches any.
	pub topics: Vec<Option<[u8; 32]>>,
	/// First block.
	pub from: u64,
	/// Last block.
	pub to: u64,
	/// Blocks needed on top of `to`.
	pub confirmations: u32,
}

/// A log as the endpoint returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLog {
	/// Block number.
	pub block_number: u64,
	/// Block hash.
	pub block_hash: [u8; 32],
	/// Transaction hash.
	pub transaction_hash: [u8; 32],
	/// Index in the block.
	pub log_index: u64,
	/// Topics.
	pub topics: Vec<[u8; 32]>,
	/// Data.
	pub data: Vec<u8>,
}

/// Reads logs from one EVM endpoint.
#[derive(Clone, Debug)]
pub struct LogReader {
	provider: DynProvider,
}

impl LogReader {
	/// A reader of the endpoint at `url` (named by `flag` in errors).
	pub fn new(url: &str, flag: &str) -> Result<Self> {
		let provider = ProviderBuilder::new()
			.disable_recommended_fillers()
			.connect_client(crate::rpc_client(url, flag, crate::REQUEST_TIMEOUT)?)
			.erased();
		Ok(LogReader { provider })
	}

	/// The chain id the endpoint serves.
	pub async fn chain_id(&self) -> Result<u64> {
		self.provider.get_chain_id().await.map_err(|e| Error::Evm(with_causes(&e)))
	}

	/// The logs `query` names in (block, index) order, or `None` while its last block
	/// is not deep enough. A log the endpoint marks removed, or returns without its
	/// block, transaction or index, makes the read fail: the endpoint is not settled
	/// on those blocks, and the caller tries again later.
	pub async fn read(&self, query: &LogQuery) -> Result<Option<Vec<RawLog>>> {
		let head =
			self.provider.get_block_number().await.map_err(|e| Error::Evm(with_causes(&e)))?;
		if head < query.to.saturating_add(u64::from(query.confirmations)) {
			return Ok(None);
		}
		let mut filter = Filter::new()
			.address(Address::from(query.contract))
			.from_block(query.from)
			.to_block(query.to);
		for (position, topic) in query.topics.iter().enumerate().take(4) {
			if let Some(topic) = topic {
				filter.topics[position] = B256::from(*topic).into();
			}
		}
		let logs =
			self.provider.get_logs(&filter).await.map_err(|e| Error::Evm(with_causes(&e)))?;
		let mut raw = Vec::with_capacity(logs.len());
		for log in logs {
			let unsettled = || {
				Error::Evm(format!(
					"a log of blocks {}..={} is not settled on the endpoint",
					query.from, query.to
				))
			};
			if log.removed || log.inner.address != Address::from(query.contract) {
				return Err(unsettled());
			}
			raw.push(RawLog {
				block_number: log.block_number.ok_or_else(unsettled)?,
				block_hash: log.block_hash.ok_or_else(unsettled)?.0,
				transaction_hash: log.transaction_hash.ok_or_else(unsettled)?.0,
				log_index: log.log_index.ok_or_else(unsettled)?,
				topics: log.inner.data.topics().iter().map(|t| t.0).collect(),
				data: log.inner.data.data.to_vec(),
			});
		}
		if raw.iter().any(|l| !(query.from..=query.to).contains(&l.block_number)) {
			return Err(Error::Evm(format!(
				"the endpoint returned logs outside blocks {}..={}",
				query.from, query.to
			)));
		}
		raw.sort_by_key(|l| (l.block_number, l.log_index));
		Ok(Some(raw))
	}
}
