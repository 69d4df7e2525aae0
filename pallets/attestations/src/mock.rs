//! Test runtime: system, balances, projects, operators, commitments and this pallet,
//! wired as in the W3bstream runtime.

use crate as pallet_attestations;
use core::{cell::RefCell, time::Duration};
use frame_support::{
	assert_ok, derive_impl,
	traits::{ConstU32, ConstU64, Hooks, UnixTime},
	PalletId,
};
use sp_core::H256;
use sp_runtime::BuildStorage;
use w3b_primitives::{project::ProjectConfig, traits::SubnetInspect, ProjectId};

type Block = frame_system::mocking::MockBlock<Test>;

/// Owns the projects.
/// Where slashed bonds go.
pub const TREASURY: u64 = 777;
pub const OWNER: u64 = 1;
/// Registered operators.
pub const OPERATORS: [u64; 8] = [11, 12, 13, 14, 15, 16, 17, 18];
/// Blocks to attest.
pub const DEADLINE: u64 = 5;
/// Reward per finalized batch.
pub const REWARD: u64 = 40;
/// Rounds that may close in one block.
pub const MAX_ROUNDS_PER_BLOCK: u32 = 3;
/// Most unsettled batches of one project.
pub const MAX_OPEN_ROUNDS: u32 = 6;
/// Blocks a batch keeps for votes once the batches ahead of it settled.
pub const SETTLE_GRACE: u64 = 3;
/// Settled batches in a row without a vote before a member may be removed.
pub const ABSENCE_LIMIT: u32 = 3;
/// Blocks those batches must span at least.
pub const ABSENCE_PERIOD: u64 = 10;
/// How many more finalized rounds a voter may vote against than for before its seat is
/// slashed.
pub const DISSENT_LIMIT: u32 = 3;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Projects: pallet_projects,
		Operators: pallet_operators,
		Commitments: pallet_commitments,
		Attestations: pallet_attestations,
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
	static NOW_MS: RefCell<u64> = const { RefCell::new(0) };
}

/// Block time of the test chain.
pub struct TestTime;
impl UnixTime for TestTime {
	fn now() -> Duration {
		Duration::from_millis(NOW_MS.with(|n| *n.borrow()))
	}
}

impl pallet_commitments::Config for Test {
	type Time = TestTime;
	type CommitmentWindow = ConstU32<8>;
	type MaxPrunePerCommit = ConstU32<2>;
	type Observer = Attestations;
	type Proofs = Attestations;
	type VoteFee = ConstU64<1>;
	type WeightInfo = ();
}

impl pallet_attestations::Config for Test {
	type MaxRoundsPerBlock = ConstU32<MAX_ROUNDS_PER_BLOCK>;
	type MaxOpenRounds = ConstU32<MAX_OPEN_ROUNDS>;
	type SettleGrace = ConstU64<SETTLE_GRACE>;
	type AbsenceLimit = ConstU32<ABSENCE_LIMIT>;
	type AbsencePeriod = ConstU64<ABSENCE_PERIOD>;
	type DissentLimit = ConstU32<DISSENT_LIMIT>;
	type Outputs = ();
	type WeightInfo = ();
}

/// An Active project whose subnet is `operators`, its reward pool funded for 100
/// batches.
pub fn project_with(operators: &[u64]) -> ProjectId {
	let id = pallet_projects::NextProjectId::<Test>::get();
	assert_ok!(Projects::create_project(
		RuntimeOrigin::signed(OWNER),
		format!("project-{id}").into_bytes().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			attestation_deadline: DEADLINE,
			reward_per_batch: REWARD,
			..Default::default()
		}
	));
	assert_ok!(Operators::fund_reward_pool(RuntimeOrigin::signed(OWNER), id, 100 * REWARD));
	for op in operators {
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(*op), id));
	}
	id
}

/// Commits the project's next batch (by its first subnet member); returns its number.
pub fn commit(project: ProjectId) -> u64 {
	let seq = Commitments::next_batch_seq(project);
	let committer = Operators::members(project)[0];
	let mut cid = vec![1, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[9; 32]);
	assert_ok!(Commitments::commit_batch(
		RuntimeOrigin::signed(committer),
		project,
		H256::from_low_u64_be(seq + 1),
		10,
		1_000,
		cid.try_into().unwrap()
	));
	seq
}

/// Moves to block `n`, running the pallet's `on_initialize` for every block on the way.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Attestations::on_initialize(next);
	}
}

/// Externalities with [`OPERATORS`] registered and everyone funded, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let accounts = [OWNER].into_iter().chain(OPERATORS);
	pallet_balances::GenesisConfig::<Test> {
		balances: accounts.map(|a| (a, 1_000_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		for op in OPERATORS {
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
