//! Tests of the `did:w3b` method's calls, each error, and the attacks on it: a replayed,
//! stale, foreign-chain or forged operation, a front-run creation, a rotated-out key.

use crate::{mock::*, Dids, Error, Event, HoldReason, RetiredKeys, Tombstones};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, Get},
};
use sp_core::{ecdsa, ed25519, sr25519, Pair, H256};
use sp_runtime::{BoundedVec, DispatchResult};
use w3b_primitives::{
	did::{
		did_id_of, DidAction, DidCreation, DidId, DidOperation, DidState, KeyPurpose,
		MaxRetiredKeys, Service, X25519Key,
	},
	DeviceKey, DeviceSignature,
};

/// The genesis hash the test externalities set.
fn genesis() -> H256 {
	H256::repeat_byte(0x99)
}

/// A signing key on one of the three curves.
#[derive(Clone)]
enum Signer {
	Ed(ed25519::Pair),
	Sr(sr25519::Pair),
	K1(ecdsa::Pair),
}

impl Signer {
	fn ed(seed: u8) -> Self {
		Signer::Ed(ed25519::Pair::from_seed(&[seed; 32]))
	}

	fn key(&self) -> DeviceKey {
		match self {
			Signer::Ed(pair) => DeviceKey::Ed25519(pair.public().0),
			Signer::Sr(pair) => DeviceKey::Sr25519(pair.public().0),
			Signer::K1(pair) => DeviceKey::Secp256k1(pair.public().0),
		}
	}

	fn sign(&self, hash: H256) -> DeviceSignature {
		match self {
			Signer::Ed(pair) => DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0),
			Signer::Sr(pair) => DeviceSignature::Sr25519(pair.sign(hash.as_bytes()).0),
			Signer::K1(pair) => DeviceSignature::Secp256k1(pair.sign_prehashed(&hash.0).0),
		}
	}

	fn did(&self) -> DidId {
		did_id_of(&self.key())
	}
}

fn now() -> u64 {
	System::block_number()
}

fn service(id: &str) -> Service {
	Service {
		id: id.as_bytes().to_vec().try_into().unwrap(),
		service_type: b"MQTTEndpoint".to_vec().try_into().unwrap(),
		endpoint: b"mqtts://node.example:8883".to_vec().try_into().unwrap(),
	}
}

/// A creation of `signer`'s DID with nothing but its key, submitted by [`ALICE`].
fn creation(signer: &Signer) -> DidCreation<u64, u64> {
	DidCreation {
		authentication: signer.key(),
		assertion: None,
		delegation: None,
		key_agreement: Default::default(),
		services: Default::default(),
		controller: None,
		submitter: ALICE,
		valid_until: now() + 5,
	}
}

fn submit_creation(creation: DidCreation<u64, u64>, signer: &Signer) -> DispatchResult {
	let signature = signer.sign(creation.signing_hash(&genesis()));
	Did::create(RuntimeOrigin::signed(creation.submitter), creation, signature)
}

/// Creates `signer`'s DID (submitted by [`ALICE`]).
fn create(signer: &Signer) -> DidId {
	assert_ok!(submit_creation(creation(signer), signer));
	signer.did()
}

fn operation(did: DidId, counter: u64, action: DidAction) -> DidOperation<u64> {
	DidOperation { did, counter, valid_until: now() + 5, action }
}

fn submit(operation: DidOperation<u64>, signer: &Signer) -> DispatchResult {
	let signature = signer.sign(operation.signing_hash(&genesis()));
	Did::update(RuntimeOrigin::signed(BOB), operation, signature)
}

/// Applies `action` to `did`, signed by `signer`, with the DID's next counter.
fn update(did: DidId, signer: &Signer, action: DidAction) -> DispatchResult {
	let counter = Dids::<Test>::get(did).map_or(1, |document| document.counter + 1);
	submit(operation(did, counter, action), signer)
}

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::DidDeposit.into(), &who)
}

fn last_event() -> Event<Test> {
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Did(event) => Some(event),
			_ => None,
		})
		.expect("an event of the pallet")
}

#[test]
fn create_records_the_document_and_holds_the_deposit() {
	new_test_ext().execute_with(|| {
		let holder = Signer::ed(1);
		let issuer = Signer::ed(2);
		let mut request = creation(&holder);
		request.assertion = Some(issuer.key());
		request.key_agreement = vec![X25519Key([5; 32])].try_into().unwrap();
		request.services = vec![service("mqtt")].try_into().unwrap();
		assert_ok!(submit_creation(request, &holder));
		let did = holder.did();
		assert_eq!(last_event(), Event::DidCreated { did, depositor: ALICE });
		let document = Dids::<Test>::get(did).unwrap();
		assert_eq!(document.authentication.key, holder.key());
		assert_eq!(document.authentication.since, 1);
		assert_eq!(document.assertion.unwrap().key, issuer.key());
		assert_eq!(document.services[0], service("mqtt"));
		assert_eq!(
			(document.counter, document.depositor, document.deposit),
			(0, ALICE, DID_DEPOSIT)
		);
		assert_eq!(held(ALICE), DID_DEPOSIT);
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 1), Some(holder.key()));
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 0), None);
	});
}

#[test]
fn every_curve_creates_and_operates() {
	new_test_ext().execute_with(|| {
		for signer in [
			Signer::Ed(ed25519::Pair::from_seed(&[3; 32])),
			Signer::Sr(sr25519::Pair::from_seed(&[3; 32])),
			Signer::K1(ecdsa::Pair::from_seed(&[3; 32])),
		] {
			let did = create(&signer);
			assert_ok!(update(did, &signer, DidAction::AddService(service("s"))));
			assert_eq!(Dids::<Test>::get(did).unwrap().counter, 1);
		}
	});
}

#[test]
fn create_errors() {
	new_test_ext().execute_with(|| {
		let holder = Signer::ed(1);
		let other = Signer::ed(2);
		// Submitted by another account than the one signed for: a creation seen in the
		// pool cannot be taken over (and its deposit paid by someone else).
		let request = creation(&holder);
		let signature = holder.sign(request.signing_hash(&genesis()));
		assert_noop!(
			Did::create(RuntimeOrigin::signed(BOB), request.clone(), signature.clone()),
			Error::<Test>::WrongSubmitter
		);
		// Signed by a key that is not the authentication key.
		assert_noop!(submit_creation(request.clone(), &other), Error::<Test>::BadSignature);
		// Signed for another chain.
		let foreign = holder.sign(request.signing_hash(&H256::repeat_byte(1)));
		assert_noop!(
			Did::create(RuntimeOrigin::signed(ALICE), request.clone(), foreign),
			Error::<Test>::BadSignature
		);
		// The signature covers every field: another controller, same signature.
		let controller_did = create(&other);
		let mut altered = request.clone();
		altered.controller = Some(controller_did);
		assert_noop!(
			Did::create(RuntimeOrigin::signed(ALICE), altered, signature),
			Error::<Test>::BadSignature
		);
		let mut late = request.clone();
		late.valid_until = 0;
		assert_noop!(submit_creation(late, &holder), Error::<Test>::Expired);
		let mut far = request.clone();
		far.valid_until = now() + MAX_VALIDITY + 1;
		assert_noop!(submit_creation(far, &holder), Error::<Test>::ValidityTooLong);
		let mut bad_service = request.clone();
		let mut broken = service("a");
		broken.endpoint = b"has space".to_vec().try_into().unwrap();
		bad_service.services = vec![broken].try_into().unwrap();
		assert_noop!(submit_creation(bad_service, &holder), Error::<Test>::BadService);
		let mut twice = request.clone();
		twice.services = vec![service("a"), service("a")].try_into().unwrap();
		assert_noop!(submit_creation(twice, &holder), Error::<Test>::ServiceExists);
		let mut keys_twice = request.clone();
		keys_twice.key_agreement = vec![X25519Key([1; 32]), X25519Key([1; 32])].try_into().unwrap();
		assert_noop!(submit_creation(keys_twice, &holder), Error::<Test>::KeyAgreementExists);
		let mut own = request.clone();
		own.controller = Some(holder.did());
		assert_noop!(submit_creation(own, &holder), Error::<Test>::SelfControl);
		let mut unknown = request.clone();
		unknown.controller = Some(H256::repeat_byte(7));
		assert_noop!(submit_creation(unknown, &holder), Error::<Test>::ControllerNotFound);
		let mut poor = request.clone();
		poor.submitter = POOR;
		assert!(submit_creation(poor, &holder).is_err());
		assert!(Dids::<Test>::get(holder.did()).is_none());
		assert_ok!(submit_creation(request.clone(), &holder));
		assert_noop!(submit_creation(request, &holder), Error::<Test>::AlreadyExists);
	});
}

#[test]
fn an_operation_is_applied_once_soon_and_on_this_chain_only() {
	new_test_ext().execute_with(|| {
		let holder = Signer::ed(1);
		let did = create(&holder);
		let op = operation(did, 1, DidAction::AddService(service("a")));
		assert_ok!(submit(op.clone(), &holder));
		assert_eq!(last_event(), Event::DidUpdated { did, counter: 1 });
		// Replayed: refused.
		assert_noop!(submit(op, &holder), Error::<Test>::WrongCounter);
		// Counters neither go back nor skip ahead: one far ahead (u64::MAX) would lock out
		// every other operation for good.
		assert_noop!(
			submit(operation(did, u64::MAX, DidAction::AddService(service("b"))), &holder),
			Error::<Test>::WrongCounter
		);
		assert_ok!(submit(operation(did, 2, DidAction::AddService(service("b"))), &holder));
		assert_noop!(
			submit(operation(did, 1, DidAction::RemoveService(service("b").id)), &holder),
			Error::<Test>::WrongCounter
		);
		// Signed for another chain.
		let foreign = operation(did, 3, DidAction::RemoveService(service("b").id));
		let signature = holder.sign(foreign.signing_hash(&H256::repeat_byte(1)));
		assert_noop!(
			Did::update(RuntimeOrigin::signed(BOB), foreign.clone(), signature),
			Error::<Test>::BadSignature
		);
		// The signature covers the action.
		let signature = holder.sign(foreign.signing_hash(&genesis()));
		let mut swapped = foreign;
		swapped.action = DidAction::Deactivate;
		assert_noop!(
			Did::update(RuntimeOrigin::signed(BOB), swapped, signature),
			Error::<Test>::BadSignature
		);
		// Held back past its last block, or signed to stay valid for too long.
		let mut late = operation(did, 3, DidAction::RemoveService(service("b").id));
		late.valid_until = now() - 1;
		assert_noop!(submit(late, &holder), Error::<Test>::Expired);
		let mut far = operation(did, 3, DidAction::RemoveService(service("b").id));
		far.valid_until = now() + MAX_VALIDITY + 1;
		assert_noop!(submit(far, &holder), Error::<Test>::ValidityTooLong);
		// A stranger's key.
		assert_noop!(
			update(did, &Signer::ed(9), DidAction::RemoveService(service("b").id)),
			Error::<Test>::BadSignature
		);
		assert_noop!(
			update(H256::repeat_byte(3), &holder, DidAction::Deactivate),
			Error::<Test>::NotFound
		);
	});
}

#[test]
fn a_rotated_key_verifies_what_it_signed_before_and_signs_nothing_after() {
	new_test_ext().execute_with(|| {
		let first = Signer::ed(1);
		let second = Signer::K1(ecdsa::Pair::from_seed(&[2; 32]));
		let did = create(&first);
		System::set_block_number(5);
		assert_ok!(update(did, &first, DidAction::SetAuthenticationKey(second.key())));
		// The identifier stays; the first key held the purpose in blocks 1-4.
		let document = Dids::<Test>::get(did).unwrap();
		assert_eq!(
			(document.authentication.key.clone(), document.authentication.since),
			(second.key(), 5)
		);
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 4), Some(first.key()));
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 5), Some(second.key()));
		let DidState::Active { retired, .. } = Did::state(did) else { panic!("active") };
		assert_eq!(retired, RetiredKeys::<Test>::get(did).into_inner());
		assert_eq!(retired.len(), 1);
		assert_noop!(
			update(did, &first, DidAction::AddService(service("a"))),
			Error::<Test>::BadSignature
		);
		assert_ok!(update(did, &second, DidAction::AddService(service("a"))));
		assert_noop!(
			update(did, &second, DidAction::SetAuthenticationKey(second.key())),
			Error::<Test>::KeyUnchanged
		);
		// The assertion key: set, replaced, removed, each period kept.
		let issuer = Signer::ed(3);
		let issuer2 = Signer::ed(4);
		System::set_block_number(7);
		assert_ok!(update(did, &second, DidAction::SetAssertionKey(Some(issuer.key()))));
		System::set_block_number(9);
		assert_ok!(update(did, &second, DidAction::SetAssertionKey(Some(issuer2.key()))));
		System::set_block_number(11);
		assert_ok!(update(did, &second, DidAction::SetAssertionKey(None)));
		assert_noop!(
			update(did, &second, DidAction::SetAssertionKey(None)),
			Error::<Test>::KeyUnchanged
		);
		assert_eq!(Did::key_at(did, KeyPurpose::AssertionMethod, 6), None);
		assert_eq!(Did::key_at(did, KeyPurpose::AssertionMethod, 8), Some(issuer.key()));
		assert_eq!(Did::key_at(did, KeyPurpose::AssertionMethod, 10), Some(issuer2.key()));
		assert_eq!(Did::key_at(did, KeyPurpose::AssertionMethod, 11), None);
		assert_ok!(update(did, &second, DidAction::SetDelegationKey(Some(issuer.key()))));
		assert_eq!(Did::key_at(did, KeyPurpose::CapabilityDelegation, 11), Some(issuer.key()));
	});
}

#[test]
fn retired_keys_are_bounded_the_oldest_going_first() {
	new_test_ext().execute_with(|| {
		let keep: u32 = MaxRetiredKeys::get();
		let signers: Vec<Signer> = (1..=keep as u8 + 3).map(Signer::ed).collect();
		let did = create(&signers[0]);
		for (i, pair) in signers.windows(2).enumerate() {
			System::set_block_number(2 + i as u64);
			assert_ok!(update(did, &pair[0], DidAction::SetAuthenticationKey(pair[1].key())));
		}
		let retired = RetiredKeys::<Test>::get(did);
		assert_eq!(retired.len() as u32, keep);
		// The first two rotations' keys were dropped; the third's is the oldest kept.
		assert_eq!(retired[0].key, signers[2].key());
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 1), None);
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 3), Some(signers[2].key()));
	});
}

#[test]
fn a_controller_signs_for_the_did_until_it_is_removed() {
	new_test_ext().execute_with(|| {
		let device = Signer::ed(1);
		let owner = Signer::ed(2);
		let device_did = create(&device);
		let owner_did = create(&owner);
		assert_noop!(
			update(device_did, &owner, DidAction::AddService(service("a"))),
			Error::<Test>::BadSignature
		);
		assert_noop!(
			update(device_did, &device, DidAction::SetController(Some(device_did))),
			Error::<Test>::SelfControl
		);
		assert_noop!(
			update(device_did, &device, DidAction::SetController(Some(H256::repeat_byte(4)))),
			Error::<Test>::ControllerNotFound
		);
		assert_ok!(update(device_did, &device, DidAction::SetController(Some(owner_did))));
		// A thief of the device's key cannot lock the controller out.
		assert_noop!(
			update(device_did, &device, DidAction::SetController(None)),
			Error::<Test>::ControllerOnly
		);
		// The controller rotates the device's key (a device that lost its key).
		let replacement = Signer::ed(3);
		assert_ok!(update(device_did, &owner, DidAction::SetAuthenticationKey(replacement.key())));
		assert_ok!(update(device_did, &replacement, DidAction::AddService(service("a"))));
		// A deactivated controller controls nothing.
		let owner_counter = Dids::<Test>::get(owner_did).unwrap().counter;
		assert_ok!(submit(operation(owner_did, owner_counter + 1, DidAction::Deactivate), &owner));
		assert_noop!(
			update(device_did, &owner, DidAction::RemoveService(service("a").id)),
			Error::<Test>::BadSignature
		);
		// Its controller gone for good, the DID's own key removes it.
		assert_ok!(update(device_did, &replacement, DidAction::SetController(None)));
		assert!(Dids::<Test>::get(device_did).unwrap().controller.is_none());
	});
}

#[test]
fn services_and_key_agreement_keys_are_added_and_removed() {
	new_test_ext().execute_with(|| {
		let holder = Signer::ed(1);
		let did = create(&holder);
		let max_services: u32 = w3b_primitives::did::MaxServices::get();
		for i in 0..max_services {
			assert_ok!(update(did, &holder, DidAction::AddService(service(&format!("s{i}")))));
		}
		assert_noop!(
			update(did, &holder, DidAction::AddService(service("more"))),
			Error::<Test>::TooManyServices
		);
		assert_noop!(
			update(did, &holder, DidAction::AddService(service("s0"))),
			Error::<Test>::ServiceExists
		);
		let mut broken = service("x");
		broken.service_type = BoundedVec::default();
		assert_noop!(
			update(did, &holder, DidAction::AddService(broken)),
			Error::<Test>::BadService
		);
		assert_ok!(update(did, &holder, DidAction::RemoveService(service("s0").id)));
		assert_noop!(
			update(did, &holder, DidAction::RemoveService(service("s0").id)),
			Error::<Test>::ServiceNotFound
		);
		let max_keys: u32 = w3b_primitives::did::MaxKeyAgreementKeys::get();
		for i in 0..max_keys {
			assert_ok!(update(did, &holder, DidAction::AddKeyAgreement(X25519Key([i as u8; 32]))));
		}
		assert_noop!(
			update(did, &holder, DidAction::AddKeyAgreement(X25519Key([0; 32]))),
			Error::<Test>::KeyAgreementExists
		);
		assert_noop!(
			update(did, &holder, DidAction::AddKeyAgreement(X25519Key([99; 32]))),
			Error::<Test>::TooManyKeyAgreements
		);
		assert_ok!(update(did, &holder, DidAction::RemoveKeyAgreement(X25519Key([0; 32]))));
		assert_noop!(
			update(did, &holder, DidAction::RemoveKeyAgreement(X25519Key([0; 32]))),
			Error::<Test>::KeyAgreementNotFound
		);
		let document = Dids::<Test>::get(did).unwrap();
		assert_eq!(document.services.len() as u32, max_services - 1);
		assert_eq!(document.key_agreement.len() as u32, max_keys - 1);
	});
}

#[test]
fn deactivation_releases_the_deposit_and_leaves_a_tombstone() {
	new_test_ext().execute_with(|| {
		let holder = Signer::ed(1);
		let did = create(&holder);
		System::set_block_number(3);
		assert_ok!(update(did, &holder, DidAction::SetAuthenticationKey(Signer::ed(2).key())));
		assert_ok!(update(did, &Signer::ed(2), DidAction::Deactivate));
		assert_eq!(last_event(), Event::DidDeactivated { did });
		assert_eq!(held(ALICE), 0);
		assert!(Dids::<Test>::get(did).is_none());
		assert!(RetiredKeys::<Test>::get(did).is_empty());
		assert_eq!(Tombstones::<Test>::get(did), Some(3));
		assert_eq!(Did::state(did), DidState::Deactivated(3));
		assert_eq!(Did::state(Signer::ed(5).did()), DidState::Unknown);
		assert_eq!(Did::key_at(did, KeyPurpose::Authentication, 2), None);
		// Never changed, never created again (not even by its first key).
		assert_noop!(
			update(did, &Signer::ed(2), DidAction::AddService(service("a"))),
			Error::<Test>::Deactivated
		);
		assert_noop!(submit_creation(creation(&holder), &holder), Error::<Test>::Deactivated);
	});
}
