//! Benchmarks of the DID calls, each on its costliest path: documents at their largest,
//! secp256k1 signatures (a recovery), operations signed by the controller (the subject's
//! key is tried first), retired keys at their bound.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{traits::fungible::Mutate, BoundedVec};
use frame_system::RawOrigin;
use sp_core::crypto::KeyTypeId;
use w3b_primitives::did::{MaxKeyAgreementKeys, MaxServices, X25519Key};

/// Where the benchmarks' keys live in the keystore.
const KEY_TYPE: KeyTypeId = KeyTypeId(*b"bdid");

/// A new secp256k1 key in the keystore.
fn new_key() -> DeviceKey {
	DeviceKey::Secp256k1(sp_io::crypto::ecdsa_generate(KEY_TYPE, None).0)
}

/// `key`'s signature of `hash`.
fn sign(key: &DeviceKey, hash: H256) -> DeviceSignature {
	let DeviceKey::Secp256k1(public) = key else { unreachable!("only secp256k1 keys here") };
	let signature = sp_io::crypto::ecdsa_sign_prehashed(KEY_TYPE, &(*public).into(), &hash.0)
		.expect("key in the keystore");
	DeviceSignature::Secp256k1(signature.0)
}

fn max_services() -> u32 {
	<MaxServices as Get<u32>>::get()
}

/// A funded account.
fn funded<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	let _ = T::Currency::set_balance(&who, T::DidDeposit::get().saturating_mul(100u32.into()));
	who
}

/// Service `i` at its largest.
fn service(i: u32) -> Service {
	let mut id =
		alloc::vec![b's'; <w3b_primitives::did::MaxServiceIdLen as Get<u32>>::get() as usize];
	id[..4].copy_from_slice(&i.to_le_bytes().map(|b| b'a' + b % 26));
	Service {
		id: id.try_into().expect("fits"),
		service_type: alloc::vec![b't'; 64].try_into().expect("fits"),
		endpoint: alloc::vec![b'e'; 256].try_into().expect("fits"),
	}
}

/// The largest creation of `key`'s DID: every key, every service, a controller.
fn full_creation<T: Config>(
	who: &T::AccountId,
	key: &DeviceKey,
	controller: Option<DidId>,
	services: u32,
) -> DidCreationOf<T> {
	DidCreation {
		authentication: key.clone(),
		assertion: Some(DeviceKey::Secp256k1([2; 33])),
		delegation: Some(DeviceKey::Secp256k1([3; 33])),
		key_agreement: (0..<MaxKeyAgreementKeys as Get<u32>>::get())
			.map(|i| X25519Key([i as u8; 32]))
			.collect::<Vec<_>>()
			.try_into()
			.expect("fits"),
		services: (0..services).map(service).collect::<Vec<_>>().try_into().expect("fits"),
		controller,
		submitter: who.clone(),
		// The benchmark may run its call a block after the setup.
		valid_until: frame_system::Pallet::<T>::block_number().saturating_add(1u32.into()),
	}
}

/// Creates a DID for `key`; returns its identifier.
fn create_did<T: Config>(
	who: &T::AccountId,
	key: &DeviceKey,
	controller: Option<DidId>,
	services: u32,
) -> DidId {
	let creation = full_creation::<T>(who, key, controller, services);
	let signature = sign(key, creation.signing_hash(&Pallet::<T>::genesis()));
	let did = creation.did();
	Pallet::<T>::create(RawOrigin::Signed(who.clone()).into(), creation, signature)
		.expect("created");
	did
}

/// A DID controlled by another, its retired keys at their bound, `services` services;
/// returns it and the controller's key.
fn controlled_did<T: Config>(who: &T::AccountId, services: u32) -> (DidId, DeviceKey) {
	let controller_key = new_key();
	let controller = create_did::<T>(who, &controller_key, None, 0);
	let did = create_did::<T>(who, &new_key(), Some(controller), services);
	let now = frame_system::Pallet::<T>::block_number();
	let retired = RetiredKey {
		purpose: KeyPurpose::Authentication,
		key: DeviceKey::Secp256k1([4; 33]),
		since: now,
		until: now,
	};
	RetiredKeys::<T>::insert(
		did,
		BoundedVec::try_from(alloc::vec![retired; <MaxRetiredKeys as Get<u32>>::get() as usize])
			.expect("fits"),
	);
	(did, controller_key)
}

/// `action` on `did`, signed by `key`.
fn signed_operation<T: Config>(
	did: DidId,
	key: &DeviceKey,
	action: DidAction,
) -> (DidOperationOf<T>, DeviceSignature) {
	let operation = DidOperation {
		did,
		counter: 1,
		// The benchmark may run its call a block after the setup.
		valid_until: frame_system::Pallet::<T>::block_number().saturating_add(1u32.into()),
		action,
	};
	let signature = sign(key, operation.signing_hash(&Pallet::<T>::genesis()));
	(operation, signature)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create() {
		let who = funded::<T>();
		let controller = create_did::<T>(&who, &new_key(), None, 0);
		let key = new_key();
		let creation = full_creation::<T>(&who, &key, Some(controller), max_services());
		let signature = sign(&key, creation.signing_hash(&Pallet::<T>::genesis()));
		let did = creation.did();

		#[extrinsic_call]
		_(RawOrigin::Signed(who), creation, signature);

		assert!(Dids::<T>::contains_key(did));
	}

	#[benchmark]
	fn update_key() {
		let who = funded::<T>();
		let (did, controller_key) = controlled_did::<T>(&who, max_services());
		let (operation, signature) = signed_operation::<T>(
			did,
			&controller_key,
			DidAction::SetAuthenticationKey(DeviceKey::Secp256k1([5; 33])),
		);

		#[extrinsic_call]
		update(RawOrigin::Signed(who), operation, signature);

		assert_eq!(
			Dids::<T>::get(did).expect("active").authentication.key,
			DeviceKey::Secp256k1([5; 33])
		);
	}

	#[benchmark]
	fn update_document() {
		let who = funded::<T>();
		let (did, controller_key) = controlled_did::<T>(&who, max_services() - 1);
		let added = service(max_services());
		let (operation, signature) =
			signed_operation::<T>(did, &controller_key, DidAction::AddService(added));

		#[extrinsic_call]
		update(RawOrigin::Signed(who), operation, signature);

		assert_eq!(Dids::<T>::get(did).expect("active").services.len() as u32, max_services());
	}

	#[benchmark]
	fn deactivate() {
		let who = funded::<T>();
		let (did, controller_key) = controlled_did::<T>(&who, max_services());
		let (operation, signature) =
			signed_operation::<T>(did, &controller_key, DidAction::Deactivate);

		#[extrinsic_call]
		update(RawOrigin::Signed(who), operation, signature);

		assert!(Tombstones::<T>::contains_key(did));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
