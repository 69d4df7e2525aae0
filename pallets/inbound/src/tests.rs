//! Unit tests: subscriptions and their checks, the quorum on observations (a lying
//! minority can neither add nor hide a log), ranges without logs, late and changed
//! votes, and every error path.

use crate::{mock::*, *};
use codec::Decode;
use frame_support::{assert_noop, assert_ok};
use sp_core::H160;
use sp_runtime::DispatchResult;
use w3b_primitives::{
	inbound::{cut_range, log_message, source_id, EvmLog, LOG_SIGNATURE, MAX_RANGE_LOGS},
	DeviceSignature, Message,
};

fn subscribed() -> (ProjectId, SubscriptionId) {
	let p = active_project();
	assert_ok!(Inbound::subscribe(RuntimeOrigin::signed(OWNER), p, subscription(), 100));
	(p, 0)
}

/// The observation of the range from 100 holding `logs`.
fn seen(logs: Vec<EvmLog>) -> Observation {
	cut_range(Cursor::at_block(100), 109, logs)
}

fn vote(who: u64, p: ProjectId, id: SubscriptionId, observation: &Observation) -> DispatchResult {
	Inbound::observe(RuntimeOrigin::signed(who), p, id, observation.clone())
}

fn body_of(p: ProjectId, seq: u64) -> Vec<(Message, DeviceSignature, u64)> {
	let body = Commitments::on_chain_body(p, seq).expect("a body made on chain");
	Decode::decode(&mut &body[..]).unwrap()
}

#[test]
fn subscribe_checks_owner_and_subscription() {
	new_test_ext().execute_with(|| {
		let p = active_project();
		let subscribe =
			|who, s: Subscription| Inbound::subscribe(RuntimeOrigin::signed(who), p, s, 5);
		assert_noop!(subscribe(OPERATORS[0], subscription()), Error::<Test>::NotOwner);
		assert_noop!(
			Inbound::subscribe(RuntimeOrigin::signed(OWNER), 99, subscription(), 5),
			Error::<Test>::UnknownProject
		);
		let bad = [
			Subscription { chain_id: 0, ..subscription() },
			Subscription { contract: H160::zero(), ..subscription() },
			Subscription { event_type: Default::default(), ..subscription() },
			Subscription { event_type: b"Reading".to_vec().try_into().unwrap(), ..subscription() },
			Subscription { event_type: b"evm:".to_vec().try_into().unwrap(), ..subscription() },
			Subscription { blocks_per_range: 0, ..subscription() },
			Subscription { blocks_per_range: MAX_RANGE_BLOCKS + 1, ..subscription() },
			Subscription { confirmations: MAX_CONFIRMATIONS + 1, ..subscription() },
		];
		for s in bad {
			assert_noop!(subscribe(OWNER, s), Error::<Test>::InvalidSubscription);
		}
		for id in 0..MAX_SUBSCRIPTIONS {
			assert_ok!(subscribe(OWNER, subscription()));
			System::assert_last_event(Event::Subscribed { project: p, id, from_block: 5 }.into());
		}
		assert_noop!(subscribe(OWNER, subscription()), Error::<Test>::TooManySubscriptions);
		// Ids are never reused: a vote for a removed subscription never counts for another.
		assert_ok!(Inbound::unsubscribe(RuntimeOrigin::signed(OWNER), p, 3));
		assert_ok!(subscribe(OWNER, subscription()));
		System::assert_last_event(
			Event::Subscribed { project: p, id: MAX_SUBSCRIPTIONS, from_block: 5 }.into(),
		);
		assert_eq!(Inbound::subscriptions(p).len(), MAX_SUBSCRIPTIONS as usize);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(subscribe(OWNER, subscription()), Error::<Test>::ProjectClosed);
	});
}

#[test]
fn a_quorum_s_observation_becomes_a_batch_made_on_chain() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let observation = seen(vec![log(101, 0, b"first"), log(107, 4, b"second")]);
		assert_ok!(vote(OPERATORS[0], p, id, &observation));
		assert_ok!(vote(OPERATORS[1], p, id, &observation));
		assert_eq!(Commitments::next_batch_seq(p), 0, "two of four are no quorum");
		assert_eq!(Inbound::vote_of(p, id, &OPERATORS[1]), Some(observation.hash()));
		assert_ok!(vote(OPERATORS[2], p, id, &observation));
		System::assert_last_event(
			Event::RangeAccepted {
				project: p,
				id,
				from: Cursor::at_block(100),
				to_block: 109,
				logs: 2,
				next: Cursor::at_block(110),
				batch_seq: Some(0),
			}
			.into(),
		);
		// The batch is credited to the vote that completed the quorum.
		assert_eq!(Commitments::batch(p, 0).unwrap().committer, OPERATORS[2]);
		let messages = body_of(p, 0);
		assert_eq!(messages.len(), 2);
		for ((message, signature, received), log) in messages.iter().zip(&observation.logs) {
			assert_eq!(message.device, source_id(4690, &subscription().contract));
			assert_eq!(
				(message.seq, message.timestamp_ms, *received),
				(log.block_number, NOW_MS, NOW_MS)
			);
			assert_eq!(message.event_type, b"evm:Reading".to_vec());
			assert_eq!(*signature, LOG_SIGNATURE);
		}
		let payload: &str = core::str::from_utf8(&messages[1].0.payload).unwrap();
		assert!(payload.contains("\"blockNumber\":107") && payload.contains("\"logIndex\":4"));
		assert!(payload.contains(&format!("\"data\":\"0x{}\"", "7365636f6e64")), "{payload}");
		// The next range opens; nothing of this one stays.
		assert_eq!(Cursors::<Test>::get(p, id), Some(Cursor::at_block(110)));
		assert!(Votes::<Test>::get((p, id)).is_empty());
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 0);
		// The fourth member's vote, late, does nothing and is no error.
		let events = System::events().len();
		assert_ok!(vote(OPERATORS[3], p, id, &observation));
		assert_eq!(System::events().len(), events);
		assert_eq!(Commitments::next_batch_seq(p), 1);
	});
}

#[test]
fn a_lying_minority_can_neither_add_nor_hide_a_log() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let truth = seen(vec![log(103, 0, b"real")]);
		let forged = seen(vec![log(103, 0, b"real"), log(104, 0, b"forged")]);
		let hidden = seen(vec![]);
		// One liar adds a log, another hides the real one: four members, two liars, no
		// quorum for either lie.
		assert_ok!(vote(OPERATORS[0], p, id, &forged));
		assert_ok!(vote(OPERATORS[1], p, id, &hidden));
		assert_ok!(vote(OPERATORS[2], p, id, &truth));
		assert_eq!(Commitments::next_batch_seq(p), 0);
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 3);
		// The honest members are a quorum once the third one's endpoint agrees.
		assert_ok!(vote(OPERATORS[3], p, id, &truth));
		assert_eq!(Commitments::next_batch_seq(p), 0, "2 honest of 4 are no quorum either");
		// A liar whose node comes right changes its vote: the truth has its quorum.
		assert_ok!(vote(OPERATORS[0], p, id, &truth));
		let messages = body_of(p, 0);
		assert_eq!(messages.len(), 1);
		assert!(core::str::from_utf8(&messages[0].0.payload).unwrap().contains("0x7265616c"));
	});
}

#[test]
fn a_range_without_logs_moves_the_cursor_without_a_batch() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		for op in &OPERATORS[..3] {
			assert_ok!(vote(*op, p, id, &seen(vec![])));
		}
		System::assert_last_event(
			Event::RangeAccepted {
				project: p,
				id,
				from: Cursor::at_block(100),
				to_block: 109,
				logs: 0,
				next: Cursor::at_block(110),
				batch_seq: None,
			}
			.into(),
		);
		assert_eq!(Cursors::<Test>::get(p, id), Some(Cursor::at_block(110)));
		assert_eq!(Commitments::next_batch_seq(p), 0);
		// The next range starts at the cursor.
		let next = cut_range(Cursor::at_block(110), 119, vec![log(111, 0, b"x")]);
		assert_ok!(vote(OPERATORS[0], p, id, &next));
		assert_eq!(Inbound::vote_of(p, id, &OPERATORS[0]), Some(next.hash()));
	});
}

#[test]
fn malformed_and_unauthorized_observations_are_refused() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let ok = seen(vec![log(101, 0, b"x")]);
		assert_noop!(vote(OUTSIDER, p, id, &ok), Error::<Test>::NotSubnetMember);
		assert_noop!(vote(OPERATORS[0], p, 7, &ok), Error::<Test>::UnknownSubscription);
		assert_noop!(vote(OPERATORS[0], 99, id, &ok), Error::<Test>::UnknownProject);
		let malformed = [
			// Ahead of the cursor.
			cut_range(Cursor::at_block(105), 109, vec![]),
			// Past the range of 10 blocks.
			cut_range(Cursor::at_block(100), 110, vec![]),
			// A log outside the range.
			Observation { to_block: 102, ..seen(vec![log(103, 0, b"x")]) },
			// Logs out of order, or one log twice.
			Observation {
				logs: vec![log(104, 1, b"x"), log(104, 0, b"y")].try_into().unwrap(),
				..seen(vec![])
			},
			Observation {
				logs: vec![log(104, 1, b"x"), log(104, 1, b"x")].try_into().unwrap(),
				..seen(vec![])
			},
			// A partial range without a full observation's logs in its last block.
			Observation { partial: true, ..seen(vec![log(101, 0, b"x")]) },
		];
		for observation in malformed {
			assert_noop!(
				vote(OPERATORS[0], p, id, &observation),
				Error::<Test>::MalformedObservation
			);
		}
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(vote(OPERATORS[0], p, id, &ok), Error::<Test>::ProjectNotActive);
	});
}

#[test]
fn votes_of_members_who_left_do_not_count_and_orphaned_candidates_go() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let truth = seen(vec![log(101, 0, b"x")]);
		let other = seen(vec![log(101, 0, b"y")]);
		assert_ok!(vote(OPERATORS[0], p, id, &truth));
		assert_ok!(vote(OPERATORS[1], p, id, &truth));
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(OPERATORS[0]), p));
		// Three members left, quorum 2: but the leaver's vote is gone, one vote is no quorum.
		assert_ok!(vote(OPERATORS[2], p, id, &other));
		assert_eq!(Commitments::next_batch_seq(p), 0);
		assert_eq!(Votes::<Test>::get((p, id)).len(), 2);
		// A changed vote drops the candidate nobody votes for any more.
		assert_ok!(vote(OPERATORS[1], p, id, &other));
		assert_eq!(Commitments::next_batch_seq(p), 1, "two of three");
		assert_eq!(body_of(p, 0).len(), 1);
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 0);
	});
}

#[test]
fn a_changed_vote_keeps_one_vote_per_member_and_one_body_per_candidate() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let first = seen(vec![log(101, 0, b"x")]);
		let second = seen(vec![log(102, 0, b"x")]);
		assert_ok!(vote(OPERATORS[0], p, id, &first));
		assert_ok!(vote(OPERATORS[0], p, id, &first));
		assert_ok!(vote(OPERATORS[1], p, id, &first));
		assert_eq!(Commitments::next_batch_seq(p), 0, "a vote twice is one vote");
		assert_ok!(vote(OPERATORS[0], p, id, &second));
		assert_eq!(Votes::<Test>::get((p, id)).len(), 2);
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 2);
		assert_ok!(vote(OPERATORS[1], p, id, &second));
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 1, "nobody votes first");
	});
}

#[test]
fn unsubscribe_drops_the_open_range() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		assert_ok!(vote(OPERATORS[0], p, id, &seen(vec![log(101, 0, b"x")])));
		assert_noop!(
			Inbound::unsubscribe(RuntimeOrigin::signed(OPERATORS[0]), p, id),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Inbound::unsubscribe(RuntimeOrigin::signed(OWNER), p, 5),
			Error::<Test>::UnknownSubscription
		);
		assert_ok!(Inbound::unsubscribe(RuntimeOrigin::signed(OWNER), p, id));
		System::assert_last_event(Event::Unsubscribed { project: p, id }.into());
		assert!(Votes::<Test>::get((p, id)).is_empty());
		assert_eq!(Candidates::<Test>::iter_prefix((p, id)).count(), 0);
		assert_eq!(Cursors::<Test>::get(p, id), None);
		assert!(Inbound::subscriptions(p).is_empty());
	});
}

#[test]
fn a_paused_project_takes_no_vote_until_it_resumes() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		let observation = seen(vec![log(101, 0, b"x")]);
		assert_ok!(vote(OPERATORS[0], p, id, &observation));
		assert_ok!(vote(OPERATORS[1], p, id, &observation));
		// The project is paused between the votes: the quorum's vote is refused whole.
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(vote(OPERATORS[2], p, id, &observation), Error::<Test>::ProjectNotActive);
		assert_ok!(Projects::resume_project(RuntimeOrigin::signed(OWNER), p));
		assert_ok!(vote(OPERATORS[2], p, id, &observation));
		assert_eq!(Commitments::next_batch_seq(p), 1);
	});
}

#[test]
fn a_block_with_more_logs_than_an_observation_comes_in_parts_and_none_is_lost() {
	new_test_ext().execute_with(|| {
		let (p, id) = subscribed();
		// Block 103 holds 40 matching logs, block 105 one more.
		let all: Vec<EvmLog> = (0..40)
			.map(|i| log(103, i, b"burst"))
			.chain(core::iter::once(log(105, 0, b"after")))
			.collect();
		let first = seen(all.clone());
		assert!(first.partial);
		for op in &OPERATORS[..3] {
			assert_ok!(vote(*op, p, id, &first));
		}
		let cursor = Cursor { block: 103, log_index: MAX_RANGE_LOGS };
		assert_eq!(Cursors::<Test>::get(p, id), Some(cursor));
		// A range that goes back over logs taken already is refused.
		let again = Observation { from: cursor, ..seen(all[..1].to_vec()) };
		assert_noop!(vote(OPERATORS[0], p, id, &again), Error::<Test>::MalformedObservation);
		// The rest of block 103 and the range after it, from the same endpoint answer.
		let second = cut_range(cursor, 112, all.clone());
		for op in &OPERATORS[..3] {
			assert_ok!(vote(*op, p, id, &second));
		}
		System::assert_last_event(
			Event::RangeAccepted {
				project: p,
				id,
				from: cursor,
				to_block: 112,
				logs: 9,
				next: Cursor::at_block(113),
				batch_seq: Some(1),
			}
			.into(),
		);
		let executed: Vec<Message> =
			[body_of(p, 0), body_of(p, 1)].concat().into_iter().map(|(m, ..)| m).collect();
		let expected: Vec<Message> =
			all.iter().map(|l| log_message(p, &subscription(), l, NOW_MS)).collect();
		assert_eq!(executed, expected, "every log once, in order");
	});
}
