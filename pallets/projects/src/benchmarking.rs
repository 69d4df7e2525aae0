//! Benchmarks of the registry calls, each in its worst case.

use super::*;
use alloc::{format, vec};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use sp_runtime::traits::Saturating;
use w3b_primitives::{
	code::sample_module,
	project::{EnvVar, MaxEnvKeyLen, MaxEnvValueLen, MaxEnvVars, DEFAULT_EVENT_TYPE},
};

const SEED: u32 = 0;

/// A funded account.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let amount = T::ProjectDeposit::get()
		.saturating_add(Pallet::<T>::code_deposit(T::MaxCodeSize::get()))
		.saturating_mul(100u32.into());
	T::Currency::set_balance(&who, amount);
	who
}

/// A device credential policy trusting the most issuers (active DIDs).
fn full_policy<T: Config>() -> CredentialPolicy {
	let max = <w3b_primitives::credential::MaxTrustedIssuers as Get<u32>>::get();
	let issuers = (0..max)
		.map(|i| {
			let mut key = [3u8; 33];
			key[1..5].copy_from_slice(&i.to_le_bytes());
			T::Dids::benchmark_did(DeviceKey::Secp256k1(key))
		})
		.collect::<Vec<_>>();
	CredentialPolicy {
		credential_type: w3b_primitives::credential::credential_type_of("GenuineDeviceCredential"),
		issuers: issuers.try_into().expect("fits"),
	}
}

/// The largest configuration: every environment variable, keys and values at full length.
fn full_config<T: Config>() -> ConfigOf<T> {
	let env = (0..<MaxEnvVars as Get<u32>>::get())
		.map(|i| {
			let mut key = vec![b'k'; <MaxEnvKeyLen as Get<u32>>::get() as usize];
			key[..4].copy_from_slice(&i.to_le_bytes());
			EnvVar {
				key: key.try_into().expect("key fits"),
				value: vec![b'v'; <MaxEnvValueLen as Get<u32>>::get() as usize]
					.try_into()
					.expect("fits"),
			}
		})
		.collect::<Vec<_>>();
	ProjectConfig {
		env: env.try_into().expect("MaxEnvVars variables"),
		attestation_deadline: T::MinAttestationDeadline::get(),
		..Default::default()
	}
}

fn project_name(index: u32) -> Name {
	let mut name = vec![b'n'; <w3b_primitives::project::MaxNameLen as Get<u32>>::get() as usize];
	name[..8].copy_from_slice(format!("{index:08}").as_bytes());
	name.try_into().expect("fits")
}

fn create<T: Config>(owner: &T::AccountId) -> ProjectId {
	let id = NextProjectId::<T>::get();
	Pallet::<T>::create_project(
		RawOrigin::Signed(owner.clone()).into(),
		project_name(id as u32),
		Default::default(),
		ProjectConfig {
			attestation_deadline: T::MinAttestationDeadline::get(),
			..Default::default()
		},
	)
	.expect("project created");
	id
}

/// Handler names `h0`, `h1`, ... for `count` handlers.
fn handler_names(count: u32) -> Vec<alloc::string::String> {
	(0..count).map(|i| format!("h{i}")).collect()
}

/// Uploads code exporting as many handlers as strategies may route to, with `padding`.
fn upload<T: Config>(owner: &T::AccountId, padding: u32) -> H256 {
	let names = handler_names(<MaxStrategies as Get<u32>>::get());
	let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
	let code = sample_module(&names, padding);
	let hash = code_hash(&code);
	Pallet::<T>::upload_code(RawOrigin::Signed(owner.clone()).into(), code).expect("uploaded");
	hash
}

/// The most strategies, each routing to the last export so handler lookups scan all.
fn full_strategies() -> Strategies {
	let handlers = handler_names(<MaxStrategies as Get<u32>>::get());
	handlers
		.iter()
		.enumerate()
		.map(|(i, handler)| Strategy {
			event_type: if i == 0 {
				DEFAULT_EVENT_TYPE.to_vec().try_into().expect("fits")
			} else {
				format!("event-{i}").into_bytes().try_into().expect("fits")
			},
			handler: handler.as_bytes().to_vec().try_into().expect("fits"),
		})
		.collect::<Vec<_>>()
		.try_into()
		.expect("MaxStrategies strategies")
}

fn register_applets<T: Config>(owner: &T::AccountId, project: ProjectId, code: H256, count: u32) {
	for i in 0..count {
		Pallet::<T>::register_applet(
			RawOrigin::Signed(owner.clone()).into(),
			project,
			project_name(i),
			code,
			full_strategies(),
		)
		.expect("applet registered");
	}
}

/// A funded owner's project with one ed25519 device registered.
fn registered_device<T: Config>() -> (T::AccountId, ProjectId, DeviceKey) {
	let owner = funded::<T>("owner", 0);
	let project = create::<T>(&owner);
	let key = DeviceKey::Ed25519([1; 32]);
	Pallet::<T>::register_device(
		RawOrigin::Signed(owner.clone()).into(),
		project,
		key.clone(),
		None,
	)
	.unwrap();
	(owner, project, key)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_project() {
		let owner = funded::<T>("owner", 0);
		let name = project_name(0);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner.clone()),
			name.clone(),
			vec![0u8; <w3b_primitives::project::MaxMetadataLen as Get<u32>>::get() as usize]
				.try_into()
				.unwrap(),
			full_config::<T>(),
		);

		assert_eq!(ProjectNames::<T>::get(name), Some(0));
	}

	#[benchmark]
	fn transfer_project() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let new_owner: T::AccountId = account("new", 0, SEED);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, new_owner.clone());

		assert!(Pallet::<T>::is_owner(project, &new_owner));
	}

	/// Worst case: the largest configuration, and the status re-evaluated.
	#[benchmark]
	fn set_config() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let config = full_config::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, config.clone());

		assert_eq!(ProjectInfos::<T>::get(project).unwrap().config, config);
	}

	#[benchmark]
	fn pause_project() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project);

		assert_eq!(Pallet::<T>::status(project), Some(ProjectStatus::Paused));
	}

	#[benchmark]
	fn resume_project() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		Pallet::<T>::pause_project(RawOrigin::Signed(owner.clone()).into(), project).unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project);

		assert_ne!(Pallet::<T>::status(project), Some(ProjectStatus::Paused));
	}

	/// Closing a project with `a` applets.
	#[benchmark]
	fn close_project(a: Linear<0, { T::MaxApplets::get() }>) {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let code = upload::<T>(&owner, 0);
		register_applets::<T>(&owner, project, code, a);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project);

		assert_eq!(Pallet::<T>::status(project), Some(ProjectStatus::Closed));
		assert_eq!(CodeInfos::<T>::get(code).unwrap().refs, 0);
	}

	/// Uploading about `c` bytes of code (its size is `c` plus a few hundred bytes of
	/// module structure); validation is linear in the size.
	#[benchmark]
	fn upload_code(c: Linear<0, { T::MaxCodeSize::get() - 1024 }>) {
		let owner = funded::<T>("owner", 0);
		let names = handler_names(<MaxStrategies as Get<u32>>::get());
		let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
		let code = sample_module(&names, c / <MaxStrategies as Get<u32>>::get());
		let hash = code_hash(&code);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), code);

		assert!(CodeInfos::<T>::contains_key(hash));
	}

	#[benchmark]
	fn remove_code() {
		let owner = funded::<T>("owner", 0);
		let code = upload::<T>(&owner, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), code);

		assert!(!Code::<T>::contains_key(code));
	}

	/// Registering the next applet of a project that has `a`, with the most strategies.
	#[benchmark]
	fn register_applet(a: Linear<0, { T::MaxApplets::get() - 1 }>) {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let code = upload::<T>(&owner, 0);
		register_applets::<T>(&owner, project, code, a);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, project_name(a), code, full_strategies());

		assert_eq!(AppletCount::<T>::get(project), a + 1);
	}

	#[benchmark]
	fn upgrade_applet() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let v1 = upload::<T>(&owner, 0);
		let v2 = upload::<T>(&owner, 1);
		register_applets::<T>(&owner, project, v1, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, 0, v2, full_strategies());

		assert_eq!(Applets::<T>::get(project, 0).unwrap().version, 2);
	}

	#[benchmark]
	fn remove_applet() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let code = upload::<T>(&owner, 0);
		register_applets::<T>(&owner, project, code, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, 0);

		assert_eq!(AppletCount::<T>::get(project), 0);
	}

	#[benchmark]
	fn register_device() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let key = DeviceKey::Secp256k1([2; 33]);
		let did: Did = vec![b'd'; <w3b_primitives::project::MaxDidLen as Get<u32>>::get() as usize]
			.try_into()
			.unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, key.clone(), Some(did));

		assert!(Devices::<T>::contains_key(project, key.device_id()));
	}

	#[benchmark]
	fn register_device_by_did() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let did = T::Dids::benchmark_did(DeviceKey::Secp256k1([2; 33]));
		// The worst case: a policy trusting the most issuers, the credential from the last.
		let policy = full_policy::<T>();
		let issuer = *policy.issuers.last().expect("issuers");
		T::Credentials::benchmark_credential(issuer, did, policy.credential_type);
		DeviceCredentialPolicies::<T>::insert(project, policy);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, did);

		assert!(DeviceCredentials::<T>::contains_key(project, did));
	}

	#[benchmark]
	fn set_device_credential_policy() {
		let owner = funded::<T>("owner", 0);
		let project = create::<T>(&owner);
		let policy = full_policy::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, Some(policy));

		assert!(DeviceCredentialPolicies::<T>::contains_key(project));
	}

	#[benchmark]
	fn revoke_device() {
		let (owner, project, key) = registered_device::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, key.device_id());

		let record = Devices::<T>::get(project, key.device_id()).unwrap();
		assert_eq!(
			(record.status, record.revoked_at),
			(DeviceStatus::Revoked, Some(frame_system::Pallet::<T>::block_number()))
		);
	}

	#[benchmark]
	fn remove_device() {
		let (owner, project, key) = registered_device::<T>();
		Pallet::<T>::revoke_device(
			RawOrigin::Signed(owner.clone()).into(),
			project,
			key.device_id(),
		)
		.unwrap();
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(
			now + T::DeviceRemovalDelay::get() + 1u32.into(),
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, key.device_id());

		assert!(!Devices::<T>::contains_key(project, key.device_id()));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
