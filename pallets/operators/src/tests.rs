//! Unit tests: every call, its events and every error path.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use w3b_primitives::operator::{AdmissionPolicy, Endpoints, RemovalReason, SeatStatus};

fn held(who: u64) -> u64 {
	Balances::total_balance_on_hold(&who)
}

fn status(project: ProjectId) -> ProjectStatus {
	pallet_projects::Pallet::<Test>::status(project).unwrap()
}

fn endpoints(mqtt: &str, http: &str) -> Endpoints {
	Endpoints {
		mqtt: mqtt.as_bytes().to_vec().try_into().unwrap(),
		http: http.as_bytes().to_vec().try_into().unwrap(),
	}
}

#[test]
fn register_holds_bond_and_records_endpoints() {
	new_test_ext().execute_with(|| {
		let op = OPERATORS[0];
		let did: Did = b"did:io:0xabc".to_vec().try_into().unwrap();
		let ep = endpoints("mqtt://127.0.0.1:1883", "http://127.0.0.1:8080");
		assert_noop!(
			Operators::register_operator(RuntimeOrigin::signed(op), MIN_BOND - 1, ep.clone(), None),
			Error::<Test>::BelowMinBond
		);
		assert!(Operators::register_operator(
			RuntimeOrigin::signed(op),
			INITIAL_BALANCE * 2,
			ep.clone(),
			None
		)
		.is_err());
		assert_ok!(Operators::register_operator(
			RuntimeOrigin::signed(op),
			MIN_BOND,
			ep.clone(),
			Some(did.clone())
		));
		assert_eq!(held(op), MIN_BOND);
		let info = OperatorInfos::<Test>::get(op).unwrap();
		assert_eq!((info.bond, info.endpoints, info.did), (MIN_BOND, ep.clone(), Some(did)));
		System::assert_last_event(
			Event::OperatorRegistered { operator: op, bond: MIN_BOND }.into(),
		);
		assert_noop!(
			Operators::register_operator(RuntimeOrigin::signed(op), MIN_BOND, ep, None),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn update_operator_replaces_endpoints() {
	new_test_ext().execute_with(|| {
		let op = OPERATORS[0];
		let ep = endpoints("mqtt://10.0.0.1:1883", "");
		assert_noop!(
			Operators::update_operator(RuntimeOrigin::signed(op), ep.clone(), None),
			Error::<Test>::NotOperator
		);
		register(op);
		assert_ok!(Operators::update_operator(RuntimeOrigin::signed(op), ep.clone(), None));
		assert_eq!(OperatorInfos::<Test>::get(op).unwrap().endpoints, ep);
		System::assert_last_event(Event::OperatorUpdated { operator: op }.into());
	});
}

#[test]
fn bond_extra_adds_to_the_hold() {
	new_test_ext().execute_with(|| {
		let op = OPERATORS[0];
		assert_noop!(
			Operators::bond_extra(RuntimeOrigin::signed(op), 5),
			Error::<Test>::NotOperator
		);
		register(op);
		assert_noop!(
			Operators::bond_extra(RuntimeOrigin::signed(op), 0),
			Error::<Test>::InvalidAmount
		);
		assert!(Operators::bond_extra(RuntimeOrigin::signed(op), INITIAL_BALANCE).is_err());
		assert_ok!(Operators::bond_extra(RuntimeOrigin::signed(op), 500));
		assert_eq!(held(op), MIN_BOND + 500);
		assert_eq!(OperatorInfos::<Test>::get(op).unwrap().bond, MIN_BOND + 500);
		System::assert_last_event(Event::BondChanged { operator: op, bond: MIN_BOND + 500 }.into());
	});
}

#[test]
fn unbond_and_withdraw_after_the_period_then_deregister() {
	new_test_ext().execute_with(|| {
		let op = OPERATORS[0];
		register(op);
		assert_ok!(Operators::bond_extra(RuntimeOrigin::signed(op), 500));
		let unbond = |amount| Operators::unbond(RuntimeOrigin::signed(op), amount);
		assert_noop!(unbond(0), Error::<Test>::InvalidAmount);
		assert_noop!(unbond(MIN_BOND + 501), Error::<Test>::InvalidAmount);
		assert_noop!(unbond(501), Error::<Test>::BelowMinBond);
		assert_ok!(unbond(500));
		System::assert_last_event(Event::BondChanged { operator: op, bond: MIN_BOND }.into());
		// Still held until the period is over.
		assert_eq!(held(op), MIN_BOND + 500);
		assert_noop!(
			Operators::withdraw_unbonded(RuntimeOrigin::signed(op)),
			Error::<Test>::NothingToWithdraw
		);
		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(Operators::withdraw_unbonded(RuntimeOrigin::signed(op)));
		assert_eq!(held(op), MIN_BOND);
		System::assert_last_event(Event::Withdrawn { operator: op, amount: 500 }.into());
		// All of it: the operator goes once withdrawn.
		assert_ok!(unbond(MIN_BOND));
		System::set_block_number(1 + 2 * UNBONDING_PERIOD);
		assert_ok!(Operators::withdraw_unbonded(RuntimeOrigin::signed(op)));
		System::assert_last_event(Event::OperatorDeregistered { operator: op }.into());
		assert!(OperatorInfos::<Test>::get(op).is_none());
		assert_eq!(held(op), 0);
		assert_eq!(Balances::balance(&op), INITIAL_BALANCE);
		assert_noop!(
			Operators::withdraw_unbonded(RuntimeOrigin::signed(op)),
			Error::<Test>::NotOperator
		);
	});
}

#[test]
fn unbond_is_bounded_and_refused_to_subnet_members() {
	new_test_ext().execute_with(|| {
		let op = OPERATORS[0];
		register(op);
		assert_ok!(Operators::bond_extra(RuntimeOrigin::signed(op), 100));
		for _ in 0..8 {
			assert_ok!(Operators::bond_extra(RuntimeOrigin::signed(op), 1));
			assert_ok!(Operators::unbond(RuntimeOrigin::signed(op), 1));
		}
		assert_noop!(
			Operators::unbond(RuntimeOrigin::signed(op), 1),
			Error::<Test>::TooManyUnlockChunks
		);
		let op = OPERATORS[1];
		register(op);
		let p = create_project(1, 0);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), p));
		assert_noop!(
			Operators::unbond(RuntimeOrigin::signed(op), MIN_BOND),
			Error::<Test>::StillInSubnets
		);
	});
}

#[test]
fn joining_activates_the_project_and_leaving_returns_it_to_pending() {
	new_test_ext().execute_with(|| {
		let p = create_project(3, 0);
		for op in OPERATORS {
			register(op);
		}
		for (i, op) in OPERATORS.into_iter().take(3).enumerate() {
			assert_eq!(status(p), ProjectStatus::Pending);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), p));
			System::assert_has_event(
				Event::SubnetJoined { project: p, operator: op, size: i as u32 + 1 }.into(),
			);
		}
		assert_eq!(status(p), ProjectStatus::Active);
		assert_eq!(Operators::members(p), OPERATORS[..3]);
		assert!(Operators::is_member(p, &OPERATORS[0]) && !Operators::is_member(p, &OPERATORS[3]));
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(OPERATORS[1]), p));
		System::assert_has_event(
			Event::SubnetLeft { project: p, operator: OPERATORS[1], size: 2 }.into(),
		);
		assert_eq!(status(p), ProjectStatus::Pending);
		assert_eq!(Operators::members(p), [OPERATORS[0], OPERATORS[2]]);
		assert!(OperatorInfos::<Test>::get(OPERATORS[1]).unwrap().subnets.is_empty());
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[3]), p));
		assert_eq!(status(p), ProjectStatus::Active);
		assert_eq!(Operators::subnet_size(p), 3);
	});
}

#[test]
fn join_and_leave_errors() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 0);
		let op = OPERATORS[0];
		let join = |who, project| Operators::join_subnet(RuntimeOrigin::signed(who), project);
		assert_noop!(join(op, p), Error::<Test>::NotOperator);
		register(op);
		assert_noop!(join(op, 42), Error::<Test>::UnknownProject);
		assert_ok!(join(op, p));
		assert_noop!(join(op, p), Error::<Test>::AlreadyMember);
		assert_noop!(
			Operators::leave_subnet(RuntimeOrigin::signed(op), 42),
			Error::<Test>::NotMember
		);
		assert_noop!(
			Operators::leave_subnet(RuntimeOrigin::signed(OUTSIDER), p),
			Error::<Test>::NotMember
		);
		// Operators serve at most 16 subnets.
		for _ in 1..16 {
			let q = create_project(1, 0);
			assert_ok!(join(op, q));
		}
		let q = create_project(1, 0);
		assert_noop!(join(op, q), Error::<Test>::TooManySubnets);
		// Closed projects take no one.
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), q));
		register(OPERATORS[1]);
		assert_noop!(join(OPERATORS[1], q), Error::<Test>::ProjectClosed);
		// An operator on its way out cannot join.
		let r = create_project(1, 0);
		assert_ok!(Operators::unbond(RuntimeOrigin::signed(OPERATORS[1]), MIN_BOND));
		assert_noop!(join(OPERATORS[1], r), Error::<Test>::NotBonded);
	});
}

#[test]
fn subnets_are_bounded() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 0);
		for who in 1000..1064u64 {
			assert_ok!(Balances::force_set_balance(RuntimeOrigin::root(), who, 10 * MIN_BOND));
			register(who);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(who), p));
		}
		register(OPERATORS[0]);
		assert_noop!(
			Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[0]), p),
			Error::<Test>::SubnetFull
		);
	});
}

#[test]
fn reward_pool_is_managed_by_the_owner() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 10);
		assert_noop!(
			Operators::fund_reward_pool(RuntimeOrigin::signed(OUTSIDER), p, 500),
			Error::<Test>::NotProjectOwner
		);
		assert_noop!(
			Operators::fund_reward_pool(RuntimeOrigin::signed(OWNER), 9, 500),
			Error::<Test>::UnknownProject
		);
		assert_ok!(Operators::fund_reward_pool(RuntimeOrigin::signed(OWNER), p, 500));
		System::assert_last_event(Event::RewardPoolFunded { project: p, amount: 500 }.into());
		assert_eq!(Operators::reward_pool_balance(p), 500);
		assert_noop!(
			Operators::withdraw_reward_pool(RuntimeOrigin::signed(OUTSIDER), p, 100),
			Error::<Test>::NotProjectOwner
		);
		assert!(Operators::withdraw_reward_pool(RuntimeOrigin::signed(OWNER), p, 501).is_err());
		assert_ok!(Operators::withdraw_reward_pool(RuntimeOrigin::signed(OWNER), p, 100));
		System::assert_last_event(Event::RewardPoolWithdrawn { project: p, amount: 100 }.into());
		assert_eq!(Operators::reward_pool_balance(p), 400);
		// (That pools of different projects are different accounts is checked in the
		// runtime's tests: the u64 accounts of this mock truncate the sub-account.)
	});
}

#[test]
fn rewards_are_shared_by_subnet_size_and_stop_when_the_pool_is_empty() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 40);
		assert_ok!(Operators::fund_reward_pool(RuntimeOrigin::signed(OWNER), p, 50));
		let before = Balances::balance(&OPERATORS[0]);
		// Three of a subnet of four agreed: 10 each.
		Operators::pay_rewards(p, 0, &OPERATORS[..3], 4);
		System::assert_last_event(
			Event::RewardsPaid { project: p, batch_seq: 0, operators: 3, amount_each: 10 }.into(),
		);
		assert_eq!(Balances::balance(&OPERATORS[0]), before + 10);
		assert_eq!(Operators::reward_pool_balance(p), 20);
		Operators::pay_rewards(p, 1, &OPERATORS[..3], 4);
		System::assert_has_event(
			Event::RewardPoolExhausted { project: p, batch_seq: 1, operator: OPERATORS[2] }.into(),
		);
		System::assert_last_event(
			Event::RewardsPaid { project: p, batch_seq: 1, operators: 2, amount_each: 10 }.into(),
		);
		assert_eq!(Operators::reward_pool_balance(p), 0);
		// A project without rewards pays nothing and says nothing.
		let q = create_project(1, 0);
		let events = System::events().len();
		Operators::pay_rewards(q, 0, &OPERATORS, 4);
		assert_eq!(System::events().len(), events);
	});
}

fn seat_held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::SeatBond.into(), &who)
}

fn approved(bond_per_seat: u64) -> AdmissionPolicy<u64> {
	AdmissionPolicy::Approved { bond_per_seat }
}

#[test]
fn every_seat_holds_its_own_bond() {
	new_test_ext().execute_with(|| {
		let (p, q) = (create_project(1, 0), create_project(1, 0));
		// An identity funded for its registration and one seat.
		let sybil = 1_000;
		assert_ok!(Balances::force_set_balance(
			RuntimeOrigin::root(),
			sybil,
			MIN_BOND + MIN_SEAT_BOND + 1
		));
		register(sybil);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(sybil), p));
		assert_eq!(seat_held(sybil), MIN_SEAT_BOND);
		let seat = Operators::seat(p, &sybil).unwrap();
		assert_eq!((seat.bond, seat.since, seat.status), (MIN_SEAT_BOND, 1, SeatStatus::Member));
		// Its bond does not buy it a seat in another subnet.
		assert!(Operators::join_subnet(RuntimeOrigin::signed(sybil), q).is_err());
		assert!(!Operators::is_member(q, &sybil) && Operators::seat(q, &sybil).is_none());
		// Nor can it take the bond back while it holds the seat.
		assert_noop!(
			Operators::unbond(RuntimeOrigin::signed(sybil), MIN_BOND),
			Error::<Test>::StillInSubnets
		);
		// A project's own seat bond applies to seats taken after it is set.
		assert_ok!(Operators::set_admission_policy(
			RuntimeOrigin::signed(OWNER),
			q,
			AdmissionPolicy::Open { bond_per_seat: 3 * MIN_SEAT_BOND }
		));
		System::assert_last_event(
			Event::AdmissionPolicySet {
				project: q,
				policy: AdmissionPolicy::Open { bond_per_seat: 3 * MIN_SEAT_BOND },
			}
			.into(),
		);
		register(OPERATORS[0]);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[0]), p));
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[0]), q));
		assert_eq!(seat_held(OPERATORS[0]), 4 * MIN_SEAT_BOND);
		assert_eq!(held(OPERATORS[0]), MIN_BOND + 4 * MIN_SEAT_BOND);
	});
}

#[test]
fn admission_policy_errors() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 0);
		let set = |who, project, policy| {
			Operators::set_admission_policy(RuntimeOrigin::signed(who), project, policy)
		};
		assert_noop!(set(OWNER, 42, approved(MIN_SEAT_BOND)), Error::<Test>::UnknownProject);
		assert_noop!(set(OUTSIDER, p, approved(MIN_SEAT_BOND)), Error::<Test>::NotProjectOwner);
		assert_noop!(set(OWNER, p, approved(MIN_SEAT_BOND - 1)), Error::<Test>::SeatBondTooLow);
		assert_noop!(
			set(OWNER, p, AdmissionPolicy::Open { bond_per_seat: 0 }),
			Error::<Test>::SeatBondTooLow
		);
		assert_eq!(
			Operators::admission_policy(p),
			AdmissionPolicy::Open { bond_per_seat: MIN_SEAT_BOND }
		);
		assert_ok!(set(OWNER, p, approved(MIN_SEAT_BOND)));
		assert_eq!(Operators::admission_policy(p), approved(MIN_SEAT_BOND));
	});
}

/// The Sybil takeover: with h honest members, 2h fresh identities would hold the 2/3
/// quorum. Under approval they only hold applications (and lock a seat bond each).
#[test]
fn under_approval_only_admitted_operators_take_seats() {
	new_test_ext().execute_with(|| {
		let p = create_project(3, 0);
		assert_ok!(Operators::set_admission_policy(
			RuntimeOrigin::signed(OWNER),
			p,
			approved(MIN_SEAT_BOND)
		));
		let honest = &OPERATORS[..3];
		let sybils: Vec<u64> = (2_000..2_006).collect();
		for who in honest.iter().copied().chain(sybils.iter().copied()) {
			assert_ok!(Balances::force_set_balance(RuntimeOrigin::root(), who, 10 * MIN_BOND));
			register(who);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(who), p));
			System::assert_last_event(
				Event::SubnetApplied { project: p, operator: who, bond: MIN_SEAT_BOND }.into(),
			);
			assert_eq!(seat_held(who), MIN_SEAT_BOND);
			assert_eq!(Operators::seat(p, &who).unwrap().status, SeatStatus::Applied);
			assert_noop!(
				Operators::join_subnet(RuntimeOrigin::signed(who), p),
				Error::<Test>::AlreadyMember
			);
		}
		assert_eq!(Operators::subnet_size(p), 0);
		assert_eq!(status(p), ProjectStatus::Pending);
		// Only the owner admits, and only applicants.
		assert_noop!(
			Operators::admit_operator(RuntimeOrigin::signed(honest[0]), p, honest[0]),
			Error::<Test>::NotProjectOwner
		);
		assert_noop!(
			Operators::admit_operator(RuntimeOrigin::signed(OWNER), p, OUTSIDER),
			Error::<Test>::NotApplicant
		);
		System::set_block_number(5);
		for &who in honest {
			assert_ok!(Operators::admit_operator(RuntimeOrigin::signed(OWNER), p, who));
			assert_eq!(Operators::seat(p, &who).unwrap().since, 5);
		}
		assert_noop!(
			Operators::admit_operator(RuntimeOrigin::signed(OWNER), p, honest[0]),
			Error::<Test>::NotApplicant
		);
		assert_eq!(Operators::members(p), honest);
		assert_eq!(status(p), ProjectStatus::Active);
		// The owner turns the Sybils down: their bonds come back at once.
		for &who in &sybils {
			assert_ok!(Operators::remove_operator(RuntimeOrigin::signed(OWNER), p, who));
			System::assert_has_event(
				Event::OperatorRemoved { project: p, operator: who, reason: RemovalReason::Owner }
					.into(),
			);
			assert_eq!(seat_held(who), 0);
			assert!(Operators::seat(p, &who).is_none());
		}
		// An applicant may withdraw its application.
		register(OPERATORS[3]);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[3]), p));
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(OPERATORS[3]), p));
		System::assert_last_event(
			Event::SeatWithdrawn { project: p, operator: OPERATORS[3], amount: MIN_SEAT_BOND }
				.into(),
		);
		assert_eq!(seat_held(OPERATORS[3]), 0);
		assert_eq!(Operators::members(p), honest);
	});
}

#[test]
fn a_seat_given_up_stays_bonded_for_the_unbonding_period() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 0);
		let op = OPERATORS[0];
		register(op);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), p));
		assert_noop!(Operators::withdraw_seat(RuntimeOrigin::signed(op), p), Error::<Test>::NoSeat);
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(op), p));
		let unlock_at = 1 + UNBONDING_PERIOD;
		assert_eq!(Operators::seat(p, &op).unwrap().status, SeatStatus::Leaving { unlock_at });
		assert_eq!(seat_held(op), MIN_SEAT_BOND);
		assert!(!Operators::is_member(p, &op));
		assert_noop!(
			Operators::join_subnet(RuntimeOrigin::signed(op), p),
			Error::<Test>::SeatUnbonding
		);
		assert_noop!(
			Operators::leave_subnet(RuntimeOrigin::signed(op), p),
			Error::<Test>::NotMember
		);
		System::set_block_number(unlock_at - 1);
		assert_noop!(
			Operators::withdraw_seat(RuntimeOrigin::signed(op), p),
			Error::<Test>::NothingToWithdraw
		);
		System::set_block_number(unlock_at);
		assert_ok!(Operators::withdraw_seat(RuntimeOrigin::signed(op), p));
		System::assert_last_event(
			Event::SeatWithdrawn { project: p, operator: op, amount: MIN_SEAT_BOND }.into(),
		);
		assert_eq!(seat_held(op), 0);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), p));
		// A member the owner removes unbonds the same way.
		assert_ok!(Operators::remove_operator(RuntimeOrigin::signed(OWNER), p, op));
		assert_eq!(
			Operators::seat(p, &op).unwrap().status,
			SeatStatus::Leaving { unlock_at: unlock_at + UNBONDING_PERIOD }
		);
		assert_eq!(status(p), ProjectStatus::Pending);
		assert_noop!(
			Operators::remove_operator(RuntimeOrigin::signed(OWNER), p, op),
			Error::<Test>::NotMember
		);
	});
}

#[test]
fn a_slashed_seat_goes_to_the_treasury_and_its_operator_out() {
	new_test_ext().execute_with(|| {
		let p = create_project(1, 0);
		let (member, leaving) = (OPERATORS[0], OPERATORS[1]);
		for op in [member, leaving] {
			register(op);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(op), p));
		}
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(leaving), p));
		let treasury = TREASURY;
		assert_eq!(Operators::slash_seat(p, &member, RemovalReason::InvalidBatch), MIN_SEAT_BOND);
		System::assert_has_event(
			Event::OperatorRemoved {
				project: p,
				operator: member,
				reason: RemovalReason::InvalidBatch,
			}
			.into(),
		);
		System::assert_last_event(
			Event::SeatSlashed { project: p, operator: member, amount: MIN_SEAT_BOND }.into(),
		);
		assert!(!Operators::is_member(p, &member) && Operators::seat(p, &member).is_none());
		assert!(OperatorInfos::<Test>::get(member).unwrap().subnets.is_empty());
		// Not the project's pool: its owner could withdraw what it provoked.
		assert_eq!(Balances::free_balance(treasury), MIN_SEAT_BOND);
		assert_eq!(Operators::reward_pool_balance(p), 0);
		assert_eq!(seat_held(member), 0);
		assert_eq!(held(member), MIN_BOND, "the registration bond is not the seat's");
		// A seat still unbonding answers for what its operator did as a member.
		assert_eq!(Operators::slash_seat(p, &leaving, RemovalReason::InvalidBatch), MIN_SEAT_BOND);
		assert_eq!(Balances::free_balance(treasury), 2 * MIN_SEAT_BOND);
		assert_eq!(
			Operators::slash_seat(p, &leaving, RemovalReason::InvalidBatch),
			0,
			"nothing is left to take"
		);
		assert_eq!(status(p), ProjectStatus::Pending);
	});
}

mod by_credential {
	use super::*;
	use sp_core::{ed25519, Pair, H256};
	use w3b_primitives::{
		credential::{
			credential_type_of, CredentialAnchor, CredentialPolicy, CredentialStatus, StatusChange,
		},
		did::{did_id_of, DidCreation, DidId},
		DeviceKey, DeviceSignature,
	};

	fn genesis() -> H256 {
		H256::repeat_byte(0x99)
	}

	fn key(pair: &ed25519::Pair) -> DeviceKey {
		DeviceKey::Ed25519(pair.public().0)
	}

	fn sign(pair: &ed25519::Pair, hash: H256) -> DeviceSignature {
		DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0)
	}

	/// Creates `pair`'s DID (also its assertion key), paid by [`OWNER`].
	fn did(pair: &ed25519::Pair) -> DidId {
		let mut creation = DidCreation::new(key(pair), OWNER, System::block_number() + 5);
		creation.assertion = Some(key(pair));
		let signature = sign(pair, creation.signing_hash(&genesis()));
		assert_ok!(Dids::create(RuntimeOrigin::signed(OWNER), creation, signature));
		did_id_of(&key(pair))
	}

	fn vetted() -> H256 {
		credential_type_of("VettedOperatorCredential")
	}

	/// `issuer` anchors a credential of `credential_type` about `subject`.
	fn anchor(issuer: &ed25519::Pair, subject: DidId, credential_type: H256, index: u32) -> H256 {
		let anchor = CredentialAnchor {
			issuer: did_id_of(&key(issuer)),
			hash: H256::from_low_u64_be(u64::from(index) + 1),
			credential_type,
			subject: Some(subject),
			status_index: index,
			submitter: OWNER,
			valid_until: System::block_number() + 5,
		};
		let signature = sign(issuer, anchor.signing_hash(&genesis()));
		let hash = anchor.hash;
		assert_ok!(Credentials::anchor(RuntimeOrigin::signed(OWNER), anchor, signature));
		hash
	}

	fn revoke(issuer: &ed25519::Pair, hash: H256) {
		let change = StatusChange {
			issuer: did_id_of(&key(issuer)),
			hash,
			revision: 1,
			status: CredentialStatus::Revoked,
			valid_until: System::block_number() + 5,
		};
		let signature = sign(issuer, change.signing_hash(&genesis()));
		assert_ok!(Credentials::set_status(RuntimeOrigin::signed(OWNER), change, signature));
	}

	fn link(operator: u64, pair: &ed25519::Pair, did: DidId) -> sp_runtime::DispatchResult {
		let valid_until = System::block_number() + 5;
		let hash = did_link_signing_hash(&genesis(), &operator, &did, &valid_until);
		Operators::link_did(RuntimeOrigin::signed(operator), did, valid_until, sign(pair, hash))
	}

	/// A project of [`OWNER`] needing one operator, admitting by a credential of
	/// `issuer`'s; returns it.
	fn project_by_credential(issuer: DidId) -> ProjectId {
		let project = create_project(1, 0);
		let credential = CredentialPolicy {
			credential_type: vetted(),
			issuers: vec![issuer].try_into().unwrap(),
		};
		assert_ok!(Operators::set_admission_policy(
			RuntimeOrigin::signed(OWNER),
			project,
			AdmissionPolicy::Credential { bond_per_seat: MIN_SEAT_BOND, credential }
		));
		project
	}

	#[test]
	fn link_did_proves_control_and_binds_one_operator() {
		new_test_ext().execute_with(|| {
			let [a, b, ..] = OPERATORS;
			let pair = ed25519::Pair::from_seed(&[1; 32]);
			let operator_did = did(&pair);
			assert_noop!(link(a, &pair, operator_did), Error::<Test>::NotOperator);
			register(a);
			register(b);
			// Another key's signature, a DID that does not exist, a stale link.
			assert_noop!(
				link(a, &ed25519::Pair::from_seed(&[2; 32]), operator_did),
				Error::<Test>::BadDidSignature
			);
			assert_noop!(link(a, &pair, H256::repeat_byte(3)), Error::<Test>::UnknownDid);
			let hash = did_link_signing_hash(&genesis(), &a, &operator_did, &0u64);
			assert_noop!(
				Operators::link_did(RuntimeOrigin::signed(a), operator_did, 0, sign(&pair, hash)),
				Error::<Test>::LinkNotValidNow
			);
			// A's link, replayed by B: the signature names A.
			let valid_until = System::block_number() + 5;
			let hash = did_link_signing_hash(&genesis(), &a, &operator_did, &valid_until);
			assert_noop!(
				Operators::link_did(
					RuntimeOrigin::signed(b),
					operator_did,
					valid_until,
					sign(&pair, hash)
				),
				Error::<Test>::BadDidSignature
			);
			assert_ok!(link(a, &pair, operator_did));
			System::assert_last_event(Event::DidLinked { operator: a, did: operator_did }.into());
			assert_eq!(OperatorDids::<Test>::get(a), Some(operator_did));
			// The DID's holder cannot seat a second account with it, nor move it: A's
			// link lasts until A deregisters.
			assert_noop!(link(b, &pair, operator_did), Error::<Test>::DidTaken);
			let other = ed25519::Pair::from_seed(&[4; 32]);
			let other_did = did(&other);
			assert_noop!(link(a, &other, other_did), Error::<Test>::DidAlreadyLinked);
			// A deregisters: the DID is free for B.
			assert_ok!(Operators::unbond(RuntimeOrigin::signed(a), MIN_BOND));
			System::set_block_number(System::block_number() + UNBONDING_PERIOD + 1);
			assert_ok!(Operators::withdraw_unbonded(RuntimeOrigin::signed(a)));
			assert_eq!(
				(OperatorDids::<Test>::get(a), DidOperators::<Test>::get(operator_did)),
				(None, None)
			);
			assert_ok!(link(b, &pair, operator_did));
		});
	}

	#[test]
	fn a_sybil_without_the_credential_takes_no_seat() {
		new_test_ext().execute_with(|| {
			let issuer_pair = ed25519::Pair::from_seed(&[10; 32]);
			let issuer = did(&issuer_pair);
			let project = project_by_credential(issuer);
			// Fresh accounts, bonded: no linked DID, or one without the credential.
			let [honest, sybil, second_sybil, _] = OPERATORS;
			for who in [honest, sybil, second_sybil] {
				register(who);
			}
			assert_noop!(
				Operators::join_subnet(RuntimeOrigin::signed(sybil), project),
				Error::<Test>::CredentialRequired
			);
			let sybil_pair = ed25519::Pair::from_seed(&[11; 32]);
			let sybil_did = did(&sybil_pair);
			assert_ok!(link(sybil, &sybil_pair, sybil_did));
			// A credential of another type, and one the sybil issued itself.
			anchor(&issuer_pair, sybil_did, H256::repeat_byte(1), 1);
			anchor(&sybil_pair, sybil_did, vetted(), 2);
			assert_noop!(
				Operators::join_subnet(RuntimeOrigin::signed(sybil), project),
				Error::<Test>::CredentialRequired
			);
			// The honest operator holds the trusted issuer's credential.
			let honest_pair = ed25519::Pair::from_seed(&[12; 32]);
			let honest_did = did(&honest_pair);
			assert_ok!(link(honest, &honest_pair, honest_did));
			anchor(&issuer_pair, honest_did, vetted(), 3);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(honest), project));
			assert!(Pallet::<Test>::is_member(project, &honest));
			// The honest DID cannot seat the second sybil account.
			assert_noop!(link(second_sybil, &honest_pair, honest_did), Error::<Test>::DidTaken);
		});
	}

	#[test]
	fn anyone_removes_a_member_whose_credential_stopped_holding() {
		new_test_ext().execute_with(|| {
			let issuer_pair = ed25519::Pair::from_seed(&[10; 32]);
			let issuer = did(&issuer_pair);
			let project = project_by_credential(issuer);
			let [member, ..] = OPERATORS;
			register(member);
			let pair = ed25519::Pair::from_seed(&[12; 32]);
			let member_did = did(&pair);
			assert_ok!(link(member, &pair, member_did));
			let credential = anchor(&issuer_pair, member_did, vetted(), 3);
			assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(member), project));
			assert_noop!(
				Operators::remove_uncredentialed(RuntimeOrigin::signed(OUTSIDER), project, member),
				Error::<Test>::CredentialHolds
			);
			revoke(&issuer_pair, credential);
			assert_ok!(Operators::remove_uncredentialed(
				RuntimeOrigin::signed(OUTSIDER),
				project,
				member
			));
			System::assert_has_event(
				Event::OperatorRemoved {
					project,
					operator: member,
					reason: RemovalReason::CredentialLost,
				}
				.into(),
			);
			assert!(!Pallet::<Test>::is_member(project, &member));
			assert_noop!(
				Operators::remove_uncredentialed(RuntimeOrigin::signed(OUTSIDER), project, member),
				Error::<Test>::NotMember
			);
			// A project admitting openly removes nobody this way.
			let open = create_project(1, 0);
			assert_noop!(
				Operators::remove_uncredentialed(RuntimeOrigin::signed(OUTSIDER), open, member),
				Error::<Test>::CredentialHolds
			);
		});
	}
}
