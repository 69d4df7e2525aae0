//! A whole W3bstream round through the real runtime: a project with code, an applet
//! and a device; four operators join; a batch is committed; four attestations with one
//! dissenter finalize the proof and pay the three that agreed.

use frame_support::{
	assert_ok,
	traits::{fungible::Inspect, OnInitialize},
};
use sp_core::{Pair, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{traits::Dispatchable, BuildStorage};
use w3b_primitives::{
	api::runtime_decl_for_w_3bstream_api::W3bstreamApiV1,
	code::sample_module,
	merkle::{merkle_proof, merkle_root, verify_proof},
	message::signed_message_hash,
	project::{code_hash, ProjectConfig, ProjectStatus, Strategy, DEFAULT_EVENT_TYPE},
	proof::{output_root, Output, Outputs, ProofStatus, Vote},
	traits::ProofInspect,
	validity::Evidence,
	DeviceKey, DeviceSignature, Message,
};

use crate::{
	configs::CouncilCollective,
	genesis_config_presets::{get_preset, LOCAL_PRESET},
	AccountId, AllPalletsWithSystem, Balances, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeGenesisConfig, RuntimeOrigin, System, MILLISECS_PER_BLOCK, UNIT,
};

fn account(who: Sr25519Keyring) -> AccountId {
	who.to_account_id()
}

/// The local chain's genesis state.
fn local_chain() -> sp_io::TestExternalities {
	let json = get_preset(&LOCAL_PRESET.into()).expect("local preset");
	let patch: serde_json::Value = serde_json::from_slice(&json).unwrap();
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, patch);
	let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
	let mut ext = sp_io::TestExternalities::new(config.build_storage().unwrap());
	ext.execute_with(next_block);
	ext
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
	match (base, patch) {
		(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
			for (k, v) in patch {
				merge(base.entry(k).or_insert(serde_json::Value::Null), v);
			}
		}
		(base, patch) => *base = patch,
	}
}

/// Starts the next block: number, time and every pallet's `on_initialize`.
fn next_block() {
	let n = System::block_number() + 1;
	System::set_block_number(n);
	// Straight into storage: `set_timestamp` would also need an Aura slot digest.
	pallet_timestamp::Now::<Runtime>::put(1_700_000_000_000 + u64::from(n) * MILLISECS_PER_BLOCK);
	AllPalletsWithSystem::on_initialize(n);
}

fn dispatch(who: Sr25519Keyring, call: impl Into<RuntimeCall>) {
	let call: RuntimeCall = call.into();
	assert_ok!(call.dispatch(RuntimeOrigin::signed(account(who))));
}

fn has_event(event: impl Into<RuntimeEvent>) -> bool {
	let event = event.into();
	System::events().iter().any(|record| record.event == event)
}

#[test]
fn a_whole_round_from_project_to_rewarded_proof() {
	local_chain().execute_with(a_whole_round);
}

/// A project with an applet and a device, four operators, one batch committed and its
/// proof finalized and rewarded (state for the other tests to build on).
fn a_whole_round() {
	{
		use Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve};
		let operators = [Bob, Charlie, Dave, Eve];

		// The owner creates the project, uploads code, registers an applet and a device,
		// and funds the rewards: 4 UNIT per batch shared by a subnet of four.
		dispatch(
			Alice,
			pallet_projects::Call::create_project {
				name: b"weather".to_vec().try_into().unwrap(),
				metadata: Default::default(),
				config: ProjectConfig {
					min_operators: 4,
					reward_per_batch: 4 * UNIT,
					attestation_deadline: 10,
					..Default::default()
				},
			},
		);
		let project = <Runtime as W3bstreamApiV1<_, _, _, _>>::project_id(b"weather".to_vec())
			.expect("project by name");
		let code = sample_module(&["start"], 64);
		dispatch(Alice, pallet_projects::Call::upload_code { code: code.clone() });
		let strategies = vec![Strategy {
			event_type: DEFAULT_EVENT_TYPE.to_vec().try_into().unwrap(),
			handler: b"start".to_vec().try_into().unwrap(),
		}];
		dispatch(
			Alice,
			pallet_projects::Call::register_applet {
				project,
				name: b"thresholds".to_vec().try_into().unwrap(),
				code_hash: code_hash(&code),
				strategies: strategies.try_into().unwrap(),
			},
		);
		let device = sp_core::ed25519::Pair::from_seed(&[7; 32]);
		let device_key = DeviceKey::Ed25519(device.public().0);
		dispatch(
			Alice,
			pallet_projects::Call::register_device { project, key: device_key.clone(), did: None },
		);
		dispatch(Alice, pallet_operators::Call::fund_reward_pool { project, amount: 100 * UNIT });

		// Four operators join; the fourth makes the project Active.
		for (i, operator) in operators.into_iter().enumerate() {
			dispatch(
				operator,
				pallet_operators::Call::register_operator {
					bond: 100 * UNIT,
					endpoints: Default::default(),
					did: None,
				},
			);
			dispatch(operator, pallet_operators::Call::join_subnet { project });
			let expected = if i < 3 { ProjectStatus::Pending } else { ProjectStatus::Active };
			assert_eq!(pallet_projects::Pallet::<Runtime>::status(project), Some(expected));
		}
		assert_eq!(
			<Runtime as W3bstreamApiV1<_, _, _, _>>::subnet(project),
			operators.map(account).to_vec()
		);

		// Bob seals three messages of the device into batch 0 and commits it.
		next_block();
		let messages: Vec<Message> = (0..3u64)
			.map(|seq| Message {
				project,
				device: device_key.device_id(),
				seq,
				timestamp_ms: 1_700_000_000_000 + seq,
				event_type: b"DEFAULT".to_vec(),
				payload: format!("{{\"temperature\":{}}}", 20 + seq).into_bytes(),
				encrypted: false,
			})
			.collect();
		let signatures: Vec<DeviceSignature> = messages
			.iter()
			.map(|m| DeviceSignature::Ed25519(device.sign(m.hash().as_bytes()).0))
			.collect();
		let leaves: Vec<H256> = messages
			.iter()
			.zip(&signatures)
			.map(|(m, signature)| signed_message_hash(&m.hash(), signature))
			.collect();
		let root = merkle_root(&leaves);
		let mut cid = vec![1, 0x55, 0x12, 0x20];
		cid.extend_from_slice(&[3; 32]);
		dispatch(
			Bob,
			pallet_commitments::Call::commit_batch {
				project,
				merkle_root: root,
				count: 3,
				bytes: 300,
				cid: cid.try_into().unwrap(),
			},
		);
		let batch = <Runtime as W3bstreamApiV1<_, _, _, _>>::batch(project, 0).expect("batch");
		assert_eq!(batch.header.merkle_root, root);
		assert_eq!(
			<Runtime as W3bstreamApiV1<_, _, _, _>>::batch_seq_of_root(project, account(Bob), root),
			Some(0)
		);
		assert_eq!(
			<Runtime as W3bstreamApiV1<_, _, _, _>>::batch_seq_of_root(project, account(Eve), root),
			None
		);
		// Any message, with its signature, is provable against the committed root.
		let proof = merkle_proof(&leaves, 1).unwrap();
		assert!(verify_proof(&batch.header.merkle_root, 3, &leaves[1], &proof));
		// The batch's messages count, so evidence against it is refused (and paid).
		let devices = <Runtime as W3bstreamApiV1<_, _, _, _>>::devices(
			project,
			vec![device_key.device_id(), H256::repeat_byte(1)],
		);
		assert_eq!(devices.iter().map(Option::is_some).collect::<Vec<_>>(), [true, false]);
		assert_eq!(devices[0].as_ref().unwrap().revoked_at, None);
		let report: RuntimeCall = pallet_commitments::Call::report_invalid_batch {
			project,
			batch_seq: 0,
			evidence: Evidence::Invalid {
				message: messages[1].clone(),
				signature: signatures[1].clone(),
				proof,
			},
		}
		.into();
		let refused = report.dispatch(RuntimeOrigin::signed(account(Sr25519Keyring::Ferdie)));
		assert_eq!(
			refused.map_err(|e| e.error),
			Err(pallet_commitments::Error::<Runtime>::MessageValid.into())
		);
		assert_eq!(<Runtime as W3bstreamApiV1<_, _, _, _>>::invalid_batch_report(project, 0), None);

		// Three operators compute the same result, Eve another.
		let outputs: Outputs =
			vec![Output::try_from(b"alert:22".to_vec()).unwrap()].try_into().unwrap();
		let (honest_state, lying_state) = (H256::repeat_byte(5), H256::repeat_byte(6));
		let honest = output_root(&honest_state, &outputs);
		let before = operators.map(|o| Balances::balance(&account(o)));
		next_block();
		for (operator, state_root, outputs) in [
			(Bob, honest_state, outputs.clone()),
			(Eve, lying_state, Outputs::default()),
			(Charlie, honest_state, outputs.clone()),
			(Dave, honest_state, outputs.clone()),
		] {
			dispatch(
				operator,
				pallet_attestations::Call::attest {
					project,
					batch_seq: 0,
					merkle_root: root,
					previous_state_root: H256::zero(),
					state_root,
					outputs,
				},
			);
		}
		assert_eq!(
			<Runtime as W3bstreamApiV1<_, _, _, _>>::vote(project, 0, account(Eve)),
			Some(Vote {
				previous: Some(H256::zero()),
				output_root: output_root(&lying_state, &Outputs::default())
			})
		);
		assert_eq!(<Runtime as W3bstreamApiV1<_, _, _, _>>::vote(project, 0, account(Alice)), None);
		assert!(has_event(pallet_attestations::Event::<Runtime>::ProofFinalized {
			project,
			batch_seq: 0,
			output_root: honest,
			agreed: 3,
			dissenters: vec![account(Eve)],
		}));
		let proof = <Runtime as W3bstreamApiV1<_, _, _, _>>::proof(project, 0).expect("proof");
		assert_eq!(proof.status, ProofStatus::Finalized);
		assert_eq!(
			(proof.output_root, proof.state_root, proof.outputs),
			(Some(honest), Some(honest_state), outputs)
		);

		// 4 UNIT per batch over a subnet of four: 1 UNIT to each agreeing operator.
		let paid = operators.map(|o| Balances::balance(&account(o)));
		assert_eq!(paid[0] - before[0], UNIT);
		assert_eq!(paid[1] - before[1], UNIT);
		assert_eq!(paid[2] - before[2], UNIT);
		assert_eq!(paid[3], before[3]);
		assert_eq!(pallet_operators::Pallet::<Runtime>::reward_pool_balance(project), 97 * UNIT);

		// The round closes after its deadline without changing the finalized proof.
		for _ in 0..10 {
			next_block();
		}
		assert!(<pallet_attestations::Pallet<Runtime> as ProofInspect>::is_settled(project, 0));
		assert_eq!(
			<Runtime as W3bstreamApiV1<_, _, _, _>>::proof(project, 0).unwrap().status,
			ProofStatus::Finalized
		);
	}
}

/// The storage versions the runtime running on the networks (spec 100 and 101) wrote: the state
/// an upgrade starts from. A pallet whose code version moves past its entry must come
/// with a migration in `Migrations` that brings the chain there; an entry rises only with
/// the release that migrates it.
#[cfg(feature = "try-runtime")]
fn put_deployed_storage_versions() {
	use frame_support::traits::StorageVersion;
	StorageVersion::new(1).put::<pallet_validators::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_projects::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_operators::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_commitments::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_attestations::Pallet<Runtime>>();
	StorageVersion::new(0).put::<pallet_inbound::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_did::Pallet<Runtime>>();
	StorageVersion::new(1).put::<pallet_credentials::Pallet<Runtime>>();
}

/// What `try-runtime on-runtime-upgrade` checks, on a chain with a project, a subnet
/// and a finalized proof, from the deployed storage versions: every pallet's pre- and
/// post-upgrade hooks, that every pallet's storage version on chain ends equal to its
/// code's (a storage change without its migration fails here), and every pallet's
/// `try_state` invariants.
#[cfg(feature = "try-runtime")]
#[test]
fn runtime_upgrade_checks_pass_on_a_working_chain() {
	local_chain().execute_with(|| {
		a_whole_round();
		put_deployed_storage_versions();
		// As on a chain that ran spec 100: no council yet.
		pallet_collective::Members::<Runtime, CouncilCollective>::kill();
		crate::Executive::try_runtime_upgrade(frame_try_runtime::UpgradeCheckSelect::All)
			.expect("pre/post upgrade and try-state checks pass");
		assert_eq!(council().len(), 4, "the migration seeded the council");
	});
}

#[test]
fn reward_pools_are_separate_accounts() {
	let a = pallet_operators::Pallet::<Runtime>::reward_pool(0);
	let b = pallet_operators::Pallet::<Runtime>::reward_pool(1);
	assert_ne!(a, b);
}

#[test]
fn api_reads_what_the_pallets_store() {
	local_chain().execute_with(|| {
		let code = sample_module(&["start"], 0);
		dispatch(Sr25519Keyring::Alice, pallet_projects::Call::upload_code { code: code.clone() });
		let hash = code_hash(&code);
		assert_eq!(<Runtime as W3bstreamApiV1<_, _, _, _>>::code(hash), Some(code));
		let info = <Runtime as W3bstreamApiV1<_, _, _, _>>::code_info(hash).unwrap();
		assert_eq!(info.owner, account(Sr25519Keyring::Alice));
		assert!(<Runtime as W3bstreamApiV1<_, _, _, _>>::project(0).is_none());
		assert!(<Runtime as W3bstreamApiV1<_, _, _, _>>::project_id(vec![b'x'; 1000]).is_none());
		assert_eq!(<Runtime as W3bstreamApiV1<_, _, _, _>>::next_batch_seq(0), 0);
		assert!(<Runtime as W3bstreamApiV1<_, _, _, _>>::operator(account(Sr25519Keyring::Bob))
			.is_none());
	});
}

/// What a council motion did: `Executed` with the call's result, or `Disapproved`.
#[derive(Debug, PartialEq)]
enum MotionOutcome {
	Executed(sp_runtime::DispatchResult),
	Disapproved,
}

/// Alice proposes `call` with `threshold` and votes aye (a proposal is not a vote); the
/// other members vote as given; Ferdie, who is no member, closes it.
fn motion(
	call: impl Into<RuntimeCall>,
	threshold: u32,
	votes: &[(Sr25519Keyring, bool)],
) -> MotionOutcome {
	use sp_runtime::traits::Hash as _;
	let call: RuntimeCall = call.into();
	let length = codec::Encode::encoded_size(&call) as u32;
	let hash = <Runtime as frame_system::Config>::Hashing::hash_of(&call);
	let index = pallet_collective::ProposalCount::<Runtime, CouncilCollective>::get();
	dispatch(
		Sr25519Keyring::Alice,
		pallet_collective::Call::<Runtime, CouncilCollective>::propose {
			threshold,
			proposal: Box::new(call),
			length_bound: length,
		},
	);
	for (who, approve) in [(Sr25519Keyring::Alice, true)].iter().chain(votes) {
		dispatch(
			*who,
			pallet_collective::Call::<Runtime, CouncilCollective>::vote {
				proposal: hash,
				index,
				approve: *approve,
			},
		);
	}
	dispatch(
		Sr25519Keyring::Ferdie,
		pallet_collective::Call::<Runtime, CouncilCollective>::close {
			proposal_hash: hash,
			index,
			proposal_weight_bound: crate::configs::MaxMotionWeight::get(),
			length_bound: length,
		},
	);
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Council(pallet_collective::Event::Executed { proposal_hash, result })
				if proposal_hash == hash =>
			{
				Some(MotionOutcome::Executed(result))
			}
			RuntimeEvent::Council(pallet_collective::Event::Disapproved { proposal_hash })
				if proposal_hash == hash =>
			{
				Some(MotionOutcome::Disapproved)
			}
			_ => None,
		})
		.expect("the motion was closed")
}

/// Gives `who` the session keys `validators.add_validator` requires (what `session.setKeys`
/// stores; its ownership proof is pallet-session's business and tested there).
fn register_session_keys(who: Sr25519Keyring) {
	pallet_session::NextKeys::<Runtime>::insert(
		account(who),
		crate::genesis_config_presets::dev_session_keys(who),
	);
}

fn council() -> Vec<AccountId> {
	pallet_collective::Members::<Runtime, CouncilCollective>::get()
}

#[test]
fn the_local_chain_is_governed_by_its_validators_not_by_sudo() {
	use Sr25519Keyring::{Alice, Bob, Charlie, Dave};
	local_chain().execute_with(|| {
		let mut validators: Vec<_> = [Alice, Bob, Charlie, Dave].map(account).to_vec();
		validators.sort();
		assert_eq!(council(), validators);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
		let sudo = RuntimeCall::Sudo(pallet_sudo::Call::sudo {
			call: Box::new(RuntimeCall::System(frame_system::Call::remark { remark: vec![] })),
		});
		assert!(sudo.dispatch(RuntimeOrigin::signed(account(Alice))).is_err());
	});
}

#[test]
fn two_thirds_of_the_council_admit_and_remove_validators() {
	use Sr25519Keyring::{Bob, Charlie, Dave, Eve};
	local_chain().execute_with(|| {
		register_session_keys(Eve);
		let add_eve = pallet_validators::Call::<Runtime>::add_validator { who: account(Eve) };
		assert_eq!(
			motion(add_eve, 3, &[(Bob, true), (Charlie, true)]),
			MotionOutcome::Executed(Ok(()))
		);
		assert!(pallet_validators::Validators::<Runtime>::get().contains(&account(Eve)));
		assert!(council().contains(&account(Eve)), "an admitted validator joins the council");

		// A misbehaving validator is removed by the others (more than two thirds of now five
		// is four ayes), and leaves the council with its seat.
		let remove_dave =
			pallet_validators::Call::<Runtime>::remove_validator { who: account(Dave) };
		assert_eq!(
			motion(remove_dave, 4, &[(Bob, true), (Charlie, true), (Eve, true), (Dave, false)]),
			MotionOutcome::Executed(Ok(()))
		);
		assert!(!pallet_validators::Validators::<Runtime>::get().contains(&account(Dave)));
		assert!(!council().contains(&account(Dave)));
	});
}

#[test]
fn a_minority_of_the_council_changes_nothing() {
	use Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve};
	local_chain().execute_with(|| {
		register_session_keys(Eve);
		let add_eve = || pallet_validators::Call::<Runtime>::add_validator { who: account(Eve) };

		// Two ayes against two nays: disapproved.
		assert_eq!(
			motion(add_eve(), 3, &[(Bob, true), (Charlie, false), (Dave, false)]),
			MotionOutcome::Disapproved
		);
		// A motion proposed at a lower threshold than more than two thirds is refused
		// before it opens (a copy at threshold 2 would execute, and fail, on two ayes).
		for threshold in [1, 2, 4] {
			let call: RuntimeCall = add_eve().into();
			let propose = RuntimeCall::Council(pallet_collective::Call::propose {
				threshold,
				length_bound: codec::Encode::encoded_size(&call) as u32,
				proposal: Box::new(call),
			});
			assert_eq!(
				propose.dispatch(RuntimeOrigin::signed(account(Alice))).map_err(|e| e.error),
				Err(frame_system::Error::<Runtime>::CallFiltered.into()),
				"threshold {threshold}"
			);
		}
		// A signed validator, directly, is refused.
		let direct: RuntimeCall = add_eve().into();
		assert!(direct.dispatch(RuntimeOrigin::signed(account(Bob))).is_err());
		assert!(!pallet_validators::Validators::<Runtime>::get().contains(&account(Eve)));

		// Someone outside the council cannot even propose.
		let call: RuntimeCall = add_eve().into();
		let propose = RuntimeCall::Council(pallet_collective::Call::propose {
			threshold: 3,
			length_bound: codec::Encode::encoded_size(&call) as u32,
			proposal: Box::new(call),
		});
		assert!(propose.dispatch(RuntimeOrigin::signed(account(Eve))).is_err());
	});
}

#[test]
fn the_council_authorizes_a_runtime_upgrade_as_root_and_anyone_applies_it() {
	use Sr25519Keyring::{Bob, Charlie};
	local_chain().execute_with(|| {
		let code_hash = H256::repeat_byte(0x42);
		let authorize = RuntimeCall::System(frame_system::Call::authorize_upgrade { code_hash });
		// `authorize_upgrade` is Root-only: the council's own origin is refused ...
		assert_eq!(
			motion(authorize.clone(), 3, &[(Bob, true), (Charlie, true)]),
			MotionOutcome::Executed(Err(sp_runtime::DispatchError::BadOrigin))
		);
		let authorized =
			frame_system::Event::<Runtime>::UpgradeAuthorized { code_hash, check_version: true };
		assert!(!has_event(authorized.clone()));
		// ... and `governance.dispatchAsRoot` carries it.
		let as_root =
			pallet_governance::Call::<Runtime>::dispatch_as_root { call: Box::new(authorize) };
		assert_eq!(
			motion(as_root, 3, &[(Bob, true), (Charlie, true)]),
			MotionOutcome::Executed(Ok(()))
		);
		assert!(has_event(pallet_governance::Event::DispatchedAsRoot { result: Ok(()) }));
		assert!(has_event(authorized));

		// Code that does not match the hash is refused.
		let wrong = RuntimeCall::System(frame_system::Call::apply_authorized_upgrade {
			code: b"not the authorized code".to_vec(),
		});
		assert!(wrong.dispatch(RuntimeOrigin::signed(account(Charlie))).is_err());
	});
}

#[test]
fn the_council_changes_parameters_without_an_upgrade() {
	use crate::configs::dynamic_params::{attestations, projects};
	use frame_support::traits::Get;
	use Sr25519Keyring::{Alice, Bob, Charlie};
	local_chain().execute_with(|| {
		assert_eq!(projects::DeviceDeposit::get(), 10 * crate::MILLI_UNIT);
		let set_deposit = |value| pallet_parameters::Call::<Runtime>::set_parameter {
			key_value: crate::configs::RuntimeParameters::Projects(
				projects::Parameters::DeviceDeposit(projects::DeviceDeposit, Some(value)),
			),
		};

		// A validator alone, signed, is refused.
		let direct: RuntimeCall = set_deposit(UNIT).into();
		assert!(direct.dispatch(RuntimeOrigin::signed(account(Alice))).is_err());
		assert_eq!(projects::DeviceDeposit::get(), 10 * crate::MILLI_UNIT);

		// Two thirds of the council change it; the pallet reads the new value.
		assert_eq!(
			motion(set_deposit(UNIT), 3, &[(Bob, true), (Charlie, true)]),
			MotionOutcome::Executed(Ok(()))
		);
		assert_eq!(projects::DeviceDeposit::get(), UNIT);
		assert_eq!(<Runtime as pallet_projects::Config>::DeviceDeposit::get(), UNIT);

		let dissent_limit = pallet_parameters::Call::<Runtime>::set_parameter {
			key_value: crate::configs::RuntimeParameters::Attestations(
				attestations::Parameters::DissentLimit(attestations::DissentLimit, Some(4)),
			),
		};
		assert_eq!(
			motion(dissent_limit, 3, &[(Bob, true), (Charlie, true)]),
			MotionOutcome::Executed(Ok(()))
		);
		assert_eq!(<Runtime as pallet_attestations::Config>::DissentLimit::get(), 4);

		// Out of bounds, even by motion: a limit of 1 would slash an honest operator at
		// its first disagreement; no open rounds would stop every project.
		for out_of_bounds in [
			attestations::Parameters::DissentLimit(attestations::DissentLimit, Some(1)),
			attestations::Parameters::MaxOpenRounds(attestations::MaxOpenRounds, Some(0)),
		] {
			let call = pallet_parameters::Call::<Runtime>::set_parameter {
				key_value: crate::configs::RuntimeParameters::Attestations(out_of_bounds),
			};
			assert_eq!(
				motion(call, 3, &[(Bob, true), (Charlie, true)]),
				MotionOutcome::Executed(Err(frame_system::Error::<Runtime>::CallFiltered.into()))
			);
		}
		assert_eq!(<Runtime as pallet_attestations::Config>::DissentLimit::get(), 4);
		assert_eq!(<Runtime as pallet_attestations::Config>::MaxOpenRounds::get(), 256);
	});
}

#[test]
fn a_chain_from_spec_100_gets_its_council_at_the_upgrade() {
	use frame_support::traits::OnRuntimeUpgrade;
	local_chain().execute_with(|| {
		// Spec 100 had no council.
		pallet_collective::Members::<Runtime, CouncilCollective>::kill();
		crate::migrations::SeedCouncilFromValidators::on_runtime_upgrade();
		let mut validators = pallet_validators::Validators::<Runtime>::get().into_inner();
		validators.sort();
		assert_eq!(council(), validators);
		// Idempotent: a later upgrade leaves the council alone.
		crate::migrations::SeedCouncilFromValidators::on_runtime_upgrade();
		assert_eq!(council(), validators);
	});
}

/// What a busy project of four operators costs a block when each operator seals once a
/// block: four commitments (each pruning a batch out of the window) and, per batch, two
/// votes that settle nothing, the vote that finalizes and a late one. Many such projects
/// must fit in a block's normal class, or a full block pushes every project's votes to
/// the next one.
#[test]
fn a_block_holds_the_commitments_and_votes_of_many_busy_projects() {
	use frame_support::dispatch::DispatchClass;
	use pallet_commitments::WeightInfo as _;
	let normal = crate::configs::RuntimeBlockWeights::get().get(DispatchClass::Normal).clone();
	let limit = normal.max_total.expect("normal transactions are limited");
	let each = |weight: frame_support::weights::Weight| weight + normal.base_extrinsic;
	let commitment = each(<Runtime as pallet_commitments::Config>::WeightInfo::commit_batch(1));
	let counted = each(pallet_attestations::Pallet::<Runtime>::counted_vote_weight_for(4));
	let settling = each(pallet_attestations::Pallet::<Runtime>::vote_weight_for(4));
	let project = commitment * 4 + (counted * 2 + settling * 2) * 4;
	let projects = limit.ref_time() / project.ref_time();
	let admitted = pallet_attestations::Pallet::<Runtime>::vote_weight_for(
		<w3b_primitives::operator::MaxSubnetSize as frame_support::traits::Get<u32>>::get(),
	);
	println!(
		"commitment {:.2} ms, vote {:.2} ms (settling {:.2} ms, admitted at {:.2} ms), project {:.1} ms per block: {projects} projects",
		commitment.ref_time() as f64 / 1e9,
		counted.ref_time() as f64 / 1e9,
		settling.ref_time() as f64 / 1e9,
		admitted.ref_time() as f64 / 1e9,
		project.ref_time() as f64 / 1e9,
	);
	assert!(projects >= 20, "{projects} busy projects fill a block");
}
