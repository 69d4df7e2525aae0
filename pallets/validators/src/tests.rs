//! Unit tests: every call, every error, and the session hand-over.

use crate::{mock::*, BridgeAuthorities, Error, Event, SetChanged, Validators as ValidatorSet};
use frame_support::{assert_noop, assert_ok};
use sp_core::Pair;
use sp_runtime::DispatchError;

fn set() -> Vec<u64> {
	ValidatorSet::<Test>::get().into_inner()
}

/// Builds only this pallet's genesis, for the tests of its checks.
fn build_genesis(initial_validators: Vec<u64>, min_validators: u32) {
	use sp_runtime::BuildStorage;
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	crate::GenesisConfig::<Test> { initial_validators, min_validators }
		.assimilate_storage(&mut storage)
		.unwrap();
}

#[test]
fn genesis_sets_validators_and_bridge_keys() {
	new_test_ext().execute_with(|| {
		assert_eq!(set(), GENESIS_VALIDATORS.to_vec());
		assert_eq!(Session::validators(), GENESIS_VALIDATORS.to_vec());
		let expected: Vec<_> = GENESIS_VALIDATORS.iter().map(|&a| session_keys(a).w3b).collect();
		assert_eq!(BridgeAuthorities::<Test>::get().into_inner(), expected);
		assert!(!SetChanged::<Test>::get());
		assert_ok!(crate::Pallet::<Test>::do_try_state());
	});
}

#[docify::export]
#[test]
fn add_validator_takes_effect_two_sessions_later() {
	new_test_ext().execute_with(|| {
		// CANDIDATE registered its session keys in `new_test_ext`.
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), CANDIDATE));
		System::assert_last_event(Event::ValidatorAdded { validator: CANDIDATE }.into());
		assert_eq!(set(), vec![1, 2, 3, 4, CANDIDATE]);
		assert!(SetChanged::<Test>::get());

		// Session 1: the new set is queued, the old one still authors.
		run_to_session(1);
		System::assert_has_event(
			Event::ValidatorSetQueued { session_index: 2, validators: 5 }.into(),
		);
		assert!(!SetChanged::<Test>::get());
		assert_eq!(Session::validators(), GENESIS_VALIDATORS.to_vec());

		// Session 2: the new set is active, with its bridge keys.
		run_to_session(2);
		assert_eq!(Session::validators(), vec![1, 2, 3, 4, CANDIDATE]);
		assert_eq!(BridgeAuthorities::<Test>::get().len(), 5);
		assert!(BridgeAuthorities::<Test>::get().contains(&session_keys(CANDIDATE).w3b));
	});
}

#[test]
fn add_validator_requires_update_origin() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::signed(1), CANDIDATE),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::none(), CANDIDATE),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn add_validator_rejects_duplicate() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), 2),
			Error::<Test>::AlreadyValidator
		);
	});
}

#[test]
fn add_validator_rejects_account_without_session_keys() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), NO_KEYS),
			Error::<Test>::NoSessionKeys
		);
	});
}

#[test]
fn add_validator_rejects_beyond_max_validators() {
	new_test_ext().execute_with(|| {
		register_keys(NO_KEYS);
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), CANDIDATE));
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), NO_KEYS));
		// MaxValidators is 6 in the mock; account 7 would be the seventh.
		assert_ok!(Balances::force_set_balance(RuntimeOrigin::root(), 7, 1_000));
		register_keys(7);
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), 7),
			Error::<Test>::TooManyValidators
		);
	});
}

#[test]
fn remove_validator_takes_effect_two_sessions_later() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 4));
		System::assert_last_event(Event::ValidatorRemoved { validator: 4 }.into());
		assert_eq!(set(), vec![1, 2, 3]);

		run_to_session(1);
		assert_eq!(Session::validators(), GENESIS_VALIDATORS.to_vec());
		run_to_session(2);
		assert_eq!(Session::validators(), vec![1, 2, 3]);
		assert!(!BridgeAuthorities::<Test>::get().contains(&session_keys(4).w3b));
	});
}

#[test]
fn remove_validator_requires_update_origin() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::signed(1), 4),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn remove_validator_rejects_non_validator() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), CANDIDATE),
			Error::<Test>::NotValidator
		);
	});
}

#[test]
fn remove_validator_refuses_to_go_below_minimum() {
	new_test_ext().execute_with(|| {
		// MinValidators is 3: the fourth validator can go, the third cannot.
		assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 4));
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), 3),
			Error::<Test>::TooFewValidators
		);
		assert_ok!(Validators::set_min_validators(RuntimeOrigin::root(), 2));
		assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 3));
		assert_eq!(set(), vec![1, 2]);
	});
}

#[test]
fn unchanged_set_is_not_requeued() {
	new_test_ext().execute_with(|| {
		run_to_session(3);
		let queued = System::events()
			.iter()
			.any(|r| matches!(r.event, RuntimeEvent::Validators(Event::ValidatorSetQueued { .. })));
		assert!(!queued, "no change was made, so no set may be queued");
		assert_eq!(Session::validators(), GENESIS_VALIDATORS.to_vec());
	});
}

#[test]
fn add_then_remove_in_one_session_queues_the_final_set() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), CANDIDATE));
		assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 1));
		run_to_session(2);
		assert_eq!(Session::validators(), vec![2, 3, 4, CANDIDATE]);
		assert_ok!(crate::Pallet::<Test>::do_try_state());
	});
}

#[test]
fn rotated_bridge_key_is_picked_up_at_next_session() {
	new_test_ext().execute_with(|| {
		// Validator 1 rotates its bridge key to the key derived from seed 42.
		let new_key = sp_core::ecdsa::Pair::from_seed(&[42u8; 32]);
		let keys = MockSessionKeys { w3b: new_key.public().into() };
		let proof = proof_of_possession(new_key, 1);
		assert_ok!(Session::set_keys(RuntimeOrigin::signed(1), keys.clone(), proof));
		run_to_session(2);
		assert!(BridgeAuthorities::<Test>::get().contains(&keys.w3b));
		assert!(!BridgeAuthorities::<Test>::get().contains(&session_keys(1).w3b));
	});
}

#[test]
#[should_panic(expected = "genesis has fewer validators than min_validators")]
fn genesis_below_minimum_panics() {
	build_genesis(vec![1, 2], 3);
}

#[test]
#[should_panic(expected = "genesis validators contain a duplicate")]
fn genesis_with_duplicate_panics() {
	build_genesis(vec![1, 2, 2], 1);
}

#[test]
fn set_min_validators_works() {
	new_test_ext().execute_with(|| {
		assert_ok!(Validators::set_min_validators(RuntimeOrigin::root(), 4));
		System::assert_last_event(Event::MinValidatorsSet { min_validators: 4 }.into());
		assert_eq!(crate::MinValidators::<Test>::get(), 4);
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), 4),
			Error::<Test>::TooFewValidators
		);
	});
}

#[test]
fn set_min_validators_rejects_zero_and_more_than_the_set() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::set_min_validators(RuntimeOrigin::root(), 0),
			Error::<Test>::InvalidMinValidators
		);
		assert_noop!(
			Validators::set_min_validators(RuntimeOrigin::root(), 5),
			Error::<Test>::InvalidMinValidators
		);
	});
}

#[test]
fn set_min_validators_requires_update_origin() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::set_min_validators(RuntimeOrigin::signed(1), 1),
			DispatchError::BadOrigin
		);
	});
}

#[test]
#[should_panic(expected = "genesis min_validators must be at least 1")]
fn genesis_with_zero_minimum_panics() {
	build_genesis(vec![1], 0);
}

#[test]
fn add_and_remove_reject_account_without_validator_id() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Validators::add_validator(RuntimeOrigin::root(), NOT_ELIGIBLE),
			Error::<Test>::NoValidatorId
		);
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::root(), NOT_ELIGIBLE),
			Error::<Test>::NoValidatorId
		);
	});
}

#[test]
fn empty_genesis_leaves_the_first_set_to_session_keys() {
	use sp_runtime::BuildStorage;
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	crate::GenesisConfig::<Test>::default().assimilate_storage(&mut storage).unwrap();
	pallet_session::GenesisConfig::<Test> {
		keys: vec![(1, 1, session_keys(1)), (2, 2, session_keys(2))],
		non_authority_keys: vec![],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	sp_io::TestExternalities::from(storage).execute_with(|| {
		assert!(ValidatorSet::<Test>::get().is_empty());
		assert_eq!(crate::MinValidators::<Test>::get(), 1);
		assert_eq!(Session::validators(), vec![1, 2]);
	});
}

#[test]
fn the_council_follows_the_validator_set_at_once() {
	new_test_ext().execute_with(|| {
		// Genesis hands the initial set to the council, sorted.
		assert_eq!(CouncilMembers::get(), GENESIS_VALIDATORS.to_vec());

		// An admitted validator votes from its admission, before it authors.
		assert_ok!(Validators::add_validator(RuntimeOrigin::root(), CANDIDATE));
		assert_eq!(CouncilMembers::get(), vec![1, 2, 3, 4, CANDIDATE]);
		assert_eq!(Session::validators(), GENESIS_VALIDATORS.to_vec());

		// A removed validator loses its vote with its seat, while it still authors.
		assert_ok!(Validators::remove_validator(RuntimeOrigin::root(), 2));
		assert_eq!(CouncilMembers::get(), vec![1, 3, 4, CANDIDATE]);

		// A refused change leaves the council alone.
		assert_noop!(
			Validators::remove_validator(RuntimeOrigin::signed(1), 3),
			DispatchError::BadOrigin
		);
		assert_eq!(CouncilMembers::get(), vec![1, 3, 4, CANDIDATE]);
	});
}
