//! Benchmarks of the credential calls, each on its costliest path: secp256k1 signatures
//! (a recovery), an anchor about a subject (three records written).

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use sp_core::crypto::KeyTypeId;
use w3b_primitives::{credential::credential_type_of, DeviceKey};

/// Where the benchmarks' keys live in the keystore.
const KEY_TYPE: KeyTypeId = KeyTypeId(*b"bcrd");

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

/// A funded account.
fn funded<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	let _ =
		T::Currency::set_balance(&who, T::CredentialDeposit::get().saturating_mul(100u32.into()));
	who
}

/// The block an operation made now may still be included in (the benchmark may run its
/// call a block after the setup).
fn valid_until<T: Config>() -> frame_system::pallet_prelude::BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number().saturating_add(1u32.into())
}

/// An anchor of a credential about a subject by a new issuer, signed; with the issuer's
/// key.
fn signed_anchor<T: Config>(
	who: &T::AccountId,
) -> (CredentialAnchorOf<T>, DeviceSignature, DeviceKey) {
	let key = new_key();
	let issuer = T::Dids::benchmark_did(key.clone());
	let anchor = CredentialAnchor {
		issuer,
		hash: H256::repeat_byte(7),
		credential_type: credential_type_of("GenuineDeviceCredential"),
		subject: Some(H256::repeat_byte(8)),
		status_index: STATUS_LIST_LENGTH - 1,
		submitter: who.clone(),
		valid_until: valid_until::<T>(),
	};
	let signature = sign(&key, anchor.signing_hash(&Pallet::<T>::genesis()));
	(anchor, signature, key)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn anchor() {
		let who = funded::<T>();
		let (request, signature, _) = signed_anchor::<T>(&who);
		let hash = request.hash;

		#[extrinsic_call]
		_(RawOrigin::Signed(who), request, signature);

		assert!(Credentials::<T>::iter().any(|(_, h, _)| h == hash));
	}

	#[benchmark]
	fn set_status() {
		let who = funded::<T>();
		let (request, signature, key) = signed_anchor::<T>(&who);
		let (issuer, hash) = (request.issuer, request.hash);
		Pallet::<T>::anchor(RawOrigin::Signed(who.clone()).into(), request, signature)
			.expect("anchored");
		let change = StatusChange {
			issuer,
			hash,
			revision: 1,
			status: CredentialStatus::Revoked,
			valid_until: valid_until::<T>(),
		};
		let signature = sign(&key, change.signing_hash(&Pallet::<T>::genesis()));

		#[extrinsic_call]
		_(RawOrigin::Signed(who), change, signature);

		assert_eq!(
			Credentials::<T>::get(issuer, hash).expect("anchored").status,
			CredentialStatus::Revoked
		);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
