//! Test runtime: system, balances, projects, operators and this pallet. The attestation
//! side is simulated: [`TestObserver`] records opened and pruned batches (and can refuse
//! to open a round), [`TestProofs`] says which batches are settled, [`TestTime`] is the
//! clock.

use crate as pallet_commitments;
use core::{cell::RefCell, time::Duration};
use frame_support::{
	assert_ok, derive_impl,
	traits::{ConstU32, ConstU64, UnixTime},
	PalletId,
};
use sp_runtime::{BuildStorage, DispatchError, DispatchResult};
use std::collections::BTreeSet;
use w3b_primitives::{
	project::{ProjectConfig, RetentionPolicy},
	traits::{BatchObserver, ProofInspect},
	BatchHeader, ProjectId,
};

type Block = frame_system::mocking::MockBlock<Test>;

/// Owns the project.
/// Where slashed bonds go.
pub const TREASURY: u64 = 777;
pub const OWNER: u64 = 1;
/// Operators in the project's subnet.
pub const OPERATORS: [u64; 3] = [11, 12, 13];
/// A registered operator outside the subnet.
pub const OUTSIDER: u64 = 20;
/// Batches kept per project.
pub const WINDOW: u32 = 4;
/// Batches pruned per commitment at most.
pub const MAX_PRUNE: u32 = 2;
/// Paid by a committer per voter of its round.
pub const VOTE_FEE: u64 = 7;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		DidRegistry: pallet_did,
		Projects: pallet_projects,
		Operators: pallet_operators,
		Commitments: pallet_commitments,
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

impl pallet_did::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DidDeposit = ConstU64<1>;
	type MaxOperationValidity = ConstU64<100>;
	type WeightInfo = ();
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
	type Dids = DidRegistry;
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
	static OPENED: RefCell<Vec<BatchHeader>> = const { RefCell::new(Vec::new()) };
	static PRUNED: RefCell<Vec<(ProjectId, u64)>> = const { RefCell::new(Vec::new()) };
	static SETTLED: RefCell<BTreeSet<(ProjectId, u64)>> = const { RefCell::new(BTreeSet::new()) };
	static EXPIRED: RefCell<BTreeSet<(ProjectId, u64)>> = const { RefCell::new(BTreeSet::new()) };
	static REFUSE_ROUNDS: RefCell<bool> = const { RefCell::new(false) };
}

/// The test clock.
pub struct TestTime;
impl UnixTime for TestTime {
	fn now() -> Duration {
		Duration::from_millis(NOW_MS.with(|n| *n.borrow()))
	}
}

/// Sets the test clock.
pub fn set_now_ms(ms: u64) {
	NOW_MS.with(|n| *n.borrow_mut() = ms);
}

/// Records what the attestations pallet would be told.
pub struct TestObserver;
impl BatchObserver for TestObserver {
	fn batch_committed(header: &BatchHeader) -> DispatchResult {
		if REFUSE_ROUNDS.with(|r| *r.borrow()) {
			return Err(DispatchError::Other("no room for the round"));
		}
		OPENED.with(|o| o.borrow_mut().push(header.clone()));
		Ok(())
	}
	fn batch_pruned(project: ProjectId, seq: u64) {
		PRUNED.with(|p| p.borrow_mut().push((project, seq)));
	}
}

/// Makes the observer refuse (or accept again) to open rounds.
pub fn refuse_rounds(refuse: bool) {
	REFUSE_ROUNDS.with(|r| *r.borrow_mut() = refuse);
}

/// Headers of the rounds opened so far.
pub fn opened() -> Vec<BatchHeader> {
	OPENED.with(|o| o.borrow().clone())
}

/// Batches reported pruned so far.
pub fn pruned() -> Vec<(ProjectId, u64)> {
	PRUNED.with(|p| p.borrow().clone())
}

/// Batches whose proofs the tests declared settled.
pub struct TestProofs;
impl ProofInspect for TestProofs {
	fn is_settled(project: ProjectId, seq: u64) -> bool {
		SETTLED.with(|s| s.borrow().contains(&(project, seq)))
	}
	fn is_expired(project: ProjectId, seq: u64) -> bool {
		EXPIRED.with(|s| s.borrow().contains(&(project, seq)))
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn settle(project: ProjectId, seq: u64) {
		settle(project, seq);
	}
}

/// Declares the proof of `(project, seq)` expired (and so settled).
pub fn expire(project: ProjectId, seq: u64) {
	settle(project, seq);
	EXPIRED.with(|s| s.borrow_mut().insert((project, seq)));
}

/// Declares the proof of `(project, seq)` settled.
pub fn settle(project: ProjectId, seq: u64) {
	SETTLED.with(|s| s.borrow_mut().insert((project, seq)));
}

impl pallet_commitments::Config for Test {
	type Time = TestTime;
	type CommitmentWindow = ConstU32<WINDOW>;
	type MaxPrunePerCommit = ConstU32<MAX_PRUNE>;
	type Observer = TestObserver;
	type Proofs = TestProofs;
	type VoteFee = ConstU64<VOTE_FEE>;
	type WeightInfo = ();
}

/// Creates an Active project with [`OPERATORS`] in its subnet and `retention`.
pub fn active_project(retention: RetentionPolicy) -> ProjectId {
	let id = pallet_projects::NextProjectId::<Test>::get();
	assert_ok!(Projects::create_project(
		RuntimeOrigin::signed(OWNER),
		format!("project-{id}").into_bytes().try_into().unwrap(),
		Default::default(),
		ProjectConfig { retention, ..Default::default() }
	));
	for op in OPERATORS {
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), id));
	}
	id
}

/// Externalities with [`OPERATORS`] and [`OUTSIDER`] registered, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	OPENED.with(|o| o.borrow_mut().clear());
	PRUNED.with(|p| p.borrow_mut().clear());
	SETTLED.with(|s| s.borrow_mut().clear());
	refuse_rounds(false);
	set_now_ms(1_000_000);
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
