//! Benchmarks of the bridge pallet, each on its costliest path: full sets, full batches.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{pallet_prelude::Authorize, traits::Hooks};
use frame_system::RawOrigin;
use w3b_primitives::bridge::{to_eth_signature, BRIDGE_KEY_TYPE};

const CHAIN: u64 = 4690;

/// A set of `MaxAuthorities` keys in the keystore, the current one; the genesis hash
/// known and `CHAIN` a target with no batch yet.
fn setup<T: Config>() -> Vec<BridgeAuthorityId> {
	let keys: Vec<BridgeAuthorityId> = (0..T::MaxAuthorities::get())
		.map(|_| sp_io::crypto::ecdsa_generate(BRIDGE_KEY_TYPE, None).into())
		.collect();
	GenesisHash::<T>::put(H256::repeat_byte(1));
	Pallet::<T>::bridge_set_changed(&keys);
	let first_set = CurrentSetId::<T>::get();
	Targets::<T>::insert(CHAIN, Target { contract: H160::repeat_byte(0xb1), first_set });
	keys
}

/// The largest output there is.
fn output(i: u32) -> BridgeOutput {
	BridgeOutput {
		project: i.into(),
		batch_seq: i.into(),
		kind: OutputKind::Process,
		to: H160::repeat_byte(0xdd),
		client_id: BoundedVec::truncate_from(alloc::vec![b'c'; 64]),
		data: BoundedVec::truncate_from(alloc::vec![b'd'; 1024]),
	}
}

/// Set `set_id`'s member `index`'s signature of `digest`.
fn signature<T: Config>(set_id: u64, index: usize, digest: H256) -> (u32, EthSignature) {
	let key = Sets::<T>::get(set_id).expect("set").keys[index].clone();
	let signature = sp_io::crypto::ecdsa_sign_prehashed(BRIDGE_KEY_TYPE, &key.into(), &digest.0)
		.expect("key in the keystore");
	(index as u32, to_eth_signature(signature))
}

/// A sealed batch of `MaxBatchOutputs` outputs at nonce 0, signed by all but one needed.
fn signed_batch<T: Config>() -> (u32, EthSignature) {
	Pallet::<T>::queue(CHAIN, (0..T::MaxBatchOutputs::get()).map(output));
	Pallet::<T>::seal(CHAIN);
	let (digest, mut batch, threshold) = Pallet::<T>::batch_digest(CHAIN, 0).expect("sealed");
	let set_id = batch.set_id;
	for index in 0..threshold as usize - 1 {
		let _ = batch.signatures.try_push(signature::<T>(set_id, index, digest));
	}
	Batches::<T>::insert(CHAIN, 0, batch);
	signature::<T>(set_id, threshold as usize - 1, digest)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn set_target() {
		setup::<T>();
		Targets::<T>::remove(CHAIN);
		#[extrinsic_call]
		_(RawOrigin::Root, CHAIN, H160::repeat_byte(0xb1));
		assert!(Targets::<T>::contains_key(CHAIN));
	}

	#[benchmark]
	fn remove_target() {
		setup::<T>();
		Pallet::<T>::queue(CHAIN, [output(0)]);
		#[extrinsic_call]
		_(RawOrigin::Root, CHAIN);
		assert!(!Targets::<T>::contains_key(CHAIN));
	}

	#[benchmark]
	fn sign_batch() {
		setup::<T>();
		let (signer, signature) = signed_batch::<T>();
		#[extrinsic_call]
		_(RawOrigin::Authorized, CHAIN, 0, signer, signature);
		let threshold = Sets::<T>::get(CurrentSetId::<T>::get()).expect("set").threshold;
		assert_eq!(Batches::<T>::get(CHAIN, 0).expect("batch").signatures.len() as u32, threshold);
	}

	#[benchmark]
	fn sign_set_change() {
		let keys = setup::<T>();
		let old = CurrentSetId::<T>::get();
		// The next set: all keys but the first, and one more.
		let mut next = keys[1..].to_vec();
		next.push(sp_io::crypto::ecdsa_generate(BRIDGE_KEY_TYPE, None).into());
		Pallet::<T>::bridge_set_changed(&next);
		let new = old + 1;
		let (digest, mut change, threshold) =
			Pallet::<T>::set_change_digest(CHAIN, new).expect("hand-over");
		for index in 0..threshold as usize - 1 {
			let _ = change.signatures.try_push(signature::<T>(old, index, digest));
		}
		SetChanges::<T>::insert(CHAIN, new, change);
		let (signer, signature) = signature::<T>(old, threshold as usize - 1, digest);
		#[extrinsic_call]
		_(RawOrigin::Authorized, CHAIN, new, signer, signature);
		let change = SetChanges::<T>::get(CHAIN, new).expect("hand-over");
		assert_eq!(change.signatures.len() as u32, threshold);
	}

	#[benchmark]
	fn authorize_signature() -> Result<(), BenchmarkError> {
		setup::<T>();
		let (signer, signature) = signed_batch::<T>();
		let call = Call::<T>::sign_batch { chain: CHAIN, nonce: 0, signer, signature };
		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("authorized")?
				.map_err(|_| "valid")?;
		}
		Ok(())
	}

	/// Sealing a chain's `o` waiting outputs at the start of a block.
	#[benchmark]
	fn seal(o: Linear<1, { T::MaxBatchOutputs::get() }>) {
		setup::<T>();
		Pallet::<T>::queue(CHAIN, (0..o).map(output));
		// A pruned batch too.
		NextNonces::<T>::insert(CHAIN, T::KeptBatches::get());
		let block = frame_system::Pallet::<T>::block_number() + 2u32.into();
		#[block]
		{
			Pallet::<T>::on_initialize(block);
		}
		assert!(Batches::<T>::get(CHAIN, T::KeptBatches::get()).is_some());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::bench_ext(), crate::mock::Test);
}
