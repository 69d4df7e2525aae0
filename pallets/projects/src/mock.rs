//! Test runtime: system, balances (deposits are held) and this pallet, with subnets
//! simulated by [`TestSubnets`] in place of the operators pallet.

use crate as pallet_projects;
use core::cell::RefCell;
use frame_support::{
	derive_impl,
	traits::{ConstU32, ConstU64},
};
use sp_runtime::BuildStorage;
use std::collections::BTreeMap;
use w3b_primitives::{
	project::{Name, ProjectConfig},
	traits::{BatchWindow, SubnetInspect, SubnetObserver},
	ProjectId,
};

type Block = frame_system::mocking::MockBlock<Test>;

/// Owns the projects in the tests; has plenty of funds.
pub const OWNER: u64 = 1;
/// Another funded account.
pub const OTHER: u64 = 2;
/// An account that cannot pay any deposit.
pub const POOR: u64 = 3;
/// Deposit of a project.
pub const PROJECT_DEPOSIT: u64 = 100;
/// Base deposit of code.
pub const CODE_DEPOSIT_BASE: u64 = 10;
/// Largest code in the test runtime.
pub const MAX_CODE_SIZE: u32 = 4096;
/// Held per device record.
pub const DEVICE_DEPOSIT: u64 = 5;
/// Blocks after its revocation before a device record may go.
pub const DEVICE_REMOVAL_DELAY: u64 = 10;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		DidRegistry: pallet_did,
		CredentialRegistry: pallet_credentials,
		Projects: pallet_projects,
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

thread_local! {
	static SUBNETS: RefCell<BTreeMap<ProjectId, u32>> = const { RefCell::new(BTreeMap::new()) };
}

/// Subnet sizes set by the tests.
pub struct TestSubnets;
impl SubnetInspect<u64> for TestSubnets {
	fn subnet_size(project: ProjectId) -> u32 {
		SUBNETS.with(|s| s.borrow().get(&project).copied().unwrap_or(0))
	}
	fn is_member(project: ProjectId, who: &u64) -> bool {
		Self::members(project).contains(who)
	}
	fn members(project: ProjectId) -> Vec<u64> {
		(100..100 + u64::from(Self::subnet_size(project))).collect()
	}
}

thread_local! {
	static OLDEST_COMMITMENTS: RefCell<BTreeMap<ProjectId, u64>> =
		const { RefCell::new(BTreeMap::new()) };
}

/// Commitment windows set by the tests.
pub struct TestBatches;
impl BatchWindow<u64> for TestBatches {
	fn oldest_commitment(project: ProjectId) -> Option<u64> {
		OLDEST_COMMITMENTS.with(|o| o.borrow().get(&project).copied())
	}
}

/// Sets the block of the oldest batch in `project`'s commitment window.
pub fn set_oldest_commitment(project: ProjectId, block: u64) {
	OLDEST_COMMITMENTS.with(|o| o.borrow_mut().insert(project, block));
}

/// Sets `project`'s subnet size and tells the pallet, as the operators pallet does.
pub fn set_subnet_size(project: ProjectId, size: u32) {
	SUBNETS.with(|s| s.borrow_mut().insert(project, size));
	Projects::subnet_changed(project, size);
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
	type Dids = DidRegistry;
	type CredentialDeposit = ConstU64<1>;
	type MaxOperationValidity = ConstU64<100>;
	type WeightInfo = ();
}

impl pallet_projects::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ProjectDeposit = ConstU64<PROJECT_DEPOSIT>;
	type CodeDepositBase = ConstU64<CODE_DEPOSIT_BASE>;
	type CodeDepositPerByte = ConstU64<1>;
	type MaxCodeSize = ConstU32<MAX_CODE_SIZE>;
	type MaxApplets = ConstU32<3>;
	type MaxDevices = ConstU32<3>;
	type DeviceDeposit = ConstU64<DEVICE_DEPOSIT>;
	type DeviceRemovalDelay = ConstU64<DEVICE_REMOVAL_DELAY>;
	type Batches = TestBatches;
	type MinAttestationDeadline = ConstU64<2>;
	type MaxAttestationDeadline = ConstU64<100>;
	type Subnets = TestSubnets;
	type Dids = DidRegistry;
	type Credentials = CredentialRegistry;
	type WeightInfo = ();
}

/// Default configuration with `min_operators`.
pub fn config(min_operators: u32) -> crate::ConfigOf<Test> {
	ProjectConfig { min_operators, ..Default::default() }
}

/// `s` as a name.
pub fn name(s: &str) -> Name {
	s.as_bytes().to_vec().try_into().unwrap()
}

/// Externalities with [`OWNER`] and [`OTHER`] funded, [`POOR`] nearly broke, block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	SUBNETS.with(|s| s.borrow_mut().clear());
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(OWNER, 1_000_000), (OTHER, 1_000_000), (POOR, 50)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
