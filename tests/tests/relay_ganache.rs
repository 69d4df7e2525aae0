//! The relayer against a real EVM node: ganache (from `contracts/`'s npm packages) with
//! IoTeX testnet's chain id, the compiled `W3bBridge` and test receivers deployed, and
//! batches signed by validator keys the way the appchain's nodes sign them (over the
//! contract's own EIP-712 digest; the appchain side of the encoding is checked against
//! the same vectors in `primitives` and the contract tests). The batches come from an
//! in-memory book instead of a node: the end-to-end test (`tests/worker_network.rs`)
//! has a real network feed them.

use std::{
	collections::BTreeMap,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use alloy::{
	network::EthereumWallet,
	primitives::{Address, Bytes, B256, U256},
	providers::{Provider, ProviderBuilder},
	signers::{local::PrivateKeySigner, SignerSync},
	sol_types::SolCall,
};
use w3b_bridge::{
	contract::{Batch, Output, W3bBridge},
	evm::SendOptions,
	metrics::Metrics,
	node::{BatchSource, SignedBatch, SignedSetChange, Target},
	relayer::{RelayConfig, Relayer},
	state::StateStore,
	Result,
};
use w3b_e2e_tests::evm::{FlakyReceiver, Ganache, RecordingReceiver, DEPLOYER_KEY, RELAYER_KEY};

const CHAIN: u64 = w3b_e2e_tests::evm::CHAIN_ID;
const PROJECT: u64 = 7;
/// The appchain genesis the contracts here are deployed for.
const GENESIS: B256 = B256::repeat_byte(0x5e);

/// A validator set: keys ascending by address, and the appchain's threshold.
struct ValidatorSet {
	id: u64,
	keys: Vec<PrivateKeySigner>,
	threshold: usize,
}

impl ValidatorSet {
	fn new(id: u64, size: usize) -> Self {
		let mut keys: Vec<PrivateKeySigner> =
			(0..size).map(|_| PrivateKeySigner::random()).collect();
		keys.sort_by_key(|k| k.address());
		ValidatorSet { id, keys, threshold: (2 * size).div_ceil(3) }
	}

	fn addresses(&self) -> Vec<Address> {
		self.keys.iter().map(|k| k.address()).collect()
	}

	/// The first `count` members' signatures of `digest`, joined.
	fn sign(&self, digest: B256, count: usize) -> Bytes {
		self.keys[..count]
			.iter()
			.flat_map(|k| k.sign_hash_sync(&digest).unwrap().as_bytes())
			.collect::<Vec<u8>>()
			.into()
	}
}

/// What a node would answer: the batches and hand-overs sealed so far.
#[derive(Default)]
struct Book {
	contract: Address,
	next_nonce: u64,
	first_set: u64,
	batches: BTreeMap<u64, SignedBatch>,
	changes: BTreeMap<u64, SignedSetChange>,
}

#[derive(Clone, Default)]
struct BookSource(Arc<Mutex<Book>>);

impl BatchSource for BookSource {
	async fn target(&self, _chain: u64) -> Result<Option<Target>> {
		let book = self.0.lock().unwrap();
		Ok(Some(Target {
			contract: book.contract,
			next_nonce: book.next_nonce,
			first_set: book.first_set,
		}))
	}

	async fn batch(&self, _chain: u64, nonce: u64) -> Result<Option<SignedBatch>> {
		Ok(self.0.lock().unwrap().batches.get(&nonce).cloned())
	}

	async fn set_change(&self, _chain: u64, set_id: u64) -> Result<Option<SignedSetChange>> {
		Ok(self.0.lock().unwrap().changes.get(&set_id).cloned())
	}

	async fn genesis_hash(&self) -> Result<B256> {
		Ok(GENESIS)
	}
}

impl BookSource {
	fn add(&self, batch: SignedBatch) {
		let mut book = self.0.lock().unwrap();
		book.next_nonce = book.next_nonce.max(batch.batch.nonce + 1);
		book.batches.insert(batch.batch.nonce, batch);
	}
}

/// ganache, a deployed bridge for `set`, a receiver for `PROJECT`, and the book.
struct Setup {
	ganache: Ganache,
	_producer: Option<tokio::task::JoinHandle<()>>,
	deployer: alloy::providers::DynProvider,
	bridge: Address,
	receiver: Address,
	source: BookSource,
	state_dir: tempfile::TempDir,
}

async fn setup(set: &ValidatorSet) -> Setup {
	setup_with(set, &[], None).await
}

/// `setup` with more ganache options, and blocks mined by the test while `mining` is set.
async fn setup_with(
	set: &ValidatorSet,
	ganache_options: &[&str],
	mining: Option<Arc<AtomicBool>>,
) -> Setup {
	let ganache = Ganache::start(ganache_options).expect("ganache starts");
	let producer = mining.map(|mining| ganache.produce_blocks(mining));
	let deployer = ProviderBuilder::new()
		.wallet(EthereumWallet::from(DEPLOYER_KEY.parse::<PrivateKeySigner>().unwrap()))
		.connect_http(ganache.url.parse().unwrap())
		.erased();
	let bridge =
		W3bBridge::deploy(&deployer, GENESIS, set.id, set.addresses(), U256::from(set.threshold))
			.await
			.expect("bridge deploys");
	let receiver = RecordingReceiver::deploy(&deployer, *bridge.address(), U256::from(PROJECT))
		.await
		.expect("receiver deploys");
	let (bridge, receiver) = (*bridge.address(), *receiver.address());
	let source = BookSource::default();
	source.0.lock().unwrap().contract = bridge;
	source.0.lock().unwrap().first_set = set.id;
	Setup {
		ganache,
		_producer: producer,
		deployer,
		bridge,
		receiver,
		source,
		state_dir: tempfile::tempdir().unwrap(),
	}
}

impl Setup {
	fn bridge(&self) -> W3bBridge::W3bBridgeInstance<alloy::providers::DynProvider> {
		W3bBridge::new(self.bridge, self.deployer.clone())
	}

	fn receiver(
		&self,
	) -> RecordingReceiver::RecordingReceiverInstance<alloy::providers::DynProvider> {
		RecordingReceiver::new(self.receiver, self.deployer.clone())
	}

	/// Outputs of batch `nonce`: `process` calls and `note` calls, alternating.
	fn outputs(&self, nonce: u64, count: u64) -> Vec<Output> {
		(0..count)
			.map(|i| {
				let text = format!("batch {nonce} output {i}");
				if i % 2 == 0 {
					output(0, self.receiver, nonce * 100 + i, text.into_bytes().into())
				} else {
					let call =
						RecordingReceiver::noteCall { text: text.into_bytes().into() }.abi_encode();
					output(1, self.receiver, nonce * 100 + i, call.into())
				}
			})
			.collect()
	}

	/// Batch `nonce` over `outputs`, signed by the first `signers` of `set`.
	async fn seal(
		&self,
		set: &ValidatorSet,
		nonce: u64,
		outputs: Vec<Output>,
		signers: usize,
	) -> SignedBatch {
		let bridge = self.bridge();
		let root = bridge.outputsRoot(outputs.clone()).call().await.unwrap();
		let batch = Batch { setId: set.id, nonce, blockNumber: 1_000 + nonce, outputsRoot: root };
		let digest = bridge.batchDigest(batch.clone()).call().await.unwrap();
		SignedBatch {
			batch,
			outputs,
			signers: set.addresses(),
			threshold: U256::from(set.threshold),
			signatures: set.sign(digest, signers),
			complete: signers >= set.threshold,
		}
	}

	async fn relayer(
		&self,
		config: RelayConfig,
		options: SendOptions,
	) -> (Relayer<BookSource, alloy::providers::DynProvider>, Metrics) {
		let signer: PrivateKeySigner = RELAYER_KEY.parse().unwrap();
		let from = signer.address();
		let provider = ProviderBuilder::new()
			.disable_recommended_fillers()
			.wallet(EthereumWallet::from(signer))
			.connect_http(self.ganache.url.parse().unwrap())
			.erased();
		let metrics = Metrics::new(None).unwrap();
		let store = StateStore::open(self.state_dir.path()).unwrap();
		let relayer = Relayer::new(
			self.source.clone(),
			provider,
			from,
			config,
			options,
			store,
			metrics.clone(),
		)
		.await
		.expect("relayer starts");
		(relayer, metrics)
	}

	fn failures(&self) -> Vec<serde_json::Value> {
		std::fs::read_to_string(self.state_dir.path().join("failures.jsonl"))
			.unwrap_or_default()
			.lines()
			.map(|line| serde_json::from_str(line).unwrap())
			.collect()
	}

	/// What the receiver recorded: `process` data and `note` texts, as strings.
	async fn received(&self) -> (Vec<String>, Vec<String>) {
		let receiver = self.receiver();
		let records = receiver.recordCount().call().await.unwrap().to::<u64>();
		let mut processed = Vec::new();
		for i in 0..records {
			let record = receiver.records(U256::from(i)).call().await.unwrap();
			assert_eq!(record.projectId, U256::from(PROJECT));
			processed.push(String::from_utf8(record.data.to_vec()).unwrap());
		}
		let notes = receiver.noteCount().call().await.unwrap().to::<u64>();
		let mut noted = Vec::new();
		for i in 0..notes {
			let note = receiver.notes(U256::from(i)).call().await.unwrap();
			assert_eq!(
				receiver.noteProjects(U256::from(i)).call().await.unwrap(),
				U256::from(PROJECT)
			);
			noted.push(String::from_utf8(note.to_vec()).unwrap());
		}
		(processed, noted)
	}
}

fn output(kind: u8, to: Address, batch_seq: u64, data: Bytes) -> Output {
	Output {
		projectId: PROJECT,
		batchSeq: batch_seq,
		kind,
		to,
		clientId: format!("device-{batch_seq}"),
		data,
	}
}

fn config() -> RelayConfig {
	RelayConfig {
		chain: CHAIN,
		contract: None,
		from_nonce: 0,
		poll: Duration::from_millis(100),
		max_attempts: 3,
		retry_after: Duration::ZERO,
	}
}

fn options() -> SendOptions {
	SendOptions {
		confirmations: 1,
		bump_after: Duration::from_secs(30),
		max_gas_price: 1_000_000_000_000,
		poll: Duration::from_millis(50),
	}
}

/// Steps `relayer` until a step does nothing.
async fn drain(relayer: &mut Relayer<BookSource, alloy::providers::DynProvider>) {
	for _ in 0..50 {
		if !relayer.step().await.expect("step") {
			return;
		}
	}
	panic!("the relayer never settled");
}

/// Every output delivered once, in order, across a restart that lost the relayer's last
/// two saves: the restarted relayer finds those batches verified and sends nothing for
/// them.
#[tokio::test]
async fn every_output_is_delivered_once_across_a_restart() {
	let set = ValidatorSet::new(1, 4);
	let s = setup(&set).await;
	for nonce in 0..3 {
		s.source.add(s.seal(&set, nonce, s.outputs(nonce, 4), 3).await);
	}
	let (mut first, first_metrics) = s.relayer(config(), options()).await;
	drain(&mut first).await;
	assert_eq!(first.state().next_nonce, 3);
	assert_eq!(first_metrics.batches_relayed.get(), 3);
	assert_eq!(first_metrics.outputs_delivered.get(), 12);
	drop(first);

	// The relayer was killed after batches 1 and 2 were mined but before it saved them.
	let path = s.state_dir.path().join("relayer.json");
	let mut saved: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
	saved["nextNonce"] = 1.into();
	std::fs::write(&path, saved.to_string()).unwrap();
	for nonce in 3..5 {
		s.source.add(s.seal(&set, nonce, s.outputs(nonce, 4), 4).await);
	}
	let (mut second, second_metrics) = s.relayer(config(), options()).await;
	assert_eq!(second.state().next_nonce, 1);
	drain(&mut second).await;
	assert_eq!(second.state().next_nonce, 5);
	assert_eq!(second_metrics.batches_found_verified.get(), 2, "batches 1 and 2 found verified");
	assert_eq!(second_metrics.batches_relayed.get(), 2, "only batches 3 and 4 relayed");
	assert_eq!(second_metrics.transactions_sent.get(), 2, "no transaction for what was done");

	let (processed, noted) = s.received().await;
	let expected = |parity: u64| -> Vec<String> {
		(0..5u64)
			.flat_map(|nonce| {
				(0..4u64)
					.filter(move |i| i % 2 == parity)
					.map(move |i| format!("batch {nonce} output {i}"))
			})
			.collect()
	};
	assert_eq!(processed, expected(0), "each process output once, in order");
	assert_eq!(noted, expected(1), "each call output once, in order");
	assert!(s.failures().is_empty(), "{:?}", s.failures());
}

/// A bundle a lying node passes off as complete (too few signatures, an outsider's,
/// outputs that are not the signed ones) is refused by the contract, and the relayer
/// does not skip the batch: it stays at that nonce, step after step, until the node
/// serves the batch the validators signed. A replay of a verified batch is refused.
#[tokio::test]
async fn a_lying_node_cannot_make_the_relayer_skip_a_batch_and_replays_change_nothing() {
	let set = ValidatorSet::new(1, 4);
	let s = setup(&set).await;
	let honest = s.seal(&set, 0, s.outputs(0, 2), 3).await;
	s.source.add(honest.clone());
	let signed = s.seal(&set, 1, s.outputs(1, 2), 4).await;

	let mut under = signed.clone();
	under.signatures =
		set.sign(s.bridge().batchDigest(signed.batch.clone()).call().await.unwrap(), 2);
	let strangers = ValidatorSet::new(1, 4);
	let mut forged = s.seal(&strangers, 1, s.outputs(1, 2), 3).await;
	forged.signers = set.addresses();
	let mut altered = signed.clone();
	altered.outputs[0].data = b"not what the validators signed".to_vec().into();

	let (mut relayer, metrics) = s.relayer(config(), options()).await;
	for (lie, error) in
		[(under, "NotEnoughSignatures"), (forged, "SignerNotInSet"), (altered, "RootMismatch")]
	{
		s.source.add(lie);
		for _ in 0..2 {
			let refused = relayer.step().await.err().expect("the lie is refused");
			assert!(refused.is_transient(), "{refused}");
			assert!(refused.to_string().contains(error), "{refused}");
			assert_eq!(relayer.state().next_nonce, 1, "batch 1 is not skipped");
		}
	}
	s.source.add(signed);
	drain(&mut relayer).await;
	assert_eq!(relayer.state().next_nonce, 2);
	assert_eq!(metrics.batches_relayed.get(), 2);
	assert!(s.failures().is_empty(), "{:?}", s.failures());

	// A replay of batch 0 straight to the contract.
	let replay = s
		.bridge()
		.relay(honest.batch, honest.signers, honest.threshold, honest.signatures, honest.outputs)
		.call()
		.await
		.err()
		.expect("a replay is refused");
	let decoded = replay.as_decoded_interface_error::<W3bBridge::W3bBridgeErrors>();
	assert!(matches!(decoded, Some(W3bBridge::W3bBridgeErrors::BatchKnown(_))), "{replay}");
	let (processed, noted) = s.received().await;
	assert_eq!(processed, vec!["batch 0 output 0", "batch 1 output 0"]);
	assert_eq!(noted, vec!["batch 0 output 1", "batch 1 output 1"]);
}

/// A receiver that fails keeps its output undelivered: retried until it works; one that
/// never works is recorded after the last attempt, and the other outputs are not held up.
#[tokio::test]
async fn failing_receivers_are_retried_then_recorded() {
	let set = ValidatorSet::new(1, 4);
	let s = setup(&set).await;
	let flaky = FlakyReceiver::deploy(&s.deployer).await.unwrap();
	let never = FlakyReceiver::deploy(&s.deployer).await.unwrap();
	let mut outputs = s.outputs(0, 2);
	outputs.push(output(0, *flaky.address(), 2, b"to the flaky one".to_vec().into()));
	outputs.push(output(0, *never.address(), 3, b"to one that never works".to_vec().into()));
	s.source.add(s.seal(&set, 0, outputs, 3).await);

	let (mut relayer, metrics) = s.relayer(config(), options()).await;
	assert!(relayer.step().await.unwrap());
	assert_eq!(relayer.state().next_nonce, 1, "the batch is verified: the cursor moves on");
	assert_eq!(metrics.outputs_delivered.get(), 2);
	// Retries are due at once here: the first ran in the same step, and failed again.
	assert_eq!(metrics.output_failures.get(), 4);
	assert_eq!(relayer.state().retries[&0].attempts, 2);

	flaky.setWorking(true).send().await.unwrap().get_receipt().await.unwrap();
	assert!(relayer.step().await.unwrap(), "the retry runs");
	assert_eq!(metrics.outputs_delivered.get(), 3, "the flaky receiver took its output");
	assert_eq!(flaky.processed().call().await.unwrap(), U256::from(1));
	drain(&mut relayer).await;
	assert!(relayer.state().retries.is_empty(), "given up after the last attempt");
	let failures = s.failures();
	assert_eq!(failures.len(), 1, "{failures:?}");
	assert_eq!(failures[0]["nonce"], 0);
	assert_eq!(failures[0]["output"], 3);
	assert_eq!(failures[0]["what"], "output undelivered");
	assert_eq!(failures[0]["reason"], "receiver is down");
	let bridge = s.bridge();
	for (index, delivered) in [(0, true), (1, true), (2, true), (3, false)] {
		assert_eq!(
			bridge.isDelivered(0, U256::from(index)).call().await.unwrap(),
			delivered,
			"output {index}"
		);
	}
	assert_eq!(flaky.processed().call().await.unwrap(), U256::from(1), "delivered once");
}

/// An output whose failure no retry can change (its receiver is no contract) is
/// recorded after one retry, not after the last attempt.
#[tokio::test]
async fn hopeless_deliveries_are_recorded_at_once() {
	let set = ValidatorSet::new(1, 4);
	let s = setup(&set).await;
	let mut outputs = s.outputs(0, 1);
	outputs.push(output(0, Address::repeat_byte(0xee), 1, b"to nobody".to_vec().into()));
	s.source.add(s.seal(&set, 0, outputs, 3).await);
	let (mut relayer, metrics) =
		s.relayer(RelayConfig { max_attempts: 8, ..config() }, options()).await;
	assert!(relayer.step().await.unwrap());
	assert!(relayer.state().retries.is_empty(), "given up after one retry");
	assert_eq!(metrics.output_failures.get(), 2, "the relay and one retry");
	let failures = s.failures();
	assert_eq!(failures.len(), 1, "{failures:?}");
	assert_eq!(failures[0]["output"], 1);
	assert_eq!(failures[0]["reason"], "receiver is not a contract");
}

/// Batches of a new validator set wait for the hand-over, which the relayer relays
/// first; afterwards the contract takes only the new set.
#[tokio::test]
async fn a_set_change_is_relayed_before_the_new_sets_batches() {
	let old = ValidatorSet::new(1, 4);
	let s = setup(&old).await;
	s.source.add(s.seal(&old, 0, s.outputs(0, 2), 3).await);
	let new = ValidatorSet::new(2, 5);
	let new_batch = s.seal(&new, 1, s.outputs(1, 2), 4).await;
	s.source.add(new_batch);

	let (mut relayer, _) = s.relayer(config(), options()).await;
	drain(&mut relayer).await;
	assert_eq!(relayer.state().next_nonce, 1, "batch 1 waits for the hand-over");

	let bridge = s.bridge();
	let new_hash =
		bridge.validatorSetHash(new.addresses(), U256::from(new.threshold)).call().await.unwrap();
	let digest = bridge.setChangeDigest(2, new_hash, 1).call().await.unwrap();
	let mut change = SignedSetChange {
		set_id: 2,
		new_signers: new.addresses(),
		new_threshold: U256::from(new.threshold),
		first_nonce: 1,
		signers: old.addresses(),
		threshold: U256::from(old.threshold),
		signatures: old.sign(digest, 2),
		complete: false,
	};
	s.source.0.lock().unwrap().changes.insert(2, change.clone());
	drain(&mut relayer).await;
	assert_eq!(relayer.state().next_nonce, 1, "an incomplete hand-over is not sent");
	change.signatures = old.sign(digest, 3);
	change.complete = true;
	s.source.0.lock().unwrap().changes.insert(2, change);
	drain(&mut relayer).await;
	assert_eq!(relayer.state().next_nonce, 2);
	assert_eq!(bridge.setId().call().await.unwrap(), 2);
	assert_eq!(bridge.setHash().call().await.unwrap(), new_hash);
	let (processed, _) = s.received().await;
	assert_eq!(processed, vec!["batch 0 output 0", "batch 1 output 0"]);

	// The old set can no longer sign a batch past the hand-over.
	s.source.add(s.seal(&old, 2, s.outputs(2, 2), 4).await);
	drain(&mut relayer).await;
	let failures = s.failures();
	assert_eq!(failures.len(), 1);
	assert!(failures[0]["reason"].as_str().unwrap().contains("StaleSet"), "{failures:?}");
}

/// A hand-over the old set signed is relayed once every sealed batch is, though no batch
/// of the new set exists yet; the new set's first batch then verifies.
#[tokio::test]
async fn a_set_change_is_relayed_while_no_batch_needs_it() {
	let old = ValidatorSet::new(1, 4);
	let s = setup(&old).await;
	s.source.add(s.seal(&old, 0, s.outputs(0, 2), 3).await);
	let new = ValidatorSet::new(2, 5);
	let bridge = s.bridge();
	let new_hash =
		bridge.validatorSetHash(new.addresses(), U256::from(new.threshold)).call().await.unwrap();
	let digest = bridge.setChangeDigest(2, new_hash, 1).call().await.unwrap();
	s.source.0.lock().unwrap().changes.insert(
		2,
		SignedSetChange {
			set_id: 2,
			new_signers: new.addresses(),
			new_threshold: U256::from(new.threshold),
			first_nonce: 1,
			signers: old.addresses(),
			threshold: U256::from(old.threshold),
			signatures: old.sign(digest, 3),
			complete: true,
		},
	);
	let (mut relayer, metrics) = s.relayer(config(), options()).await;
	drain(&mut relayer).await;
	assert_eq!(relayer.state().next_nonce, 1);
	assert_eq!(metrics.set_changes_relayed.get(), 1);
	assert_eq!(bridge.setId().call().await.unwrap(), 2);
	assert_eq!(bridge.setHash().call().await.unwrap(), new_hash);
	// Idle again: nothing more to hand over, nothing sent.
	let sent = metrics.transactions_sent.get();
	assert!(!relayer.step().await.unwrap());
	assert_eq!(metrics.transactions_sent.get(), sent);
	s.source.add(s.seal(&new, 1, s.outputs(1, 2), 4).await);
	drain(&mut relayer).await;
	let (processed, _) = s.received().await;
	assert_eq!(processed, vec!["batch 0 output 0", "batch 1 output 0"]);
}

/// A transaction the chain does not mine in time is sent again with the same nonce at a
/// higher price, and the batch is verified once.
#[tokio::test]
async fn a_transaction_not_mined_in_time_is_replaced_at_a_higher_price() {
	let set = ValidatorSet::new(1, 4);
	let mining = Arc::new(AtomicBool::new(true));
	// Blocks only when the test mines them.
	let s = setup_with(&set, &["--miner.blockTime", "3600"], Some(mining.clone())).await;
	s.source.add(s.seal(&set, 0, s.outputs(0, 2), 3).await);
	let (mut relayer, metrics) = s
		.relayer(config(), SendOptions { bump_after: Duration::from_millis(700), ..options() })
		.await;
	mining.store(false, Ordering::SeqCst);
	// Blocks again once the relayer has replaced its transaction twice.
	let bumps = metrics.fee_bumps.clone();
	let resume = tokio::spawn(async move {
		while bumps.get() < 2 {
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		mining.store(true, Ordering::SeqCst);
	});
	drain(&mut relayer).await;
	resume.await.unwrap();
	assert!(metrics.fee_bumps.get() >= 2, "bumped {} times", metrics.fee_bumps.get());
	assert!(metrics.transactions_sent.get() >= 3, "the first and its replacements");
	assert_eq!(relayer.state().next_nonce, 1);
	let (processed, noted) = s.received().await;
	assert_eq!((processed.len(), noted.len()), (1, 1), "delivered once");
	// ganache 7 mines every replacement of a nonce, not just one (real nodes keep one
	// per nonce): the contract still delivered once. The relayer may read a reverted
	// twin's receipt first (1 run in 12), and then does not count the batch as relayed
	// by itself: at most once. The account's nonce is then ahead of the relayer's count;
	// its next transaction finds out and goes on.
	assert!(metrics.batches_relayed.get() <= 1);
	let relayed = metrics.batches_relayed.get();
	s.source.add(s.seal(&set, 1, s.outputs(1, 2), 3).await);
	let mut steps = 0;
	while relayer.state().next_nonce < 2 {
		if let Err(e) = relayer.step().await {
			assert!(e.is_transient(), "{e}");
		}
		steps += 1;
		assert!(steps < 10, "batch 1 was never relayed");
	}
	let (processed, _) = s.received().await;
	assert_eq!(processed, vec!["batch 0 output 0", "batch 1 output 0"]);
	assert_eq!(metrics.batches_relayed.get(), relayed + 1, "batch 1, mined at once");
}

/// A contract deployed for a set older than the one current when it was registered can
/// never be handed over: the relayer stops and says what to do, instead of waiting.
#[tokio::test]
async fn a_contract_deployed_for_an_older_set_is_reported() {
	let old = ValidatorSet::new(1, 4);
	let s = setup(&old).await;
	let new = ValidatorSet::new(2, 4);
	s.source.0.lock().unwrap().first_set = 2;
	s.source.add(s.seal(&new, 0, s.outputs(0, 2), 3).await);
	let (mut relayer, _) = s.relayer(config(), options()).await;
	let error = relayer.step().await.err().expect("the relayer stops");
	assert!(!error.is_transient(), "{error}");
	assert!(error.to_string().contains("deploy it again"), "{error}");
}
