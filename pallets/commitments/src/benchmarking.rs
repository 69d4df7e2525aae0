//! Benchmarks of the commitment and the report calls.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use sp_runtime::traits::{One, Saturating};
use w3b_primitives::{
	merkle::{merkle_proof, merkle_root},
	project::ProjectConfig,
	validity::{MAX_EVENT_TYPE, MAX_PAYLOAD},
	DeviceKey, DeviceSignature, Message,
};

const SEED: u32 = 0;

/// A real recoverable secp256k1 signature (`r ++ s ++ v`, low `s`), made by another key
/// over another hash: recovering a public key from it over any message hash runs to the
/// end and yields a key that is not the device's.
const FOREIGN_SIGNATURE: [u8; 65] = [
	0x17, 0xf5, 0x32, 0x89, 0xea, 0xc9, 0x61, 0xe5, 0xad, 0xc8, 0x58, 0xd3, 0xca, 0x50, 0xda, 0xb0,
	0x56, 0xdd, 0xca, 0x7a, 0x1a, 0x90, 0x6c, 0x08, 0x15, 0xa0, 0x36, 0x93, 0x12, 0xd1, 0xaa, 0x49,
	0x56, 0xd8, 0xa6, 0x16, 0x43, 0x66, 0x0d, 0x42, 0x22, 0x6a, 0x85, 0x89, 0xf7, 0x9c, 0xca, 0x25,
	0x07, 0x78, 0x2b, 0x3b, 0xe9, 0xdb, 0x28, 0x6e, 0x0b, 0x22, 0x89, 0x5d, 0x96, 0xe5, 0x09, 0x7b,
	0x01,
];

/// An Active project whose subnet is `operator` alone.
fn active_project<T: Config>(operator: &T::AccountId) -> ProjectId {
	let owner: T::AccountId = account("owner", 0, SEED);
	let funds =
		T::MinBond::get().saturating_add(T::ProjectDeposit::get()).saturating_mul(10u32.into());
	<T as pallet_projects::Config>::Currency::set_balance(&owner, funds);
	<T as pallet_projects::Config>::Currency::set_balance(operator, funds);
	let project = pallet_projects::NextProjectId::<T>::get();
	pallet_projects::Pallet::<T>::create_project(
		RawOrigin::Signed(owner).into(),
		b"bench".to_vec().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			attestation_deadline: T::MinAttestationDeadline::get(),
			..Default::default()
		},
	)
	.expect("project created");
	pallet_operators::Pallet::<T>::register_operator(
		RawOrigin::Signed(operator.clone()).into(),
		T::MinBond::get(),
		Default::default(),
		None,
	)
	.expect("registered");
	pallet_operators::Pallet::<T>::join_subnet(RawOrigin::Signed(operator.clone()).into(), project)
		.expect("joined");
	project
}

fn cid() -> Cid {
	let mut cid = alloc::vec![1u8, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[7; 32]);
	cid.try_into().expect("36 bytes")
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Committing with `p` settled batches beyond the window to prune.
	#[benchmark]
	fn commit_batch(p: Linear<0, { T::MaxPrunePerCommit::get() }>) {
		let operator: T::AccountId = account("operator", 0, SEED);
		let project = active_project::<T>(&operator);
		let existing = u64::from(T::CommitmentWindow::get()) - 1 + u64::from(p);
		for seq in 0..existing {
			let header = BatchHeader {
				project,
				seq,
				merkle_root: H256::repeat_byte(1),
				count: 1,
				bytes: 1,
				cid: cid(),
			};
			Batches::<T>::insert(
				project,
				seq,
				Commitment {
					header,
					committer: operator.clone(),
					committed_at: Default::default(),
					committed_at_ms: 0,
				},
			);
			T::Proofs::settle(project, seq);
		}
		NextBatchSeq::<T>::insert(project, existing);

		#[extrinsic_call]
		_(RawOrigin::Signed(operator), project, H256::repeat_byte(2), 1000, 100_000, cid());

		assert_eq!(NextBatchSeq::<T>::get(project), existing + 1);
		assert_eq!(OldestRetained::<T>::get(project), u64::from(p));
	}

	/// The costliest report, accepted or refused: [`Evidence::Invalid`] with the largest
	/// message (hashed), its inclusion proof in a batch of [`MAX_BATCH_MESSAGES`] (15
	/// siblings, the most such a batch has), a registered secp256k1 device (the costliest
	/// signature check) and a signature that recovers another key, so that every check
	/// runs, the last one finds [`Invalid::BadSignature`] and the report is kept. A
	/// refused report stops earlier.
	#[benchmark]
	fn report_invalid_batch() {
		let operator: T::AccountId = account("operator", 0, SEED);
		let project = active_project::<T>(&operator);
		let owner: T::AccountId = account("owner", 0, SEED);
		let key = DeviceKey::Secp256k1([2; 33]);
		pallet_projects::Pallet::<T>::register_device(
			RawOrigin::Signed(owner).into(),
			project,
			key.clone(),
			None,
		)
		.expect("device registered");
		let next_block = frame_system::Pallet::<T>::block_number() + One::one();
		frame_system::Pallet::<T>::set_block_number(next_block);
		let message = Message {
			project,
			device: key.device_id(),
			seq: u64::MAX,
			timestamp_ms: T::Time::now().as_millis() as u64,
			event_type: alloc::vec![b'e'; MAX_EVENT_TYPE],
			payload: alloc::vec![0xab; MAX_PAYLOAD],
			encrypted: false,
		};
		// Other leaves: any distinct hashes (`from_low_u64_be` is not in the no_std build).
		let mut hashes: Vec<H256> = (1..MAX_BATCH_MESSAGES)
			.map(|i| H256(sp_io::hashing::blake2_256(&i.to_le_bytes())))
			.collect();
		let signature = DeviceSignature::Secp256k1(FOREIGN_SIGNATURE);
		hashes.insert(0, signed_message_hash(&message.hash(), &signature));
		let proof = merkle_proof(&hashes, 0).expect("leaf 0 exists");
		assert_eq!(proof.siblings.len(), 15);
		let seq = NextBatchSeq::<T>::get(project);
		Pallet::<T>::commit_batch(
			RawOrigin::Signed(operator).into(),
			project,
			merkle_root(&hashes),
			MAX_BATCH_MESSAGES,
			MAX_BATCH_BYTES,
			cid(),
		)
		.expect("committed");
		let reporter: T::AccountId = account("reporter", 0, SEED);
		#[cfg(test)]
		assert!(
			sp_io::crypto::secp256k1_ecdsa_recover_compressed(
				&FOREIGN_SIGNATURE,
				&message.hash().0
			)
			.is_ok(),
			"the signature recovers a key: the check runs to its end"
		);
		let evidence = Evidence::Invalid { message, signature, proof };

		#[block]
		{
			Pallet::<T>::report_invalid_batch(
				RawOrigin::Signed(reporter).into(),
				project,
				seq,
				evidence,
			)
			.expect("a bad signature is the committer's fault");
		}

		assert_eq!(Reports::<T>::get(project, seq).map(|r| r.2), Some(Invalid::BadSignature));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
