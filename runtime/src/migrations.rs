//! Storage migrations, run by `Executive` at a runtime upgrade (listed in `Migrations`).
//!
//! Each is idempotent and checked by `try-runtime` (`cargo test -p w3b-runtime --features
//! try-runtime`); remove one once every network ran the release that introduced it.

use frame_support::{
	traits::{ChangeMembers, OnRuntimeUpgrade},
	weights::Weight,
};

use crate::{configs::CouncilCollective, AccountId, Council, Runtime};

/// Spec 101 brought the validator council. A chain that started on spec 100 has validators
/// but no council: this seeds the council with the validator set (what the genesis of a
/// newer chain does), so that governance by motion works from the upgrade's block on.
/// Sudo, if the chain has a key, stays until a motion removes it
/// (`governance.dispatchAsRoot(sudo.removeKey())`).
pub struct SeedCouncilFromValidators;

impl OnRuntimeUpgrade for SeedCouncilFromValidators {
	fn on_runtime_upgrade() -> Weight {
		let db = <Runtime as frame_system::Config>::DbWeight::get();
		if !pallet_collective::Members::<Runtime, CouncilCollective>::get().is_empty() {
			return db.reads(1);
		}
		let mut validators: alloc::vec::Vec<AccountId> =
			pallet_validators::Validators::<Runtime>::get().into_inner();
		validators.sort();
		<Council as ChangeMembers<AccountId>>::set_members_sorted(&validators, &[]);
		// Members, the validators, the open proposals (none on such a chain); members
		// and prime written.
		db.reads_writes(3, 2)
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(_state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let mut validators = pallet_validators::Validators::<Runtime>::get().into_inner();
		validators.sort();
		frame_support::ensure!(
			pallet_collective::Members::<Runtime, CouncilCollective>::get() == validators,
			"the council is not the validator set"
		);
		Ok(())
	}
}
