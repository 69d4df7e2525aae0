//! Benchmarks of the operator calls, each in its worst case.

use super::*;
use alloc::{format, vec};
use frame_benchmarking::v2::*;
use frame_support::{traits::fungible::Mutate, BoundedVec};
use frame_system::RawOrigin;
use sp_core::crypto::KeyTypeId;
use w3b_primitives::{
	credential::{credential_type_of, CredentialsInspect, MaxTrustedIssuers},
	operator::{MaxEndpointLen, MaxSubnetSize, MaxSubnetsPerOperator, MaxUnlockChunks},
	project::{MaxDidLen, ProjectConfig},
	DeviceKey,
};

/// Where the benchmarks' keys live in the keystore.
const KEY_TYPE: KeyTypeId = KeyTypeId(*b"bops");

type DidsOf<T> = <T as pallet_projects::Config>::Dids;
type CredentialsOf<T> = <T as pallet_projects::Config>::Credentials;

/// A credential policy trusting the most issuers.
fn full_credential_policy<T: Config>() -> CredentialPolicy {
	let issuers = (0..<MaxTrustedIssuers as Get<u32>>::get())
		.map(|i| {
			let mut key = [3u8; 33];
			key[1..5].copy_from_slice(&i.to_le_bytes());
			DidsOf::<T>::benchmark_did(DeviceKey::Secp256k1(key))
		})
		.collect::<Vec<_>>();
	CredentialPolicy {
		credential_type: credential_type_of("VettedOperatorCredential"),
		issuers: issuers.try_into().expect("fits"),
	}
}

/// Links `operator` to a new DID; returns it.
fn linked_did<T: Config>(operator: &T::AccountId, seed: u8) -> DidId {
	let did = DidsOf::<T>::benchmark_did(DeviceKey::Secp256k1([seed; 33]));
	OperatorDids::<T>::insert(operator, did);
	DidOperators::<T>::insert(did, operator);
	did
}

/// `project` admits by `credential`.
fn admit_by_credential<T: Config>(project: ProjectId, credential: CredentialPolicy) {
	Admissions::<T>::insert(
		project,
		AdmissionPolicy::Credential { bond_per_seat: T::MinSeatBond::get(), credential },
	);
}

const SEED: u32 = 0;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let amount =
		T::MinBond::get().saturating_add(T::ProjectDeposit::get()).saturating_mul(1000u32.into());
	CurrencyOf::<T>::set_balance(&who, amount);
	who
}

fn full_endpoints() -> Endpoints {
	let url = || vec![b'u'; <MaxEndpointLen as Get<u32>>::get() as usize].try_into().unwrap();
	Endpoints { mqtt: url(), http: url() }
}

fn full_did() -> Option<Did> {
	Some(vec![b'd'; <MaxDidLen as Get<u32>>::get() as usize].try_into().unwrap())
}

/// Creates a project of `owner` needing `min_operators`.
fn create_project<T: Config>(owner: &T::AccountId, min_operators: u32) -> ProjectId {
	let id = pallet_projects::NextProjectId::<T>::get();
	pallet_projects::Pallet::<T>::create_project(
		RawOrigin::Signed(owner.clone()).into(),
		format!("bench-{id}").into_bytes().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			min_operators,
			attestation_deadline: T::MinAttestationDeadline::get(),
			..Default::default()
		},
	)
	.expect("project created");
	id
}

fn register<T: Config>(who: &T::AccountId) {
	Pallet::<T>::register_operator(
		RawOrigin::Signed(who.clone()).into(),
		T::MinBond::get(),
		full_endpoints(),
		full_did(),
	)
	.expect("registered");
}

fn join<T: Config>(who: &T::AccountId, project: ProjectId) {
	Pallet::<T>::join_subnet(RawOrigin::Signed(who.clone()).into(), project).expect("joined");
}

/// `operator` in `count - 1` other subnets, and `project` with a subnet one short of full
/// that activates when full.
fn crowded<T: Config>(operator: &T::AccountId) -> ProjectId {
	let owner = funded::<T>("owner", 0);
	for _ in 1..<MaxSubnetsPerOperator as Get<u32>>::get() {
		let other = create_project::<T>(&owner, 1);
		join::<T>(operator, other);
	}
	let size = <MaxSubnetSize as Get<u32>>::get();
	let project = create_project::<T>(&owner, size);
	for i in 0..size - 1 {
		let member = funded::<T>("member", i);
		register::<T>(&member);
		join::<T>(&member, project);
	}
	project
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_operator() {
		let who = funded::<T>("operator", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinBond::get(), full_endpoints(), full_did());

		assert!(OperatorInfos::<T>::contains_key(&who));
	}

	#[benchmark]
	fn update_operator() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Endpoints::default(), None);

		assert!(OperatorInfos::<T>::get(&who).unwrap().did.is_none());
	}

	#[benchmark]
	fn bond_extra() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinBond::get());

		assert_eq!(
			OperatorInfos::<T>::get(&who).unwrap().bond,
			T::MinBond::get().saturating_mul(2u32.into())
		);
	}

	/// Worst case: the last free unlocking slot.
	#[benchmark]
	fn unbond() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let chunks = <MaxUnlockChunks as Get<u32>>::get();
		Pallet::<T>::bond_extra(RawOrigin::Signed(who.clone()).into(), chunks.into()).unwrap();
		for _ in 1..chunks {
			Pallet::<T>::unbond(RawOrigin::Signed(who.clone()).into(), 1u32.into()).unwrap();
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), 1u32.into());

		assert_eq!(OperatorInfos::<T>::get(&who).unwrap().unlocking.len() as u32, chunks);
	}

	/// Worst case: every chunk matured and the operator deregistered.
	#[benchmark]
	fn withdraw_unbonded() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let chunks: u32 = <MaxUnlockChunks as Get<u32>>::get();
		OperatorInfos::<T>::mutate(&who, |info| {
			let info = info.as_mut().unwrap();
			let per_chunk = info.bond / chunks.into();
			info.unlocking = BoundedVec::truncate_from(
				(0..chunks)
					.map(|_| UnlockChunk { amount: per_chunk, unlock_at: Zero::zero() })
					.collect(),
			);
			info.bond = Zero::zero();
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(!OperatorInfos::<T>::contains_key(&who));
	}

	/// Worst case: the operator's last subnet slot, the subnet's last seat, the project
	/// becoming Active, and admission by a credential from the last of the most trusted
	/// issuers.
	#[benchmark]
	fn join_subnet() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let project = crowded::<T>(&who);
		let policy = full_credential_policy::<T>();
		let did = linked_did::<T>(&who, 9);
		let issuer = *policy.issuers.last().expect("issuers");
		CredentialsOf::<T>::benchmark_credential(issuer, did, policy.credential_type);
		admit_by_credential::<T>(project, policy);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), project);

		assert_eq!(Pallet::<T>::subnet_size(project), <MaxSubnetSize as Get<u32>>::get());
		assert_eq!(pallet_projects::Pallet::<T>::status(project), Some(ProjectStatus::Active));
	}

	/// Worst case: a full subnet and full subnet list, and the project falling back to
	/// Pending.
	#[benchmark]
	fn leave_subnet() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let project = crowded::<T>(&who);
		join::<T>(&who, project);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), project);

		assert!(!Pallet::<T>::is_member(project, &who));
		assert_eq!(pallet_projects::Pallet::<T>::status(project), Some(ProjectStatus::Pending));
	}

	#[benchmark]
	fn fund_reward_pool() {
		let owner = funded::<T>("owner", 0);
		let project = create_project::<T>(&owner, 1);
		let amount = T::MinBond::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, amount);

		assert_eq!(Pallet::<T>::reward_pool_balance(project), amount);
	}

	/// Worst case: the pool emptied (its account reaped).
	#[benchmark]
	fn withdraw_reward_pool() {
		let owner = funded::<T>("owner", 0);
		let project = create_project::<T>(&owner, 1);
		let amount = T::MinBond::get();
		Pallet::<T>::fund_reward_pool(RawOrigin::Signed(owner.clone()).into(), project, amount)
			.unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, amount);

		assert!(Pallet::<T>::reward_pool_balance(project).is_zero());
	}

	#[benchmark]
	fn set_admission_policy() {
		let owner = funded::<T>("owner", 0);
		let project = create_project::<T>(&owner, 1);
		let policy = AdmissionPolicy::Approved { bond_per_seat: T::MinSeatBond::get() };

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, policy.clone());

		assert_eq!(Pallet::<T>::admission_policy(project), policy);
	}

	/// Worst case: the applicant's last subnet slot, the subnet's last seat, and the
	/// project becoming Active.
	#[benchmark]
	fn admit_operator() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let project = crowded::<T>(&who);
		let owner = funded::<T>("owner", 0);
		let policy = AdmissionPolicy::Approved { bond_per_seat: T::MinSeatBond::get() };
		Pallet::<T>::set_admission_policy(RawOrigin::Signed(owner.clone()).into(), project, policy)
			.expect("policy set");
		join::<T>(&who, project);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, who.clone());

		assert_eq!(Pallet::<T>::subnet_size(project), <MaxSubnetSize as Get<u32>>::get());
		assert_eq!(pallet_projects::Pallet::<T>::status(project), Some(ProjectStatus::Active));
	}

	/// Worst case: a member of a full subnet with a full subnet list, and the project
	/// falling back to Pending.
	#[benchmark]
	fn remove_operator() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let project = crowded::<T>(&who);
		join::<T>(&who, project);
		let owner = funded::<T>("owner", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, who.clone());

		assert!(!Pallet::<T>::is_member(project, &who));
		assert_eq!(pallet_projects::Pallet::<T>::status(project), Some(ProjectStatus::Pending));
	}

	/// Worst case: a secp256k1 DID key (a recovery).
	#[benchmark]
	fn link_did() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let key = sp_io::crypto::ecdsa_generate(KEY_TYPE, None);
		let did = DidsOf::<T>::benchmark_did(DeviceKey::Secp256k1(key.0));
		let valid_until = frame_system::Pallet::<T>::block_number() + 1u32.into();
		let genesis = frame_system::Pallet::<T>::block_hash(
			frame_system::pallet_prelude::BlockNumberFor::<T>::zero(),
		);
		let hash =
			did_link_signing_hash(&H256::from_slice(genesis.as_ref()), &who, &did, &valid_until);
		let signature = sp_io::crypto::ecdsa_sign_prehashed(KEY_TYPE, &key, &hash.0)
			.expect("key in the keystore");

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			did,
			valid_until,
			DeviceSignature::Secp256k1(signature.0),
		);

		assert_eq!(OperatorDids::<T>::get(&who), Some(did));
	}

	/// Worst case: the most trusted issuers, none with an active credential, a full
	/// subnet, and the project falling back to Pending.
	#[benchmark]
	fn remove_uncredentialed() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let project = crowded::<T>(&who);
		join::<T>(&who, project);
		linked_did::<T>(&who, 9);
		admit_by_credential::<T>(project, full_credential_policy::<T>());
		let anyone = funded::<T>("anyone", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(anyone), project, who.clone());

		assert!(!Pallet::<T>::is_member(project, &who));
		assert_eq!(pallet_projects::Pallet::<T>::status(project), Some(ProjectStatus::Pending));
	}

	#[benchmark]
	fn withdraw_seat() {
		let who = funded::<T>("operator", 0);
		register::<T>(&who);
		let owner = funded::<T>("owner", 0);
		let project = create_project::<T>(&owner, 1);
		join::<T>(&who, project);
		Pallet::<T>::leave_subnet(RawOrigin::Signed(who.clone()).into(), project).expect("left");
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now.saturating_add(T::UnbondingPeriod::get()));

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), project);

		assert!(Pallet::<T>::seat(project, &who).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
