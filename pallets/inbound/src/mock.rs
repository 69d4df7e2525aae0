//! Test runtime: system, balances, projects, operators, commitments and this pallet.
//! Attestation rounds are not simulated (the commitments pallet's observer is `()`):
//! what matters here is which batches the logs become.

use crate as pallet_inbound;
use core::{cell::RefCell, time::Duration};
use frame_support::{
	assert_ok, derive_impl,
	traits::{ConstU32, ConstU64, UnixTime},
	PalletId,
};
use sp_core::{H160, H256};
use sp_runtime::BuildStorage;
use w3b_primitives::{
	inbound::{EvmLog, Subscription},
	project::ProjectConfig,
	ProjectId,
};

type Block = frame_system::mocking::MockBlock<Test>;

/// Owns the project.
pub const OWNER: u64 = 1;
/// Operators in the project's subnet: a quorum is 3 of 4.
pub const OPERATORS: [u64; 4] = [11, 12, 13, 14];
/// A registered operator outside the subnet.
pub const OUTSIDER: u64 = 20;
/// Where slashed bonds go.
pub const TREASURY: u64 = 777;
/// The test clock's time.
pub const NOW_MS: u64 = 1_700_000_000_000;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Projects: pallet_projects,
		Operators: pallet_operators,
		Commitments: pallet_commitments,
		Inbound: pallet_inbound,
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
	type Batches = Commitments;
	type MinAttestationDeadline = ConstU64<2>;
	type MaxAttestationDeadline = ConstU64<100>;
	type Subnets = Operators;
	type Dids = ();
	type Credentials = ();
	type WeightInfo = ();
}

frame_support::parameter_types! {
	pub const OperatorsPalletId: PalletId = PalletId(*b"w3b/oprs");
}

impl pallet_operators::Config for Test {
	type MinBond = ConstU64<1_000>;
	type MinSeatBond = ConstU64<500>;
	type UnbondingPeriod = ConstU64<10>;
	type PalletId = OperatorsPalletId;
	type Treasury = ConstU64<TREASURY>;
	type WeightInfo = ();
}

thread_local! {
	static CLOCK_MS: RefCell<u64> = const { RefCell::new(NOW_MS) };
}

/// The test clock.
pub struct TestTime;
impl UnixTime for TestTime {
	fn now() -> Duration {
		Duration::from_millis(CLOCK_MS.with(|n| *n.borrow()))
	}
}

impl pallet_commitments::Config for Test {
	type Time = TestTime;
	type CommitmentWindow = ConstU32<16>;
	type MaxPrunePerCommit = ConstU32<2>;
	type Observer = ();
	type Proofs = ();
	type VoteFee = ConstU64<1>;
	type WeightInfo = ();
}

impl pallet_inbound::Config for Test {
	type WeightInfo = ();
}

/// The subscription the tests use: a contract on IoTeX testnet, ranges of 10 blocks.
pub fn subscription() -> Subscription {
	Subscription {
		chain_id: 4690,
		contract: H160::repeat_byte(0xc0),
		topics: vec![Some(H256::repeat_byte(0xe1))].try_into().unwrap(),
		confirmations: 3,
		blocks_per_range: 10,
		event_type: b"evm:Reading".to_vec().try_into().unwrap(),
	}
}

/// Log `index` of EVM block `block`, with `data`.
pub fn log(block: u64, index: u32, data: &[u8]) -> EvmLog {
	EvmLog {
		block_number: block,
		block_hash: H256::from_low_u64_be(block),
		transaction_hash: H256::from_low_u64_be(1_000 + block),
		log_index: index,
		topics: vec![H256::repeat_byte(0xe1)].try_into().unwrap(),
		data: data.to_vec().try_into().unwrap(),
		data_truncated: false,
	}
}

/// Creates an Active project with [`OPERATORS`] in its subnet.
pub fn active_project() -> ProjectId {
	let id = pallet_projects::NextProjectId::<Test>::get();
	assert_ok!(Projects::create_project(
		RuntimeOrigin::signed(OWNER),
		format!("project-{id}").into_bytes().try_into().unwrap(),
		Default::default(),
		ProjectConfig::default()
	));
	for op in OPERATORS {
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), id));
	}
	id
}

/// Externalities with [`OPERATORS`] and [`OUTSIDER`] registered, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let accounts = [OWNER, OUTSIDER].into_iter().chain(OPERATORS);
	pallet_balances::GenesisConfig::<Test> {
		balances: accounts.map(|a| (a, 1_000_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		for op in OPERATORS.into_iter().chain([OUTSIDER]) {
			assert_ok!(Operators::register_operator(
				RuntimeOrigin::signed(op),
				1_000,
				Default::default(),
				None
			));
		}
	});
	ext
}
