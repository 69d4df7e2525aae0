//! Unit tests: every call, its events and every error path.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use w3b_primitives::operator::Endpoints;

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
			Error::<Test>::NotOperator
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
