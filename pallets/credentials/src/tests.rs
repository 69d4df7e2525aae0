//! Tests of the credential registry's calls, each error, and the attacks on it: an anchor
//! in another issuer's name, a front-run anchor, a replayed or stale status change (an old
//! reinstatement undoing a newer suspension), a status index reused to clear a revoked
//! credential's bit, a rotated-out assertion key, a deactivated issuer.

use crate::{mock::*, Credentials as Records, Error, Event, HoldReason, Pallet, StatusIndices};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use sp_core::{ecdsa, ed25519, Pair, H256};
use sp_runtime::DispatchResult;
use w3b_primitives::{
	credential::{
		credential_hash_of, credential_type_of, CredentialAnchor, CredentialStatus,
		CredentialsInspect, StatusChange, STATUS_LIST_LENGTH,
	},
	did::{did_id_of, DidAction, DidCreation, DidId, DidOperation},
	DeviceKey, DeviceSignature,
};

/// The genesis hash the test externalities set.
fn genesis() -> H256 {
	H256::repeat_byte(0x99)
}

/// A signing key: ed25519 or secp256k1.
enum Signer {
	Ed(ed25519::Pair),
	K1(ecdsa::Pair),
}

impl Signer {
	fn ed(seed: u8) -> Self {
		Signer::Ed(ed25519::Pair::from_seed(&[seed; 32]))
	}

	fn k1(seed: u8) -> Self {
		Signer::K1(ecdsa::Pair::from_seed(&[seed; 32]))
	}

	fn key(&self) -> DeviceKey {
		match self {
			Signer::Ed(pair) => DeviceKey::Ed25519(pair.public().0),
			Signer::K1(pair) => DeviceKey::Secp256k1(pair.public().0),
		}
	}

	fn sign(&self, hash: H256) -> DeviceSignature {
		match self {
			Signer::Ed(pair) => DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0),
			Signer::K1(pair) => DeviceSignature::Secp256k1(pair.sign_prehashed(&hash.0).0),
		}
	}
}

fn now() -> u64 {
	System::block_number()
}

/// Creates the DID of `authentication` with `assertion` as its assertion key.
fn issuer_did(authentication: &Signer, assertion: Option<&Signer>) -> DidId {
	let mut creation = DidCreation::new(authentication.key(), ALICE, now() + 5);
	creation.assertion = assertion.map(Signer::key);
	let signature = authentication.sign(creation.signing_hash(&genesis()));
	assert_ok!(Did::create(RuntimeOrigin::signed(ALICE), creation, signature));
	did_id_of(&authentication.key())
}

/// Applies `action` to `did`, signed by its authentication key `signer`.
fn did_update(did: DidId, signer: &Signer, action: DidAction) {
	let counter = pallet_did::Dids::<Test>::get(did).unwrap().counter + 1;
	let operation = DidOperation { did, counter, valid_until: now() + 5, action };
	let signature = signer.sign(operation.signing_hash(&genesis()));
	assert_ok!(Did::update(RuntimeOrigin::signed(BOB), operation, signature));
}

fn device_type() -> H256 {
	credential_type_of("GenuineDeviceCredential")
}

fn subject() -> DidId {
	H256::repeat_byte(0x5b)
}

/// An anchor by `issuer` of the credential whose signed bytes are `bytes`, at `index`,
/// submitted by [`ALICE`].
fn anchor_of(issuer: DidId, bytes: &[u8], index: u32) -> CredentialAnchor<u64, u64> {
	CredentialAnchor {
		issuer,
		hash: credential_hash_of(bytes),
		credential_type: device_type(),
		subject: Some(subject()),
		status_index: index,
		submitter: ALICE,
		valid_until: now() + 5,
	}
}

fn submit_anchor(anchor: CredentialAnchor<u64, u64>, signer: &Signer) -> DispatchResult {
	let signature = signer.sign(anchor.signing_hash(&genesis()));
	Credentials::anchor(RuntimeOrigin::signed(anchor.submitter), anchor, signature)
}

/// The record of the credential `hash` (whoever anchored it).
fn record(hash: H256) -> Option<crate::CredentialRecordOf<Test>> {
	Records::<Test>::iter().find(|(_, h, _)| *h == hash).map(|(_, _, record)| record)
}

/// A change of the credential `hash` by the issuer that anchored it.
fn change(hash: H256, revision: u32, status: CredentialStatus) -> StatusChange<u64> {
	let issuer = record(hash).map_or(H256::zero(), |record| record.issuer);
	StatusChange { issuer, hash, revision, status, valid_until: now() + 5 }
}

fn submit_change(change: StatusChange<u64>, signer: &Signer) -> DispatchResult {
	let signature = signer.sign(change.signing_hash(&genesis()));
	Credentials::set_status(RuntimeOrigin::signed(BOB), change, signature)
}

fn last_event() -> Event<Test> {
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Credentials(event) => Some(event),
			_ => None,
		})
		.expect("an event of the pallet")
}

fn held_deposit(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::CredentialDeposit.into(), &who)
}

/// An issuer whose authentication key is ed25519 seed 1 and assertion key secp256k1
/// seed 2, with one credential anchored at index 7; returns the issuer, the assertion
/// signer and the credential's hash.
fn anchored() -> (DidId, Signer, H256) {
	let assertion = Signer::k1(2);
	let issuer = issuer_did(&Signer::ed(1), Some(&assertion));
	let anchor = anchor_of(issuer, b"{\"credential\":1}", 7);
	let hash = anchor.hash;
	assert_ok!(submit_anchor(anchor, &assertion));
	(issuer, assertion, hash)
}

#[test]
fn anchor_records_the_credential_and_holds_the_deposit() {
	new_test_ext().execute_with(|| {
		let (issuer, _, hash) = anchored();
		assert_eq!(
			last_event(),
			Event::CredentialAnchored {
				hash,
				issuer,
				credential_type: device_type(),
				subject: Some(subject()),
				status_index: 7,
			}
		);
		let anchored = record(hash).unwrap();
		assert_eq!(anchored.issuer, issuer);
		assert_eq!(anchored.status, CredentialStatus::Active);
		assert_eq!((anchored.anchored_at, anchored.status_since, anchored.revision), (1, 1, 0));
		assert_eq!(StatusIndices::<Test>::get(issuer, 7), Some(hash));
		assert_eq!(held_deposit(ALICE), CREDENTIAL_DEPOSIT);
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::held(&subject(), &device_type(), &issuer),
			Some((hash, CredentialStatus::Active, 1))
		);
		assert!(Pallet::<Test>::status_list(issuer).is_empty());
	});
}

#[test]
fn an_anchor_without_a_subject_is_held_by_nobody() {
	new_test_ext().execute_with(|| {
		let assertion = Signer::ed(2);
		let issuer = issuer_did(&Signer::ed(1), Some(&assertion));
		let mut anchor = anchor_of(issuer, b"proof", 0);
		anchor.subject = None;
		let hash = anchor.hash;
		assert_ok!(submit_anchor(anchor, &assertion));
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::status(&record(hash).unwrap().issuer, &hash),
			Some((CredentialStatus::Active, 1))
		);
		assert_eq!(crate::Held::<Test>::iter().count(), 0);
	});
}

#[test]
fn only_the_issuers_assertion_key_anchors_in_its_name() {
	new_test_ext().execute_with(|| {
		let authentication = Signer::ed(1);
		let assertion = Signer::k1(2);
		let issuer = issuer_did(&authentication, Some(&assertion));
		let anchor = anchor_of(issuer, b"forged", 0);
		// A stranger's key, and the issuer's authentication key: not for credentials.
		assert_noop!(submit_anchor(anchor.clone(), &Signer::k1(9)), Error::<Test>::BadSignature);
		assert_noop!(submit_anchor(anchor, &authentication), Error::<Test>::BadSignature);
		// A signature for another chain.
		let anchor = anchor_of(issuer, b"forged", 0);
		let signature = assertion.sign(anchor.signing_hash(&H256::repeat_byte(1)));
		assert_noop!(
			Credentials::anchor(RuntimeOrigin::signed(ALICE), anchor, signature),
			Error::<Test>::BadSignature
		);
	});
}

#[test]
fn an_issuer_needs_an_active_did_with_an_assertion_key() {
	new_test_ext().execute_with(|| {
		let authentication = Signer::ed(1);
		let issuer = issuer_did(&authentication, None);
		assert_noop!(
			submit_anchor(anchor_of(issuer, b"c", 0), &authentication),
			Error::<Test>::NoAssertionKey
		);
		let stranger = Signer::ed(4);
		assert_noop!(
			submit_anchor(anchor_of(did_id_of(&stranger.key()), b"c", 0), &stranger),
			Error::<Test>::NoAssertionKey
		);
	});
}

#[test]
fn a_front_runner_cannot_use_an_anchors_signature() {
	new_test_ext().execute_with(|| {
		let assertion = Signer::ed(2);
		let issuer = issuer_did(&Signer::ed(1), Some(&assertion));
		let anchor = anchor_of(issuer, b"c", 0);
		let signature = assertion.sign(anchor.signing_hash(&genesis()));
		assert_noop!(
			Credentials::anchor(RuntimeOrigin::signed(BOB), anchor.clone(), signature.clone()),
			Error::<Test>::WrongSubmitter
		);
		// Rewriting the submitter breaks the signature.
		let mut stolen = anchor;
		stolen.submitter = BOB;
		assert_noop!(
			Credentials::anchor(RuntimeOrigin::signed(BOB), stolen, signature),
			Error::<Test>::BadSignature
		);
	});
}

#[test]
fn anchors_and_changes_are_valid_for_a_bounded_window() {
	new_test_ext().execute_with(|| {
		let (_, assertion, hash) = anchored();
		let issuer = record(hash).unwrap().issuer;
		let mut anchor = anchor_of(issuer, b"late", 1);
		anchor.valid_until = now() + MAX_VALIDITY + 1;
		assert_noop!(submit_anchor(anchor, &assertion), Error::<Test>::ValidityTooLong);
		let signed_now = anchor_of(issuer, b"late", 1);
		let signature = assertion.sign(signed_now.signing_hash(&genesis()));
		let stale_change = change(hash, 1, CredentialStatus::Revoked);
		let change_signature = assertion.sign(stale_change.signing_hash(&genesis()));
		System::set_block_number(now() + 6);
		assert_noop!(
			Credentials::anchor(RuntimeOrigin::signed(ALICE), signed_now, signature),
			Error::<Test>::Expired
		);
		assert_noop!(
			Credentials::set_status(RuntimeOrigin::signed(BOB), stale_change, change_signature),
			Error::<Test>::Expired
		);
		let mut far = change(hash, 1, CredentialStatus::Revoked);
		far.valid_until = now() + MAX_VALIDITY + 1;
		assert_noop!(submit_change(far, &assertion), Error::<Test>::ValidityTooLong);
	});
}

#[test]
fn a_credential_is_anchored_once_and_an_index_names_one_credential() {
	new_test_ext().execute_with(|| {
		let (issuer, assertion, _) = anchored();
		assert_noop!(
			submit_anchor(anchor_of(issuer, b"{\"credential\":1}", 8), &assertion),
			Error::<Test>::AlreadyAnchored
		);
		// Index 7 is taken: a new credential there would clear nothing, but must not
		// share the bit of the first one.
		assert_noop!(
			submit_anchor(anchor_of(issuer, b"other", 7), &assertion),
			Error::<Test>::StatusIndexTaken
		);
		assert_noop!(
			submit_anchor(anchor_of(issuer, b"other", STATUS_LIST_LENGTH), &assertion),
			Error::<Test>::StatusIndexOutOfRange
		);
		// Another issuer has its own lists.
		let other_assertion = Signer::ed(6);
		let other = issuer_did(&Signer::ed(5), Some(&other_assertion));
		assert_ok!(submit_anchor(anchor_of(other, b"other", 7), &other_assertion));
	});
}

#[test]
fn the_submitter_must_afford_the_deposit() {
	new_test_ext().execute_with(|| {
		let assertion = Signer::ed(2);
		let issuer = issuer_did(&Signer::ed(1), Some(&assertion));
		let mut anchor = anchor_of(issuer, b"c", 0);
		anchor.submitter = POOR;
		let signature = assertion.sign(anchor.signing_hash(&genesis()));
		assert!(Credentials::anchor(RuntimeOrigin::signed(POOR), anchor, signature).is_err());
		assert_eq!(Records::<Test>::iter().count(), 0);
	});
}

#[test]
fn suspension_reinstatement_and_revocation_show_in_the_status_lists() {
	new_test_ext().execute_with(|| {
		let (issuer, assertion, hash) = anchored();
		System::set_block_number(3);
		assert_ok!(submit_change(change(hash, 1, CredentialStatus::Suspended), &assertion));
		assert_eq!(
			last_event(),
			Event::CredentialStatusChanged {
				hash,
				status: CredentialStatus::Suspended,
				revision: 1
			}
		);
		assert_eq!(Pallet::<Test>::status_list(issuer), vec![(7, CredentialStatus::Suspended)]);
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::held(&subject(), &device_type(), &issuer),
			Some((hash, CredentialStatus::Suspended, 3))
		);
		assert_ok!(submit_change(change(hash, 2, CredentialStatus::Active), &assertion));
		assert!(Pallet::<Test>::status_list(issuer).is_empty());
		System::set_block_number(4);
		assert_ok!(submit_change(change(hash, 3, CredentialStatus::Revoked), &assertion));
		assert_eq!(Pallet::<Test>::status_list(issuer), vec![(7, CredentialStatus::Revoked)]);
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::status(&record(hash).unwrap().issuer, &hash),
			Some((CredentialStatus::Revoked, 4))
		);
		// Revocation is final.
		assert_noop!(
			submit_change(change(hash, 4, CredentialStatus::Active), &assertion),
			Error::<Test>::Revoked
		);
	});
}

#[test]
fn an_old_signed_change_cannot_undo_a_newer_one() {
	new_test_ext().execute_with(|| {
		let (_, assertion, hash) = anchored();
		let suspend = change(hash, 1, CredentialStatus::Suspended);
		let suspend_signature = assertion.sign(suspend.signing_hash(&genesis()));
		assert_ok!(Credentials::set_status(
			RuntimeOrigin::signed(BOB),
			suspend.clone(),
			suspend_signature.clone()
		));
		let reinstate = change(hash, 2, CredentialStatus::Active);
		let reinstate_signature = assertion.sign(reinstate.signing_hash(&genesis()));
		assert_ok!(Credentials::set_status(
			RuntimeOrigin::signed(BOB),
			reinstate.clone(),
			reinstate_signature.clone()
		));
		assert_ok!(submit_change(change(hash, 3, CredentialStatus::Suspended), &assertion));
		// The reinstatement seen on the wire, replayed: refused.
		assert_noop!(
			Credentials::set_status(RuntimeOrigin::signed(BOB), reinstate, reinstate_signature),
			Error::<Test>::WrongRevision
		);
		assert_noop!(
			Credentials::set_status(RuntimeOrigin::signed(BOB), suspend, suspend_signature),
			Error::<Test>::WrongRevision
		);
		assert_noop!(
			submit_change(change(hash, 9, CredentialStatus::Active), &assertion),
			Error::<Test>::WrongRevision
		);
		assert_noop!(
			submit_change(change(hash, 3, CredentialStatus::Revoked), &assertion),
			Error::<Test>::WrongRevision
		);
		assert_noop!(
			submit_change(change(hash, 4, CredentialStatus::Suspended), &assertion),
			Error::<Test>::StatusUnchanged
		);
		assert_noop!(
			submit_change(change(H256::repeat_byte(1), 1, CredentialStatus::Revoked), &assertion),
			Error::<Test>::NotFound
		);
	});
}

#[test]
fn only_the_issuers_current_assertion_key_changes_a_status() {
	new_test_ext().execute_with(|| {
		let authentication = Signer::ed(1);
		let assertion = Signer::k1(2);
		let issuer = issuer_did(&authentication, Some(&assertion));
		let anchor = anchor_of(issuer, b"c", 0);
		let hash = anchor.hash;
		assert_ok!(submit_anchor(anchor, &assertion));
		assert_noop!(
			submit_change(change(hash, 1, CredentialStatus::Revoked), &Signer::k1(9)),
			Error::<Test>::BadSignature
		);
		// The issuer rotates its assertion key: the old one no longer acts.
		let rotated = Signer::ed(3);
		did_update(issuer, &authentication, DidAction::SetAssertionKey(Some(rotated.key())));
		assert_noop!(
			submit_change(change(hash, 1, CredentialStatus::Revoked), &assertion),
			Error::<Test>::BadSignature
		);
		assert_ok!(submit_change(change(hash, 1, CredentialStatus::Revoked), &rotated));
		// Without an assertion key, nothing changes.
		let anchor = anchor_of(issuer, b"d", 1);
		let other = anchor.hash;
		assert_ok!(submit_anchor(anchor, &rotated));
		did_update(issuer, &authentication, DidAction::SetAssertionKey(None));
		assert_noop!(
			submit_change(change(other, 1, CredentialStatus::Revoked), &rotated),
			Error::<Test>::NoAssertionKey
		);
	});
}

#[test]
fn a_deactivated_issuers_credentials_count_as_revoked() {
	new_test_ext().execute_with(|| {
		let authentication = Signer::ed(1);
		let assertion = Signer::k1(2);
		let issuer = issuer_did(&authentication, Some(&assertion));
		let anchor = anchor_of(issuer, b"c", 3);
		let hash = anchor.hash;
		assert_ok!(submit_anchor(anchor, &assertion));
		System::set_block_number(9);
		did_update(issuer, &authentication, DidAction::Deactivate);
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::held(&subject(), &device_type(), &issuer),
			Some((hash, CredentialStatus::Revoked, 9))
		);
		assert_eq!(Pallet::<Test>::status_list(issuer), vec![(3, CredentialStatus::Revoked)]);
		// The record itself says what the issuer set; nobody can change it any more.
		assert_eq!(record(hash).unwrap().status, CredentialStatus::Active);
		assert_noop!(
			submit_change(change(hash, 1, CredentialStatus::Active), &assertion),
			Error::<Test>::NoAssertionKey
		);
	});
}

#[test]
fn a_newer_credential_replaces_what_a_subject_holds() {
	new_test_ext().execute_with(|| {
		let (issuer, assertion, first) = anchored();
		assert_ok!(submit_change(change(first, 1, CredentialStatus::Revoked), &assertion));
		let anchor = anchor_of(issuer, b"{\"credential\":2}", 8);
		let second = anchor.hash;
		assert_ok!(submit_anchor(anchor, &assertion));
		assert_eq!(
			<Pallet<Test> as CredentialsInspect<u64>>::held(&subject(), &device_type(), &issuer),
			Some((second, CredentialStatus::Active, 1))
		);
		// The revoked one keeps its bit.
		assert_eq!(Pallet::<Test>::status_list(issuer), vec![(7, CredentialStatus::Revoked)]);
	});
}

#[test]
fn a_revocation_cannot_be_held_off_by_a_leaked_change() {
	new_test_ext().execute_with(|| {
		let (_, assertion, hash) = anchored();
		// A reinstatement signed at revision 1 leaked; the issuer now revokes: its
		// revocation may take a later revision, whichever lands first.
		let leaked = change(hash, 1, CredentialStatus::Suspended);
		let leaked_signature = assertion.sign(leaked.signing_hash(&genesis()));
		assert_ok!(Credentials::set_status(RuntimeOrigin::signed(BOB), leaked, leaked_signature));
		assert_ok!(submit_change(change(hash, 5, CredentialStatus::Revoked), &assertion));
		assert_eq!(record(hash).unwrap().status, CredentialStatus::Revoked);
		assert_eq!(record(hash).unwrap().revision, 5);
	});
}

#[test]
fn anchoring_a_credentials_hash_first_under_another_did_blocks_nothing() {
	new_test_ext().execute_with(|| {
		let squatter_assertion = Signer::ed(8);
		let squatter = issuer_did(&Signer::ed(7), Some(&squatter_assertion));
		let squatted = anchor_of(squatter, b"{\"credential\":1}", 7);
		assert_ok!(submit_anchor(squatted, &squatter_assertion));
		// The real issuer anchors the same bytes: its own record.
		let (issuer, _, hash) = anchored();
		assert_eq!(Records::<Test>::get(issuer, hash).unwrap().issuer, issuer);
		assert_eq!(Records::<Test>::get(squatter, hash).unwrap().issuer, squatter);
		// Each issuer changes only its own record.
		let mut foreign = change(hash, 1, CredentialStatus::Revoked);
		foreign.issuer = issuer;
		assert_noop!(submit_change(foreign, &squatter_assertion), Error::<Test>::BadSignature);
	});
}
