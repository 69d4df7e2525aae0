//! Test runtime: system and this pallet; projects' bridge targets and the validators'
//! bridge keys are set by the tests.

use crate as pallet_bridge;
use core::cell::RefCell;
use frame_support::{
	derive_impl,
	traits::{ConstU32, ConstU64, Hooks},
};
use sp_core::{ecdsa, Pair, H160, H256};
use sp_runtime::BuildStorage;
use w3b_primitives::{
	bridge::{BridgeAuthorityId, EthSignature},
	project::BridgeTarget,
	traits::{BridgeSetObserver, BridgeTargets},
	ProjectId,
};

type Block = frame_system::mocking::MockBlock<Test>;

/// The EVM chain the tests bridge to (IoTeX testnet).
pub const CHAIN: u64 = 4690;
/// Its `W3bBridge`.
pub const CONTRACT: H160 = H160([0xb1; 20]);
/// Most outputs in a batch.
pub const MAX_BATCH_OUTPUTS: u32 = 4;
/// Batches of a chain kept.
pub const KEPT_BATCHES: u64 = 3;
/// Most target chains.
pub const MAX_TARGETS: u32 = 2;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Bridge: pallet_bridge,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

thread_local! {
	static TARGETS: RefCell<Vec<(ProjectId, BridgeTarget)>> = const { RefCell::new(Vec::new()) };
}

/// Projects' receivers, as the tests set them.
pub struct TestProjects;
impl BridgeTargets for TestProjects {
	fn bridge_target(project: ProjectId) -> Option<BridgeTarget> {
		TARGETS.with(|t| t.borrow().iter().find(|(p, _)| *p == project).map(|(_, t)| t.clone()))
	}
}

/// Project `project` delivers its outputs to `receiver` on `chain_id`.
pub fn set_receiver(project: ProjectId, chain_id: u64, receiver: H160) {
	TARGETS.with(|t| t.borrow_mut().push((project, BridgeTarget { chain_id, receiver })));
}

impl pallet_bridge::Config for Test {
	type TargetOrigin = frame_system::EnsureRoot<u64>;
	type Projects = TestProjects;
	type MaxTargets = ConstU32<MAX_TARGETS>;
	type MaxBatchOutputs = ConstU32<MAX_BATCH_OUTPUTS>;
	type MaxAuthorities = ConstU32<8>;
	type KeptBatches = ConstU64<KEPT_BATCHES>;
	type SignaturePriority = ConstU64<1_000>;
	type WeightInfo = ();
}

/// Validator `i`'s bridge key pair.
pub fn validator(i: u8) -> ecdsa::Pair {
	ecdsa::Pair::from_seed(&[i + 1; 32])
}

/// The bridge keys of validators `range`.
pub fn keys(range: core::ops::Range<u8>) -> Vec<BridgeAuthorityId> {
	range.map(|i| validator(i).public().into()).collect()
}

/// `pair`'s signature of `digest` as the contract takes it (v 27 or 28).
pub fn sign(pair: &ecdsa::Pair, digest: H256) -> EthSignature {
	w3b_primitives::bridge::to_eth_signature(pair.sign_prehashed(&digest.0))
}

/// Runs the chain to block `n`, starting each block with the pallet's hook.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::reset_events();
		System::initialize(&next, &H256([next as u8; 32]), &Default::default());
		Bridge::on_initialize(next);
	}
}

/// Genesis with the validator set 0..4 and block 1 run (the genesis hash known), and the
/// target chain registered.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		TARGETS.with(|t| t.borrow_mut().clear());
		Bridge::bridge_set_changed(&keys(0..4));
		run_to(1);
		frame_support::assert_ok!(Bridge::set_target(RuntimeOrigin::root(), CHAIN, CONTRACT));
		System::reset_events();
	});
	ext
}

/// An empty chain with a keystore, for the benchmarks (which make their own keys).
#[cfg(feature = "runtime-benchmarks")]
pub fn bench_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext
}

/// The origin of a general transaction its `authorize` function accepted.
pub fn authorized() -> RuntimeOrigin {
	frame_system::RawOrigin::Authorized.into()
}
