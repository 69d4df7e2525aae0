//! Test runtime: system and this pallet; account [`COUNCIL`] stands for a passed council
//! motion (the runtime's tests drive the real council).

use crate as pallet_governance;
use frame_support::{derive_impl, ord_parameter_types};
use frame_system::EnsureSignedBy;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

/// The account whose signed origin [`Config::RootOrigin`](crate::Config::RootOrigin)
/// accepts.
pub const COUNCIL: u64 = 1;
/// Any other account.
pub const STRANGER: u64 = 2;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Governance: pallet_governance,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

ord_parameter_types! {
	pub const Council: u64 = COUNCIL;
}

impl pallet_governance::Config for Test {
	type RuntimeCall = RuntimeCall;
	type RootOrigin = EnsureSignedBy<Council, u64>;
	type WeightInfo = ();
}

/// Genesis with nothing in it, at block 1 (events are recorded from block 1).
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
