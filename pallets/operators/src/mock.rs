//! Test runtime: system, balances, the projects pallet (whose subnets this pallet
//! keeps), the DID and credential pallets (admission by credential) and this pallet,
//! with a keystore for the benchmarks' keys.

use crate as pallet_operators;
use frame_support::{
	assert_ok, derive_impl,
	traits::{ConstU32, ConstU64},
	PalletId,
};
use sp_runtime::BuildStorage;
use w3b_primitives::{project::ProjectConfig, ProjectId};

type Block = frame_system::mocking::MockBlock<Test>;

/// Owns the project in the tests.
/// Where slashed bonds go.
pub const TREASURY: u64 = 777;
pub const OWNER: u64 = 1;
/// Operators with plenty of funds.
pub const OPERATORS: [u64; 4] = [11, 12, 13, 14];
/// A funded account that is not an operator.
pub const OUTSIDER: u64 = 20;
/// Smallest bond.
pub const MIN_BOND: u64 = 1_000;
/// Smallest seat bond (and the seat bond of a project without a policy).
pub const MIN_SEAT_BOND: u64 = 500;
/// Blocks an unbonded amount stays held.
pub const UNBONDING_PERIOD: u64 = 10;
/// Funds of every account at genesis.
pub const INITIAL_BALANCE: u64 = 1_000_000;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Projects: pallet_projects,
		Operators: pallet_operators,
		Dids: pallet_did,
		Credentials: pallet_credentials,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
}

impl pallet_projects::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ProjectDeposit = ConstU64<100>;
	type CodeDepositBase = ConstU64<10>;
	type CodeDepositPerByte = ConstU64<1>;
	type MaxCodeSize = ConstU32<4096>;
	type MaxApplets = ConstU32<3>;
	type MaxDevices = ConstU32<3>;
	type DeviceDeposit = ConstU64<5>;
	type DeviceRemovalDelay = ConstU64<10>;
	type Batches = ();
	type MinAttestationDeadline = ConstU64<2>;
	type MaxAttestationDeadline = ConstU64<100>;
	type Subnets = Operators;
	type Dids = Dids;
	type Credentials = Credentials;
	type WeightInfo = ();
}

impl pallet_did::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DidDeposit = ConstU64<1>;
	type MaxOperationValidity = ConstU64<100>;
	type WeightInfo = ();
}

impl pallet_credentials::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Dids;
	type CredentialDeposit = ConstU64<1>;
	type MaxOperationValidity = ConstU64<100>;
	type WeightInfo = ();
}

frame_support::parameter_types! {
	pub const OperatorsPalletId: PalletId = PalletId(*b"w3b/oprs");
}

impl pallet_operators::Config for Test {
	type MinBond = ConstU64<MIN_BOND>;
	type MinSeatBond = ConstU64<MIN_SEAT_BOND>;
	type UnbondingPeriod = ConstU64<UNBONDING_PERIOD>;
	type PalletId = OperatorsPalletId;
	type Treasury = ConstU64<TREASURY>;
	type WeightInfo = ();
}

/// Creates a project of [`OWNER`] needing `min_operators`, paying `reward_per_batch`.
pub fn create_project(min_operators: u32, reward_per_batch: u64) -> ProjectId {
	let id = pallet_projects::NextProjectId::<Test>::get();
	assert_ok!(Projects::create_project(
		RuntimeOrigin::signed(OWNER),
		format!("project-{id}").into_bytes().try_into().unwrap(),
		Default::default(),
		ProjectConfig { min_operators, reward_per_batch, ..Default::default() }
	));
	id
}

/// Registers `who` as an operator with the minimum bond.
pub fn register(who: u64) {
	assert_ok!(Operators::register_operator(
		RuntimeOrigin::signed(who),
		MIN_BOND,
		Default::default(),
		None
	));
}

/// Externalities with everyone funded, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let accounts = [OWNER, OUTSIDER].into_iter().chain(OPERATORS);
	pallet_balances::GenesisConfig::<Test> {
		balances: accounts.map(|a| (a, INITIAL_BALANCE)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		frame_system::BlockHash::<Test>::insert(0, sp_core::H256::repeat_byte(0x99));
		System::set_block_number(1)
	});
	ext
}
