//! Test runtime: system, balances (deposits are held), the DID pallet (the issuers' DIDs)
//! and this pallet, with a keystore for the benchmarks' keys.

use crate as pallet_credentials;
use frame_support::{derive_impl, traits::ConstU64};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

/// Submits anchors and changes; has plenty of funds.
pub const ALICE: u64 = 1;
/// Another funded account.
pub const BOB: u64 = 2;
/// An account that cannot pay the deposit.
pub const POOR: u64 = 3;
/// Deposit of an anchored credential.
pub const CREDENTIAL_DEPOSIT: u64 = 5;
/// Most blocks an operation may name ahead.
pub const MAX_VALIDITY: u64 = 20;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Did: pallet_did,
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

impl pallet_did::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DidDeposit = ConstU64<50>;
	type MaxOperationValidity = ConstU64<MAX_VALIDITY>;
	type WeightInfo = ();
}

impl pallet_credentials::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Did;
	type CredentialDeposit = ConstU64<CREDENTIAL_DEPOSIT>;
	type MaxOperationValidity = ConstU64<MAX_VALIDITY>;
	type WeightInfo = ();
}

/// Externalities at block 1 with [`ALICE`] and [`BOB`] funded, [`POOR`] nearly broke,
/// a genesis hash set, and a keystore.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(ALICE, 1_000_000), (BOB, 1_000_000), (POOR, 2)],
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
