//! Test runtime: system, balances (for session key deposits), session and this pallet,
//! with sessions of [`SESSION_PERIOD`] blocks and the bridge key as the only session key.

use crate as pallet_validators;
use codec::Encode;
use frame_support::{
	derive_impl,
	traits::{ChangeMembers, ConstU32, ConstU64, Hooks},
};
use sp_core::{ecdsa, proof_of_possession::ProofOfPossessionGenerator, Pair};
use sp_runtime::{impl_opaque_keys, traits::Convert, BuildStorage};
use w3b_primitives::bridge::BridgeAuthorityId;

type Block = frame_system::mocking::MockBlock<Test>;

/// Blocks per session in the test runtime.
pub const SESSION_PERIOD: u64 = 5;
/// Validators at genesis.
pub const GENESIS_VALIDATORS: [u64; 4] = [1, 2, 3, 4];
/// An account that has registered session keys but is not a validator at genesis.
pub const CANDIDATE: u64 = 5;
/// An account with funds but no session keys.
pub const NO_KEYS: u64 = 6;
/// An account that `ValidatorIdOf` rejects (it can never be a validator).
pub const NOT_ELIGIBLE: u64 = 99;

/// `ValidatorIdOf` that maps every account to itself except [`NOT_ELIGIBLE`].
pub struct EligibleAccounts;
impl Convert<u64, Option<u64>> for EligibleAccounts {
	fn convert(account: u64) -> Option<u64> {
		(account != NOT_ELIGIBLE).then_some(account)
	}
}

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Validators: pallet_validators,
		Session: pallet_session,
	}
);

impl_opaque_keys! {
	pub struct MockSessionKeys {
		pub w3b: Validators,
	}
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
}

impl pallet_session::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = u64;
	type ValidatorIdOf = EligibleAccounts;
	type ShouldEndSession = pallet_session::PeriodicSessions<ConstU64<SESSION_PERIOD>, ConstU64<0>>;
	type NextSessionRotation =
		pallet_session::PeriodicSessions<ConstU64<SESSION_PERIOD>, ConstU64<0>>;
	type SessionManager = Validators;
	type SessionHandler = <MockSessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
	type Keys = MockSessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = ConstU64<0>;
}

frame_support::parameter_types! {
	/// The members [`MockCouncil`] was last given.
	pub storage CouncilMembers: Vec<u64> = Vec::new();
}

/// A council that only records its members (the runtime uses pallet-collective).
pub struct MockCouncil;
impl ChangeMembers<u64> for MockCouncil {
	fn change_members_sorted(_incoming: &[u64], _outgoing: &[u64], new: &[u64]) {
		CouncilMembers::set(&new.to_vec());
	}
}

impl pallet_validators::Config for Test {
	type UpdateOrigin = frame_system::EnsureRoot<u64>;
	type Council = MockCouncil;
	type MaxValidators = ConstU32<6>;
	type BridgeSets = ();
	type WeightInfo = ();
}

/// The bridge key pair of `account`, derived from the account number.
pub fn bridge_pair(account: u64) -> ecdsa::Pair {
	ecdsa::Pair::from_seed(&[account as u8; 32])
}

/// The session keys of `account`.
pub fn session_keys(account: u64) -> MockSessionKeys {
	MockSessionKeys { w3b: BridgeAuthorityId::from(bridge_pair(account).public()) }
}

/// The proof that `account` owns its session keys, as `session.set_keys` checks it.
pub fn ownership_proof(account: u64) -> Vec<u8> {
	proof_of_possession(bridge_pair(account), account)
}

/// The proof that `owner` holds the bridge key `pair`.
pub fn proof_of_possession(mut pair: ecdsa::Pair, owner: u64) -> Vec<u8> {
	pair.generate_proof_of_possession(&owner.encode()).encode()
}

/// Registers `account`'s session keys through the real `session.set_keys` call.
pub fn register_keys(account: u64) {
	Session::set_keys(
		RuntimeOrigin::signed(account),
		session_keys(account),
		ownership_proof(account),
	)
	.expect("keys register");
}

/// Runs blocks until (and including) block `n`, with the hooks a real chain runs.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		Session::on_finalize(System::block_number());
		System::set_block_number(next);
		Session::on_initialize(next);
	}
}

/// Runs blocks until the session index reaches `index`.
pub fn run_to_session(index: u32) {
	while Session::current_index() < index {
		run_to_block(System::block_number() + 1);
	}
}

/// Genesis with validators 1..=4 and their keys, plus funds for accounts 1..=6.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=6).map(|a| (a, 1_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_validators::GenesisConfig::<Test> {
		initial_validators: GENESIS_VALIDATORS.to_vec(),
		min_validators: 3,
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_session::GenesisConfig::<Test> {
		keys: GENESIS_VALIDATORS.iter().map(|&a| (a, a, session_keys(a))).collect(),
		non_authority_keys: vec![],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext: sp_io::TestExternalities = storage.into();
	ext.execute_with(|| {
		System::set_block_number(1);
		register_keys(CANDIDATE);
	});
	ext
}

/// Genesis for the benchmark test suite.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	new_test_ext()
}
