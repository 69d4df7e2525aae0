//! The relay loop for one EVM chain: batches in nonce order (each with the validator-set
//! hand-overs it needs first), then the retries that are due.

use std::time::Duration;

use alloy::{
	network::ReceiptResponse,
	primitives::{Address, Bytes, U256},
	providers::Provider,
	rpc::types::TransactionReceipt,
	sol_types::SolEvent,
};
use tracing::{info, warn};

use crate::{
	contract::{CallError, W3bBridge, W3bBridgeErrors, W3bBridgeInstance},
	evm::{SendOptions, Sender},
	metrics::Metrics,
	node::{BatchSource, SignedBatch},
	state::{now, Failure, RelayState, Retry, StateStore},
	Error, Result,
};

/// What the relayer relays and how patiently.
#[derive(Clone, Debug)]
pub struct RelayConfig {
	/// The EVM chain id the appchain knows the target by.
	pub chain: u64,
	/// The contract expected; the one the appchain registered is used if none is given,
	/// and a mismatch stops the relayer.
	pub contract: Option<Address>,
	/// Where to start when the state directory is new.
	pub from_nonce: u64,
	/// How long to wait when there is nothing to do.
	pub poll: Duration,
	/// Deliveries tried for an output (the first with its batch) before it is recorded
	/// as a failure.
	pub max_attempts: u32,
	/// The wait before the first retry; it doubles with each attempt, up to an hour.
	pub retry_after: Duration,
}

/// Relays one chain's batches from `S` to its contract through `P`.
pub struct Relayer<S, P> {
	source: S,
	bridge: W3bBridgeInstance<P>,
	sender: Sender<P>,
	store: StateStore,
	state: RelayState,
	config: RelayConfig,
	metrics: Metrics,
	/// Relay transactions reverted on chain, by nonce.
	reverted: std::collections::BTreeMap<u64, u32>,
	/// The set current when the contract was registered.
	first_set: u64,
}

/// The longest wait between retries of an output, and between attempts after a
/// transient error.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(3600);
const MAX_ERROR_WAIT: Duration = Duration::from_secs(60);
/// Reasons the bridge gives for a delivery that no retry can change.
const HOPELESS: [&str; 2] = ["receiver is not a contract", "unknown kind"];

/// Relay transactions of one batch mined but reverted (the state moved between the
/// simulation and the block) before the batch is recorded as a failure.
const MAX_REVERTED: u32 = 3;

impl<S: BatchSource, P: Provider + Clone> Relayer<S, P> {
	/// A relayer sending from `from` (whose key `provider`'s wallet holds), resuming
	/// from `store`'s state.
	pub async fn new(
		source: S,
		provider: P,
		from: Address,
		config: RelayConfig,
		options: SendOptions,
		store: StateStore,
		metrics: Metrics,
	) -> Result<Self> {
		let target = source.target(config.chain).await?.ok_or_else(|| {
			Error::Config(format!(
				"the appchain has no bridge contract for chain {} (governance registers it with bridge.setTarget)",
				config.chain
			))
		})?;
		if let Some(expected) = config.contract {
			if expected != target.contract {
				return Err(Error::Config(format!(
					"the appchain's contract for chain {} is {}, not {expected}",
					config.chain, target.contract
				)));
			}
		}
		let code = provider.get_code_at(target.contract).await.map_err(crate::evm::evm_error)?;
		if code.is_empty() {
			return Err(Error::Config(format!(
				"no contract at {} on the EVM endpoint: is it chain {}?",
				target.contract, config.chain
			)));
		}
		let state = store.load(config.chain, target.contract)?.unwrap_or(RelayState {
			chain: config.chain,
			contract: target.contract,
			next_nonce: config.from_nonce,
			retries: Default::default(),
		});
		let sender = Sender::new(provider.clone(), from, options, metrics.clone()).await?;
		if sender.chain_id() != config.chain {
			return Err(Error::Config(format!(
				"the EVM endpoint is chain {}, not {}: check --evm-url and --chain-id",
				sender.chain_id(),
				config.chain
			)));
		}
		let bridge = W3bBridge::new(target.contract, provider.clone());
		let genesis = source.genesis_hash().await?;
		let salt = bridge.genesisHash().call().await.map_err(contract_error)?;
		if salt != genesis {
			return Err(Error::Config(format!(
				"the contract at {} was deployed for the appchain with genesis {salt}, the node's is {genesis}",
				target.contract
			)));
		}
		let balance = provider.get_balance(from).await.map_err(crate::evm::evm_error)?;
		if balance.is_zero() {
			warn!(target: "w3b-relayer", %from, "the relayer's account holds nothing to pay for gas: fund it");
		}
		info!(
			target: "w3b-relayer",
			chain = config.chain,
			contract = %target.contract,
			from = %from,
			next_nonce = state.next_nonce,
			retries = state.retries.len(),
			"relaying"
		);
		Ok(Relayer {
			source,
			bridge,
			sender,
			store,
			state,
			config,
			metrics,
			reverted: Default::default(),
			first_set: target.first_set,
		})
	}

	/// Where the relayer is.
	pub fn state(&self) -> &RelayState {
		&self.state
	}

	/// Relays until a permanent error (a contract that changed, a refused hand-over, a
	/// state file that cannot be written); transient errors are retried with backoff.
	pub async fn run(mut self) -> Result<()> {
		let mut error_wait = Duration::from_secs(1);
		loop {
			match self.step().await {
				Ok(progress) => {
					error_wait = Duration::from_secs(1);
					if !progress {
						tokio::time::sleep(self.config.poll).await;
					}
				}
				Err(e) if e.is_transient() => {
					self.metrics.transient_errors.inc();
					warn!(target: "w3b-relayer", error = %e, retry_in = ?error_wait, "will retry");
					tokio::time::sleep(error_wait).await;
					error_wait = (error_wait * 2).min(MAX_ERROR_WAIT);
				}
				Err(e) => return Err(e),
			}
		}
	}

	/// One pass: relays every batch that is ready, in order, then the retries that are
	/// due. Returns whether it did anything.
	pub async fn step(&mut self) -> Result<bool> {
		let chain = self.config.chain;
		let target = self.source.target(chain).await?.ok_or_else(|| {
			Error::Config(format!("the appchain no longer has a bridge contract for chain {chain}"))
		})?;
		self.first_set = target.first_set;
		if target.contract != self.state.contract {
			return Err(Error::Config(format!(
				"the appchain now registers contract {} for chain {chain} (was {}): start a relayer for it with its own --state-dir",
				target.contract, self.state.contract
			)));
		}
		self.metrics.next_nonce.set(self.state.next_nonce);
		self.metrics.batches_behind.set(target.next_nonce.saturating_sub(self.state.next_nonce));
		let mut progress = false;
		while self.state.next_nonce < target.next_nonce {
			let nonce = self.state.next_nonce;
			match self.source.batch(chain, nonce).await? {
				// Sealed (below the target's next nonce, read at the same block) but gone:
				// pruned, unless someone relayed it meanwhile.
				None => {
					if self.bridge.batchRoots(nonce).call().await.map_err(contract_error)?.is_zero()
					{
						self.fail(
							nonce,
							None,
							"batch pruned",
							"the appchain pruned it before it was relayed".into(),
						)?;
					} else {
						self.metrics.batches_found_verified.inc();
					}
				}
				Some(batch) if !batch.complete => break,
				Some(batch) => {
					if !self.ensure_set(batch.batch.setId).await? {
						break;
					}
					self.relay_batch(&batch).await?;
				}
			}
			self.state.next_nonce = nonce + 1;
			self.store.save(&self.state)?;
			self.metrics.next_nonce.set(self.state.next_nonce);
			progress = true;
		}
		if self.state.next_nonce == target.next_nonce {
			progress |= self.hand_over_ahead().await?;
		}
		let due: Vec<u64> = self
			.state
			.retries
			.iter()
			.filter(|(_, retry)| retry.next_at <= now())
			.map(|(nonce, _)| *nonce)
			.collect();
		for nonce in due {
			self.retry(nonce).await?;
			progress = true;
		}
		self.metrics.retries_waiting.set(self.state.retries.len() as u64);
		Ok(progress)
	}

	/// Relays the appchain's next hand-over as soon as the old set signed it, though no
	/// batch needs the new set yet: the contract follows the appchain's validators while
	/// no outputs flow, rather than learning of a change sessions late. Only once every
	/// sealed batch is relayed, so none signed by the old set meets a contract that moved
	/// on. True if it handed over.
	async fn hand_over_ahead(&mut self) -> Result<bool> {
		let current = self.bridge.setId().call().await.map_err(contract_error)?;
		match self.source.set_change(self.config.chain, current + 1).await? {
			Some(change) if change.complete => self.ensure_set(current + 1).await,
			_ => Ok(false),
		}
	}

	/// Brings the contract to validator set `set_id` if it is behind, relaying the
	/// hand-overs in order. False while a hand-over is not signed yet.
	async fn ensure_set(&mut self, set_id: u64) -> Result<bool> {
		let mut current = self.bridge.setId().call().await.map_err(contract_error)?;
		while current < set_id {
			let next = current + 1;
			let Some(change) = self.source.set_change(self.config.chain, next).await? else {
				if next <= self.first_set {
					// Deployed for an older set than the one current at registration:
					// no hand-over will ever lead from it.
					return Err(Error::Config(format!(
						"the contract is at validator set {current}, but the appchain registered it when set {} was current: deploy it again for the current set and register that",
						self.first_set
					)));
				}
				warn!(target: "w3b-relayer", set = next, "batches need set {set_id}, but the appchain has no hand-over to set {next} yet");
				return Ok(false);
			};
			if !change.complete {
				return Ok(false);
			}
			let input = self
				.bridge
				.changeValidatorSet(
					change.set_id,
					change.new_signers,
					change.new_threshold,
					change.first_nonce,
					change.signers,
					change.threshold,
					change.signatures,
				)
				.calldata()
				.clone();
			match self.transact(input).await? {
				Ok(receipt) => {
					if receipt.status() {
						self.metrics.set_changes_relayed.inc();
						info!(target: "w3b-relayer", set = next, tx = %receipt.transaction_hash, "validator set handed over");
					}
				}
				// Relayed by someone else meanwhile.
				Err(CallError::Contract(W3bBridgeErrors::SetIdNotIncreasing(_))) => {}
				Err(e) => return Err(call_failure("changeValidatorSet", e)),
			}
			let after = self.bridge.setId().call().await.map_err(contract_error)?;
			if after <= current {
				return Err(Error::Evm(format!(
					"the hand-over to set {next} was not applied; trying again"
				)));
			}
			current = after;
		}
		Ok(true)
	}

	/// Has the contract verify `batch` and deliver its outputs, unless it has verified
	/// it already; outputs left undelivered are scheduled for a retry.
	async fn relay_batch(&mut self, signed: &SignedBatch) -> Result<()> {
		let nonce = signed.batch.nonce;
		let mut root = self.bridge.batchRoots(nonce).call().await.map_err(contract_error)?;
		if root.is_zero() {
			let input = self
				.bridge
				.relay(
					signed.batch.clone(),
					signed.signers.clone(),
					signed.threshold,
					signed.signatures.clone(),
					signed.outputs.clone(),
				)
				.calldata()
				.clone();
			match self.transact(input).await? {
				Ok(receipt) => {
					self.log_failed_outputs(&receipt);
					if receipt.status() {
						self.metrics.batches_relayed.inc();
						self.metrics.outputs_delivered.inc_by(delivered_in(&receipt));
						info!(
							target: "w3b-relayer",
							nonce,
							outputs = signed.outputs.len(),
							gas = receipt.gas_used(),
							tx = %receipt.transaction_hash,
							"batch relayed"
						);
					}
				}
				Err(CallError::Contract(W3bBridgeErrors::BatchKnown(_))) => {}
				// The deliveries do not fit in one transaction (receivers that may each use
				// their whole gas allowance): verify only; the outputs go by retries.
				Err(CallError::Contract(W3bBridgeErrors::InsufficientGas(_))) => {
					self.submit_only(signed).await?
				}
				// The contract will never take this set's signature for this nonce again.
				Err(CallError::Contract(
					ref stale @ (W3bBridgeErrors::StaleSet(_) | W3bBridgeErrors::UnknownSet(_)),
				)) => {
					return self.fail(nonce, None, "batch refused", format!("{stale:?}"));
				}
				Err(e @ (CallError::Transient(_) | CallError::InsufficientFunds(_))) => {
					return Err(call_failure("relay", e))
				}
				// Signatures, root or outputs that do not verify: the appchain verified them
				// before sealing, so the node serves something else than it sealed (or lies).
				// Never skipped: tried again until the node serves the batch it signed.
				Err(refused) => {
					return Err(Error::Node(format!(
						"batch {nonce} as the node serves it is refused by the contract ({}): not skipping it",
						refused.describe()
					)));
				}
			}
			root = self.bridge.batchRoots(nonce).call().await.map_err(contract_error)?;
			if root.is_zero() {
				let reverted = self.reverted.entry(nonce).or_default();
				*reverted += 1;
				if *reverted >= MAX_REVERTED {
					self.reverted.remove(&nonce);
					return self.fail(
						nonce,
						None,
						"batch refused",
						format!("{MAX_REVERTED} transactions reverted on chain"),
					);
				}
				return Err(Error::Evm(format!(
					"batch {nonce} is not verified after its transaction; trying again"
				)));
			}
			self.reverted.remove(&nonce);
		} else {
			self.metrics.batches_found_verified.inc();
		}
		if root != signed.batch.outputsRoot {
			// The contract verified what a quorum signed: the node serves something else.
			return Err(Error::Node(format!(
				"batch {nonce}: the node serves root {} but the contract verified {root}",
				signed.batch.outputsRoot
			)));
		}
		if self.undelivered(nonce, signed.outputs.len()).await? > 0 {
			let wait = self.config.retry_after.as_secs();
			self.state.retries.insert(nonce, Retry { attempts: 1, next_at: now() + wait });
		}
		Ok(())
	}

	/// Has the contract verify `signed` without delivering anything.
	async fn submit_only(&mut self, signed: &SignedBatch) -> Result<()> {
		let input = self
			.bridge
			.submitBatch(
				signed.batch.clone(),
				signed.signers.clone(),
				signed.threshold,
				signed.signatures.clone(),
			)
			.calldata()
			.clone();
		match self.transact(input).await? {
			Ok(receipt) => {
				if receipt.status() {
					self.metrics.batches_relayed.inc();
					info!(target: "w3b-relayer", nonce = signed.batch.nonce, tx = %receipt.transaction_hash, "batch verified (outputs follow)");
				}
				Ok(())
			}
			Err(CallError::Contract(W3bBridgeErrors::BatchKnown(_))) => Ok(()),
			Err(e) => Err(call_failure("submitBatch", e)),
		}
	}

	/// Delivers batch `nonce`'s outputs that are still undelivered; after the last
	/// attempt they are recorded as failures.
	async fn retry(&mut self, nonce: u64) -> Result<()> {
		let Some(retry) = self.state.retries.get(&nonce).cloned() else { return Ok(()) };
		let Some(signed) = self.source.batch(self.config.chain, nonce).await? else {
			self.fail(
				nonce,
				None,
				"batch pruned",
				"pruned by the appchain before its outputs were delivered".into(),
			)?;
			self.state.retries.remove(&nonce);
			return self.store.save(&self.state);
		};
		// The outputs must be those the contract verified: a node serving fewer (or other)
		// outputs would otherwise make the undelivered ones look delivered.
		let verified = self.bridge.batchRoots(nonce).call().await.map_err(contract_error)?;
		let served =
			self.bridge.outputsRoot(signed.outputs.clone()).call().await.map_err(contract_error)?;
		if served != verified {
			return Err(Error::Node(format!(
				"batch {nonce}: the node serves outputs with root {served}, the contract verified {verified}"
			)));
		}
		let before = self.undelivered(nonce, signed.outputs.len()).await?;
		let mut reasons = Vec::new();
		if before > 0 {
			let input = self.bridge.deliver(nonce, signed.outputs.clone()).calldata().clone();
			match self.transact(input).await? {
				Ok(receipt) => {
					reasons = self.log_failed_outputs(&receipt);
					self.metrics.outputs_delivered.inc_by(delivered_in(&receipt));
				}
				Err(e @ (CallError::Transient(_) | CallError::InsufficientFunds(_))) => {
					return Err(call_failure("deliver", e))
				}
				Err(refused) => reasons.push((None, refused.describe())),
			}
		}
		let left = self.undelivered(nonce, signed.outputs.len()).await?;
		if left == 0 {
			self.state.retries.remove(&nonce);
			info!(target: "w3b-relayer", nonce, attempts = retry.attempts + 1, "every output delivered");
		} else if retry.attempts + 1 >= self.config.max_attempts
			|| (!reasons.is_empty()
				&& reasons.iter().all(|(_, reason)| HOPELESS.contains(&reason.as_str())))
		{
			// Everything read before anything is written: a failed read leaves the retry.
			let bits = self.bridge.deliveredBits(nonce).call().await.map_err(contract_error)?;
			self.state.retries.remove(&nonce);
			for index in 0..signed.outputs.len() {
				if !bits.bit(index) {
					let reason = reasons
						.iter()
						.find(|(i, _)| *i == Some(index as u64) || i.is_none())
						.map(|(_, reason)| reason.clone())
						.unwrap_or_default();
					self.fail(nonce, Some(index as u64), "output undelivered", reason)?;
				}
			}
		} else {
			let wait =
				(self.config.retry_after * 2u32.saturating_pow(retry.attempts)).min(MAX_RETRY_WAIT);
			self.state.retries.insert(
				nonce,
				Retry { attempts: retry.attempts + 1, next_at: now() + wait.as_secs() },
			);
		}
		self.store.save(&self.state)
	}

	/// Simulates a call of the contract with `input` and, if it would succeed, sends it:
	/// the receipt, or why the simulation fails.
	async fn transact(&mut self, input: Bytes) -> Result<Result<TransactionReceipt, CallError>> {
		match self.sender.estimate(self.state.contract, &input).await {
			Ok(gas) => Ok(Ok(self.sender.send(self.state.contract, input, gas).await?)),
			Err(refused) => Ok(Err(refused)),
		}
	}

	/// How many of batch `nonce`'s `count` outputs the contract has not delivered.
	async fn undelivered(&self, nonce: u64, count: usize) -> Result<u32> {
		let bits = self.bridge.deliveredBits(nonce).call().await.map_err(contract_error)?;
		let all = if count >= 256 { U256::MAX } else { (U256::from(1) << count) - U256::from(1) };
		Ok((all & !bits).count_ones() as u32)
	}

	/// Logs the `OutputFailed` events of `receipt`; returns (output, reason) for each.
	fn log_failed_outputs(&self, receipt: &TransactionReceipt) -> Vec<(Option<u64>, String)> {
		let mut failed = Vec::new();
		for event in events::<W3bBridge::OutputFailed>(receipt) {
			let reason = revert_reason(&event.reason);
			self.metrics.output_failures.inc();
			warn!(target: "w3b-relayer", nonce = event.nonce, index = %event.index, project = event.projectId, %reason, "receiver failed");
			failed.push((Some(event.index.to::<u64>()), reason));
		}
		failed
	}

	/// Records a permanent failure (and logs it).
	fn fail(
		&mut self,
		nonce: u64,
		output: Option<u64>,
		what: &'static str,
		reason: String,
	) -> Result<()> {
		warn!(target: "w3b-relayer", nonce, output, what, %reason, "recorded as a failure");
		self.metrics.permanent_failures.inc();
		self.store.record(&Failure {
			time: now(),
			chain: self.config.chain,
			nonce,
			output,
			what,
			reason,
		})
	}
}

/// The `E` events the bridge emitted in `receipt` (alloy's decoding does not check the
/// event's signature: it is checked here, so that one event never passes for another
/// with a similar layout).
fn events<'a, E: SolEvent + 'a>(receipt: &'a TransactionReceipt) -> impl Iterator<Item = E> + 'a {
	let bridge = receipt.to;
	receipt
		.inner
		.logs()
		.iter()
		.filter(move |log| {
			Some(log.address()) == bridge && log.topic0() == Some(&E::SIGNATURE_HASH)
		})
		.filter_map(|log| log.log_decode::<E>().ok().map(|decoded| decoded.inner.data))
}

/// How many `OutputDelivered` events `receipt` holds.
fn delivered_in(receipt: &TransactionReceipt) -> u64 {
	events::<W3bBridge::OutputDelivered>(receipt).count() as u64
}

/// A receiver's revert reason in words: `Error(string)`'s text, else the bytes in hex.
fn revert_reason(data: &Bytes) -> String {
	use alloy::sol_types::SolError;
	match alloy::sol_types::Revert::abi_decode(data) {
		Ok(revert) => revert.reason,
		Err(_) if data.is_empty() => "reverted without a reason".into(),
		// The bridge's own reasons ("receiver is not a contract") are plain text.
		Err(_) => match std::str::from_utf8(data) {
			Ok(text) if !text.chars().any(char::is_control) => text.to_string(),
			_ => format!("{data}"),
		},
	}
}

fn contract_error(error: alloy::contract::Error) -> Error {
	Error::Evm(format!("{} (--evm-url)", crate::with_causes(&error)))
}

/// A simulated call's failure as this crate's error.
fn call_failure(call: &'static str, error: CallError) -> Error {
	match error {
		CallError::Transient(reason) => Error::Evm(reason),
		CallError::InsufficientFunds(reason) => Error::InsufficientFunds(reason),
		refused => Error::Refused { call, reason: refused.describe() },
	}
}
