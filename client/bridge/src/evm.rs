//! Sending transactions from one key: explicit nonces (one manager per key: this
//! sender), fee bumping for transactions not mined in time, and confirmations.

use std::time::{Duration, Instant};

use alloy::{
	network::{ReceiptResponse, TransactionBuilder},
	primitives::{Address, Bytes, TxHash},
	providers::Provider,
	rpc::types::{TransactionReceipt, TransactionRequest},
};
use tracing::{info, warn};

use crate::{contract::CallError, metrics::Metrics, Error, Result};

/// How transactions are sent.
#[derive(Clone, Debug)]
pub struct SendOptions {
	/// Blocks a receipt must have on top of it (1: the block that holds it) before the
	/// transaction counts.
	pub confirmations: u64,
	/// How long a transaction may stay unmined before it is sent again at a higher price.
	pub bump_after: Duration,
	/// The highest gas price (wei) the relayer pays.
	pub max_gas_price: u128,
	/// How often receipts and blocks are polled.
	pub poll: Duration,
}

/// Gas a transaction may use beyond its estimate: an estimate is made against the
/// latest block and the state may move a little before the transaction is mined.
fn gas_limit(estimate: u64) -> u64 {
	estimate.saturating_add(estimate / 5).saturating_add(50_000)
}

/// Gas price for a replacement: 12.5% more (nodes want at least 10% more to replace a
/// pending transaction), at most `max`.
fn bumped(price: u128, max: u128) -> u128 {
	price.saturating_add(price / 8).saturating_add(1).min(max)
}

/// Sends transactions from one account, one at a time, in nonce order.
pub struct Sender<P> {
	provider: P,
	from: Address,
	chain_id: u64,
	next_nonce: u64,
	options: SendOptions,
	metrics: Metrics,
}

impl<P: Provider> Sender<P> {
	/// A sender for `from` (whose key `provider`'s wallet holds). Transactions of `from`
	/// still pending (sent before a restart) are waited for first, for at most four
	/// bump periods, so that the contract's state read next includes them.
	pub async fn new(
		provider: P,
		from: Address,
		options: SendOptions,
		metrics: Metrics,
	) -> Result<Self> {
		let chain_id = provider.get_chain_id().await.map_err(evm_error)?;
		let deadline = Instant::now() + options.bump_after * 4;
		let next_nonce = loop {
			let latest = provider.get_transaction_count(from).latest().await.map_err(evm_error)?;
			let pending =
				provider.get_transaction_count(from).pending().await.map_err(evm_error)?;
			if pending <= latest {
				break latest;
			}
			if Instant::now() > deadline {
				warn!(target: "w3b-relayer", %from, latest, pending, "transactions still pending: they will be replaced");
				break latest;
			}
			info!(target: "w3b-relayer", %from, count = pending - latest, "waiting for transactions sent before this start");
			tokio::time::sleep(options.poll).await;
		};
		Ok(Sender { provider, from, chain_id, next_nonce, options, metrics })
	}

	/// The account transactions are sent from.
	pub fn from(&self) -> Address {
		self.from
	}

	/// The EVM chain's id, as its endpoint reports it.
	pub fn chain_id(&self) -> u64 {
		self.chain_id
	}

	/// Simulates a call of `to` with `input` from this account: the gas it needs, or
	/// why it would fail.
	pub async fn estimate(&self, to: Address, input: &Bytes) -> Result<u64, CallError> {
		let call = TransactionRequest::default()
			.with_from(self.from)
			.with_to(to)
			.with_input(input.clone());
		self.provider.estimate_gas(call).await.map_err(CallError::from_transport)
	}

	/// Sends a call of `to` with `input` allowed `estimate` gas (plus a margin) and
	/// returns its receipt once it has the configured confirmations. A transaction not
	/// mined within the bump period is replaced (same nonce, higher price) until the
	/// price cap; whichever of them is mined is the one returned.
	pub async fn send(
		&mut self,
		to: Address,
		input: Bytes,
		estimate: u64,
	) -> Result<TransactionReceipt> {
		let nonce = self.next_nonce;
		let block_gas_limit = self
			.provider
			.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
			.await
			.map_err(evm_error)?
			.map(|block| block.header.gas_limit)
			.unwrap_or(u64::MAX);
		// Never above what a block holds: the transaction would be refused outright.
		let gas = gas_limit(estimate).min(block_gas_limit);
		let mut price = self
			.provider
			.get_gas_price()
			.await
			.map_err(evm_error)?
			.clamp(1, self.options.max_gas_price);
		let mut sent: Vec<TxHash> = Vec::new();
		loop {
			let tx = TransactionRequest::default()
				.with_from(self.from)
				.with_to(to)
				.with_input(input.clone())
				.with_nonce(nonce)
				.with_gas_limit(gas)
				.with_gas_price(price)
				.with_chain_id(self.chain_id);
			match self.provider.send_transaction(tx).await {
				Ok(pending) => {
					sent.push(*pending.tx_hash());
					self.metrics.transactions_sent.inc();
				}
				Err(e) => {
					let message = e.to_string().to_lowercase();
					if message.contains("underpriced") {
						// A transaction of ours with this nonce pays more (sent before a
						// restart): outbid it.
						if price >= self.options.max_gas_price {
							return Err(Error::NotMined { nonce, gas_price: price });
						}
						price = bumped(price, self.options.max_gas_price);
						continue;
					}
					if sent.is_empty() {
						// Nothing of ours is known for this nonce: whatever the error (the
						// nonce was taken by another sender with this key, a node that
						// dropped our transactions...), count again from the account's
						// mined nonce. Not the pending one: a transaction the endpoint took
						// before failing to answer would count, and the next one would
						// queue behind it at a nonce that may never be mined; at the mined
						// nonce the next attempt replaces it instead.
						self.next_nonce = self
							.provider
							.get_transaction_count(self.from)
							.latest()
							.await
							.map_err(evm_error)?;
					}
					match CallError::from_transport(e) {
						CallError::InsufficientFunds(reason) => {
							return Err(Error::InsufficientFunds(reason))
						}
						other if sent.is_empty() => return Err(Error::Evm(other.describe())),
						// "already known", "nonce too low" after a send of ours, a time-out:
						// one of the transactions sent may still be mined: wait for it.
						other => {
							warn!(target: "w3b-relayer", nonce, error = %other.describe(), "replacement not accepted")
						}
					}
				}
			}
			if let Some(receipt) = self.wait_for_any(&sent).await? {
				self.next_nonce = nonce + 1;
				self.metrics.gas_used.inc_by(receipt.gas_used());
				return Ok(receipt);
			}
			if price >= self.options.max_gas_price {
				return Err(Error::NotMined { nonce, gas_price: price });
			}
			price = bumped(price, self.options.max_gas_price);
			self.metrics.fee_bumps.inc();
			info!(target: "w3b-relayer", nonce, gas_price = price, "not mined in time: sending again at a higher price");
		}
	}

	/// Waits one bump period for a receipt of any of `sent`, then for its confirmations.
	async fn wait_for_any(&self, sent: &[TxHash]) -> Result<Option<TransactionReceipt>> {
		let deadline = Instant::now() + self.options.bump_after;
		while Instant::now() < deadline {
			// A node that mines more than one of them (ganache does) leaves one that
			// succeeded and reverted twins: the one that succeeded is the answer.
			let mut mined = None;
			for hash in sent {
				let Some(receipt) =
					self.provider.get_transaction_receipt(*hash).await.map_err(evm_error)?
				else {
					continue;
				};
				if let Some(confirmed) = self.confirmed(receipt).await? {
					if confirmed.status() {
						return Ok(Some(confirmed));
					}
					mined.get_or_insert(confirmed);
				}
			}
			if mined.is_some() {
				return Ok(mined);
			}
			tokio::time::sleep(self.options.poll).await;
		}
		Ok(None)
	}

	/// `receipt` once its block has the confirmations asked for, read again then (a
	/// reorganisation may have dropped it: `None`, it is back in the pool). An endpoint
	/// whose head stops for ten bump periods is an error.
	async fn confirmed(&self, receipt: TransactionReceipt) -> Result<Option<TransactionReceipt>> {
		let Some(mined_in) = receipt.block_number() else { return Ok(None) };
		let wanted = mined_in + self.options.confirmations.max(1) - 1;
		let deadline = Instant::now() + self.options.bump_after * 10;
		loop {
			let head = self.provider.get_block_number().await.map_err(evm_error)?;
			if head >= wanted {
				break;
			}
			if Instant::now() > deadline {
				return Err(Error::Evm(format!(
					"the EVM head stays at {head}, below block {wanted} for confirmations"
				)));
			}
			tokio::time::sleep(self.options.poll).await;
		}
		if self.options.confirmations <= 1 {
			return Ok(Some(receipt));
		}
		let again = self
			.provider
			.get_transaction_receipt(receipt.transaction_hash)
			.await
			.map_err(evm_error)?;
		Ok(again.filter(|r| r.block_hash == receipt.block_hash))
	}
}

/// An EVM endpoint failure, kept as words with its causes (every one of them is worth
/// retrying).
pub fn evm_error(error: alloy::transports::TransportError) -> Error {
	Error::Evm(format!("{} (--evm-url)", crate::with_causes(&error)))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_replacement_pays_enough_more_to_replace_and_never_more_than_the_cap() {
		assert_eq!(bumped(1_000_000_000, u128::MAX), 1_125_000_001);
		assert!(bumped(100, u128::MAX) * 10 >= 100 * 11, "at least 10% more");
		assert_eq!(bumped(1, u128::MAX), 2, "even from one wei");
		assert_eq!(bumped(900, 1_000), 1_000);
	}

	#[test]
	fn the_gas_limit_leaves_room_above_the_estimate() {
		assert_eq!(gas_limit(100_000), 170_000);
		assert_eq!(gas_limit(u64::MAX), u64::MAX);
	}
}
