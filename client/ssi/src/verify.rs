//! Verifying a VC-JOSE credential against the chain: the issuer's key as its DID had it,
//! the signature, the validity period, and the credential's anchor and status.
//!
//! A `did:w3b` issuer's key is the DID's assertion key at the block the credential was
//! anchored in (a key rotated since still verifies what it signed then), or its current
//! one for a credential never anchored. A `did:key` issuer (ed25519 or secp256k1) names
//! its key. A credential naming W3bstream status lists must be anchored, and is refused
//! unless its anchor is active; one with no status entry and no anchor verifies on its
//! signature alone, as with any VC verifier.

use serde_json::{json, Value};
use sp_core::H256;
use w3b_primitives::{
	credential::{credential_hash_of, CredentialStatus, CredentialType},
	did::{parse_did, DidId, DidState, KeyPurpose},
	DeviceKey,
};

use crate::{
	credential::{did_key, parse_date_time, Jws},
	document::{public_key_multibase, verification_method_id},
};

/// What the chain says about an anchored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
	/// Its issuer.
	pub issuer: DidId,
	/// Its type.
	pub credential_type: CredentialType,
	/// Its subject, if a `did:w3b` DID.
	pub subject: Option<DidId>,
	/// Its status as verifiers take it.
	pub status: CredentialStatus,
	/// The block that status holds from.
	pub status_since: u64,
	/// The block it was anchored in.
	pub anchored_at: u64,
	/// Its index in the issuer's status lists.
	pub status_index: u32,
}

/// What the chain holds about a batch's proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFacts {
	/// The batch's Merkle root.
	pub merkle_root: H256,
	/// The agreed output root, once finalized.
	pub output_root: Option<H256>,
}

/// The type of a credential stating a finalized W3bstream proof.
pub const PROOF_CREDENTIAL: &str = "W3bstreamProofCredential";

/// What a verifier reads from the chain (at its best block).
pub trait Chain {
	/// The chain's account ids.
	type AccountId;
	/// The chain's balances.
	type Balance;
	/// The chain's block numbers.
	type BlockNumber: Copy + PartialOrd + Into<u64> + TryFrom<u64>;
	/// The state of a `did:w3b` DID.
	fn did(
		&self,
		did: DidId,
	) -> Result<DidState<Self::AccountId, Self::Balance, Self::BlockNumber>, String>;
	/// `issuer`'s anchor of the credential `hash`.
	fn anchor(&self, issuer: DidId, hash: H256) -> Result<Option<Anchor>, String>;
	/// The proof of batch `seq` of `project`, while the chain holds it.
	fn proof(&self, project: u64, seq: u64) -> Result<Option<ProofFacts>, String>;
	/// The chain's genesis hash.
	fn genesis(&self) -> H256;
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
	/// Whether the credential holds: every check passed.
	pub verified: bool,
	/// The hash the chain names it by.
	pub hash: Option<H256>,
	/// Its issuer.
	pub issuer: Option<String>,
	/// Its subject's id.
	pub subject: Option<String>,
	/// Its types.
	pub types: Vec<String>,
	/// `active`, `suspended`, `revoked`, or `unanchored`.
	pub status: Option<&'static str>,
	/// The block it was anchored in.
	pub anchored_at: Option<u64>,
	/// For a proof credential: `matches` when the chain's finalized proof says the same.
	pub proof: Option<&'static str>,
	/// What failed, in words.
	pub errors: Vec<String>,
}

impl Verification {
	/// As JSON (the `w3b_verifyCredential` answer and `wallet verify --json`).
	pub fn to_json(&self) -> Value {
		json!({
			"verified": self.verified,
			"hash": self.hash,
			"issuer": self.issuer,
			"subject": self.subject,
			"types": self.types,
			"status": self.status,
			"anchoredAt": self.anchored_at,
			"proof": self.proof,
			"errors": self.errors,
		})
	}
}

/// The key `did` held for `purpose` at block `at` (now if `None`), which the JWS header's
/// `kid` must name: a `did:key` names its own; a `did:w3b` DID's is read from `chain`.
fn signer_key<C: Chain>(
	chain: &C,
	did: &str,
	kid: &str,
	purpose: KeyPurpose,
	at: Option<u64>,
) -> Result<DeviceKey, String> {
	if let Some(key) = did_key(did) {
		let method = format!("{did}#{}", public_key_multibase(&key));
		return if kid == method { Ok(key) } else { Err(format!("the key {kid} is not {method}")) };
	}
	let id = parse_did(did).map_err(|e| format!("{did}: {e}"))?;
	let state = chain.did(id).map_err(|e| format!("resolving {did}: {e}"))?;
	let role = match purpose {
		KeyPurpose::Authentication => "authentication",
		KeyPurpose::AssertionMethod => "assertion",
		KeyPurpose::CapabilityDelegation => "delegation",
	};
	// A block number the chain cannot have held no key.
	let at = at.map(|at| C::BlockNumber::try_from(at).ok());
	let key = match at {
		Some(None) => None,
		Some(Some(at)) => state.key_at(purpose, Some(at)),
		None => state.key_at(purpose, None),
	};
	let key = key.ok_or_else(|| match &state {
		DidState::Deactivated(at) => {
			format!("{did} was deactivated at block {}", Into::<u64>::into(*at))
		}
		DidState::Unknown => format!("{did} does not exist"),
		DidState::Active { .. } => format!("{did} had no {role} key then"),
	})?;
	let method = verification_method_id(&id, &key);
	if kid != method {
		return Err(format!("the key {kid} is not {did}'s {role} key {method}"));
	}
	Ok(key)
}

/// Most credentials one presentation may hold.
pub const MAX_PRESENTED_CREDENTIALS: usize = 16;

/// The outcome of a presentation's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationVerification {
	/// Whether the presentation holds: the holder signed it for this nonce and audience,
	/// and every credential in it verifies and is about the holder.
	pub verified: bool,
	/// The holder.
	pub holder: Option<String>,
	/// Each credential's verification.
	pub credentials: Vec<Verification>,
	/// What failed, in words.
	pub errors: Vec<String>,
}

impl PresentationVerification {
	/// As JSON.
	pub fn to_json(&self) -> Value {
		json!({
			"verified": self.verified,
			"holder": self.holder,
			"credentials": self.credentials.iter().map(Verification::to_json).collect::<Vec<_>>(),
			"errors": self.errors,
		})
	}
}

/// Verifies the compact VP-JOSE presentation `compact` (`typ: vp+jwt`) at Unix time `now`
/// against `chain`: signed by the holder's authentication key, for `nonce` and `audience`
/// (so it is not replayed to another verifier or later), every enveloped credential
/// verifies ([`verify_credential`]) and names the holder as its subject.
pub fn verify_presentation(
	compact: &str,
	chain: &impl Chain,
	now: u64,
	nonce: &str,
	audience: &str,
) -> PresentationVerification {
	let mut outcome = PresentationVerification {
		verified: false,
		holder: None,
		credentials: Vec::new(),
		errors: Vec::new(),
	};
	let jws = match Jws::parse(compact) {
		Ok(jws) => jws,
		Err(e) => {
			outcome.errors.push(e.to_string());
			return outcome;
		}
	};
	let claims = &jws.claims;
	let errors = &mut outcome.errors;
	if jws.header["typ"] != "vp+jwt" {
		errors.push(format!("the header's typ is {}, not vp+jwt", jws.header["typ"]));
	}
	if !claims["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "VerifiablePresentation")) {
		errors.push("the type list lacks VerifiablePresentation".into());
	}
	if claims["nonce"].as_str() != Some(nonce) {
		errors.push("the presentation was made for another nonce".into());
	}
	if claims["aud"].as_str() != Some(audience) {
		errors.push("the presentation was made for another audience".into());
	}
	let Some(holder) = claims["holder"].as_str() else {
		errors.push("no holder".into());
		return outcome;
	};
	outcome.holder = Some(holder.to_string());
	let kid = jws.kid().unwrap_or_default();
	if kid.split('#').next() != Some(holder) {
		errors.push(format!("the key {kid} is not the holder's ({holder})"));
	} else {
		match signer_key(chain, holder, kid, KeyPurpose::Authentication, None) {
			Ok(key) => {
				if let Err(e) = jws.verify(&key) {
					errors.push(e.to_string());
				}
			}
			Err(e) => errors.push(e),
		}
	}
	let envelopes = claims["verifiableCredential"].as_array().map_or(&[][..], Vec::as_slice);
	// Each credential costs chain reads: a presentation a stranger sends is checked for at
	// most this many.
	if envelopes.len() > MAX_PRESENTED_CREDENTIALS {
		outcome.errors.push(format!(
			"the presentation holds {} credentials, more than the {MAX_PRESENTED_CREDENTIALS} \
			 checked",
			envelopes.len()
		));
		return outcome;
	}
	for envelope in envelopes {
		let Some(credential) = envelope["id"].as_str().and_then(|id| {
			id.strip_prefix(&format!("data:{},", crate::credential::CREDENTIAL_MEDIA_TYPE))
		}) else {
			errors.push("a credential is not an enveloped application/vc+jwt one".into());
			continue;
		};
		let verification = verify_credential(credential, chain, now);
		if !verification.verified {
			errors.push("a credential does not verify".into());
		}
		if verification.subject.as_deref() != Some(holder) {
			errors.push("a credential is about someone else than the holder".into());
		}
		outcome.credentials.push(verification);
	}
	if outcome.credentials.is_empty() {
		outcome.errors.push("the presentation holds no credential".into());
	}
	outcome.verified = outcome.errors.is_empty();
	outcome
}

/// Verifies the compact VC-JOSE credential `compact` at Unix time `now` against `chain`.
pub fn verify_credential(compact: &str, chain: &impl Chain, now: u64) -> Verification {
	let mut outcome = Verification {
		verified: false,
		hash: None,
		issuer: None,
		subject: None,
		types: Vec::new(),
		status: None,
		anchored_at: None,
		proof: None,
		errors: Vec::new(),
	};
	let jws = match Jws::parse(compact) {
		Ok(jws) => jws,
		Err(e) => {
			outcome.errors.push(e.to_string());
			return outcome;
		}
	};
	let hash = credential_hash_of(&jws.payload);
	outcome.hash = Some(hash);
	let claims = &jws.claims;
	outcome.types = claims["type"]
		.as_array()
		.map(|types| types.iter().filter_map(|t| t.as_str().map(String::from)).collect())
		.unwrap_or_default();
	outcome.subject = claims["credentialSubject"]["id"].as_str().map(String::from);
	let issuer = claims["issuer"].as_str().or_else(|| claims["issuer"]["id"].as_str());
	outcome.issuer = issuer.map(String::from);
	let errors = &mut outcome.errors;
	if jws.header["typ"].as_str().is_some_and(|typ| typ != "vc+jwt") {
		errors.push(format!("the header's typ is {}, not vc+jwt", jws.header["typ"]));
	}
	if claims["@context"].get(0).and_then(Value::as_str) != Some(crate::credential::VC_CONTEXT) {
		errors.push("the first @context is not the VC 2.0 context".into());
	}
	if !outcome.types.iter().any(|t| t == "VerifiableCredential") {
		errors.push("the type list lacks VerifiableCredential".into());
	}
	let Some(issuer) = issuer else {
		errors.push("no issuer".into());
		return outcome;
	};
	let Some(kid) = jws.kid() else {
		errors.push("the header names no key (kid)".into());
		return outcome;
	};
	if kid.split('#').next() != Some(issuer) {
		errors.push(format!("the key {kid} is not the issuer's ({issuer})"));
		return outcome;
	}

	// Only the issuer's own anchor counts (another DID may anchor the same bytes).
	let anchor = match parse_did(issuer).ok().map(|id| chain.anchor(id, hash)).transpose() {
		Ok(anchor) => anchor.flatten(),
		Err(e) => {
			errors.push(format!("reading the credential's anchor: {e}"));
			return outcome;
		}
	};
	// The issuer's key.
	let at = anchor.as_ref().map(|anchor| anchor.anchored_at);
	let key = match signer_key(chain, issuer, kid, KeyPurpose::AssertionMethod, at) {
		Ok(key) => Some(key),
		Err(e) => {
			errors.push(e);
			None
		}
	};
	if let Some(key) = key {
		if let Err(e) = jws.verify(&key) {
			errors.push(e.to_string());
		}
	}

	// Validity period.
	for (field, must_be_past) in [("validFrom", true), ("validUntil", false)] {
		if let Some(value) = claims.get(field) {
			match value.as_str().and_then(parse_date_time) {
				None => errors.push(format!("{field} is not a UTC date-time")),
				Some(at) if must_be_past && at > now => {
					errors.push(format!("not valid before {}", value.as_str().unwrap_or_default()))
				}
				Some(at) if !must_be_past && at <= now => {
					errors.push(format!("expired at {}", value.as_str().unwrap_or_default()))
				}
				Some(_) => {}
			}
		}
	}

	// Status.
	let entries: Vec<&Value> = match &claims["credentialStatus"] {
		Value::Array(entries) => entries.iter().collect(),
		Value::Null => Vec::new(),
		entry => vec![entry],
	};
	let list_entries: Vec<&Value> =
		entries.into_iter().filter(|e| e["type"] == "BitstringStatusListEntry").collect();
	let names_status_list = !list_entries.is_empty();
	match anchor {
		Some(anchor) => {
			outcome.anchored_at = Some(anchor.anchored_at);
			// What JSON-only verifiers read must be what the chain's status says: the
			// anchored index, in the issuer's own lists.
			for entry in &list_entries {
				let purpose = entry["statusPurpose"].as_str().unwrap_or_default();
				let index = entry["statusListIndex"].as_str().and_then(|i| i.parse::<u32>().ok());
				let list = entry["statusListCredential"].as_str().unwrap_or_default();
				if !matches!(purpose, "revocation" | "suspension")
					|| index != Some(anchor.status_index)
					|| !list.ends_with(&format!("/1.0/status/{issuer}/{purpose}"))
				{
					errors.push(format!(
						"a status entry does not point at index {} of the issuer's lists",
						anchor.status_index
					));
				}
			}
			outcome.status = Some(match anchor.status {
				CredentialStatus::Active => "active",
				CredentialStatus::Suspended => "suspended",
				CredentialStatus::Revoked => "revoked",
			});
			if anchor.status != CredentialStatus::Active {
				errors.push(format!(
					"{} since block {}",
					outcome.status.unwrap_or_default(),
					anchor.status_since
				));
			}
		}
		None => {
			outcome.status = Some("unanchored");
			if names_status_list {
				errors.push(
					"the credential names status lists but is not anchored on this chain".into(),
				);
			}
		}
	}
	if outcome.types.iter().any(|t| t == PROOF_CREDENTIAL) {
		match check_proof(&claims["credentialSubject"], chain) {
			Ok(found) => outcome.proof = Some(found),
			Err(e) => outcome.errors.push(e),
		}
	}
	outcome.verified = outcome.errors.is_empty();
	outcome
}

/// Checks a proof credential's subject against the chain's proof of its batch: the
/// chain named is this one, the output root is that of the state root and outputs the
/// credential states, and the chain finalized this batch with these roots. A proof the
/// chain no longer holds (pruned from the commitment window) or never held cannot be
/// checked: nothing but the issuer's word vouches for it, and it is refused.
fn check_proof(subject: &Value, chain: &impl Chain) -> Result<&'static str, String> {
	let number = |field: &str| {
		subject[field].as_u64().ok_or_else(|| format!("the proof's {field} is not a number"))
	};
	let root = |field: &str| {
		subject[field]
			.as_str()
			.and_then(|text| text.parse::<H256>().ok())
			.ok_or_else(|| format!("the proof's {field} is not a 0x hash"))
	};
	if root("chain")? != chain.genesis() {
		return Err("the proof is of another chain (its genesis hash differs)".into());
	}
	let (project, batch) = (number("project")?, number("batch")?);
	let (merkle_root, output_root) = (root("merkleRoot")?, root("outputRoot")?);
	let outputs = subject["outputs"]
		.as_array()
		.ok_or("the proof's outputs are not a list")?
		.iter()
		.map(|output| {
			output
				.as_str()
				.and_then(|text| sp_core::bytes::from_hex(text).ok())
				.and_then(|bytes| w3b_primitives::proof::Output::try_from(bytes).ok())
				.ok_or_else(|| "an output of the proof is not 0x hex of an output".to_string())
		})
		.collect::<Result<Vec<_>, _>>()?;
	if w3b_primitives::proof::output_root(&root("stateRoot")?, &outputs) != output_root {
		return Err("the proof's output root is not that of its state root and outputs".into());
	}
	match chain.proof(project, batch)? {
		None => Err(format!(
			"the chain holds no proof of batch {batch} of project {project} (never committed, \
			 or pruned from its window): it cannot be checked"
		)),
		Some(facts) if facts.merkle_root != merkle_root => {
			Err(format!("the chain's batch {batch} of project {project} has another Merkle root"))
		}
		Some(ProofFacts { output_root: None, .. }) => {
			Err(format!("batch {batch} of project {project} is not finalized on chain"))
		}
		Some(ProofFacts { output_root: Some(agreed), .. }) if agreed != output_root => {
			Err(format!(
				"the chain finalized batch {batch} of project {project} with another output root"
			))
		}
		Some(_) => Ok("matches"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::credential::{credential_header, encode, status_entries, VC_CONTEXT};
	use sp_core::{ed25519, Pair};
	use std::{cell::RefCell, collections::BTreeMap};
	use w3b_primitives::did::format_did;
	use w3b_primitives::did::{did_id_of, DidDocument, KeyEntry, RetiredKey};

	/// A chain in memory: DID states and anchors the test sets.
	#[derive(Default)]
	struct Memory {
		dids: RefCell<BTreeMap<DidId, DidState<(), (), u64>>>,
		anchors: RefCell<BTreeMap<(DidId, H256), Anchor>>,
		proofs: RefCell<BTreeMap<(u64, u64), ProofFacts>>,
	}

	impl Chain for Memory {
		type AccountId = ();
		type Balance = ();
		type BlockNumber = u64;
		fn did(&self, did: DidId) -> Result<DidState<(), (), u64>, String> {
			Ok(self.dids.borrow().get(&did).cloned().unwrap_or(DidState::Unknown))
		}
		fn anchor(&self, issuer: DidId, hash: H256) -> Result<Option<Anchor>, String> {
			Ok(self.anchors.borrow().get(&(issuer, hash)).cloned())
		}
		fn proof(&self, project: u64, seq: u64) -> Result<Option<ProofFacts>, String> {
			Ok(self.proofs.borrow().get(&(project, seq)).cloned())
		}
		fn genesis(&self) -> H256 {
			H256::repeat_byte(0x99)
		}
	}

	fn key_of(pair: &ed25519::Pair) -> DeviceKey {
		DeviceKey::Ed25519(pair.public().0)
	}

	/// An issuer DID whose authentication key is `pair`'s and assertion key is
	/// `assertion`'s since block 1.
	fn issuer(chain: &Memory, pair: &ed25519::Pair, assertion: &ed25519::Pair) -> DidId {
		let did = did_id_of(&key_of(pair));
		let document = DidDocument {
			authentication: KeyEntry { key: key_of(pair), since: 1 },
			assertion: Some(KeyEntry { key: key_of(assertion), since: 1 }),
			delegation: None,
			key_agreement: Default::default(),
			services: Default::default(),
			controller: None,
			counter: 0,
			depositor: (),
			deposit: (),
			created_at: 1,
			updated_at: 1,
		};
		chain.dids.borrow_mut().insert(did, DidState::Active { document, retired: vec![] });
		did
	}

	fn credential(issuer: &str, extra: Value) -> Value {
		let mut credential = json!({
			"@context": [VC_CONTEXT],
			"type": ["VerifiableCredential", "GenuineDeviceCredential"],
			"issuer": issuer,
			"validFrom": "2026-01-01T00:00:00Z",
			"credentialSubject": {"id": "did:w3b:subject", "model": "T-1000"},
		});
		if let (Some(target), Value::Object(extra)) = (credential.as_object_mut(), extra) {
			target.extend(extra);
		}
		credential
	}

	fn sign(pair: &ed25519::Pair, kid: &str, payload: &Value) -> String {
		encode(credential_header(kid), payload, &key_of(pair), |input| {
			Some(pair.sign(input).0.to_vec())
		})
		.unwrap()
	}

	const NOW: u64 = 1_796_378_400;

	fn anchor(chain: &Memory, compact: &str, issuer: DidId, status: CredentialStatus) {
		let hash = credential_hash_of(&Jws::parse(compact).unwrap().payload);
		chain.anchors.borrow_mut().insert(
			(issuer, hash),
			Anchor {
				issuer,
				credential_type: H256::zero(),
				subject: None,
				status,
				status_since: 5,
				anchored_at: 3,
				status_index: 4,
			},
		);
	}

	#[test]
	fn an_anchored_active_credential_verifies_and_a_revoked_one_does_not() {
		let chain = Memory::default();
		let (auth, assertion) =
			(ed25519::Pair::from_seed(&[1; 32]), ed25519::Pair::from_seed(&[2; 32]));
		let did = issuer(&chain, &auth, &assertion);
		let name = format_did(&did);
		let kid = verification_method_id(&did, &key_of(&assertion));
		let payload =
			credential(&name, json!({"credentialStatus": status_entries("http://n", &name, 4)}));
		let compact = sign(&assertion, &kid, &payload);
		// Not anchored: it names status lists, so it is refused.
		let outcome = verify_credential(&compact, &chain, NOW);
		assert!(!outcome.verified);
		assert_eq!(outcome.status, Some("unanchored"));
		anchor(&chain, &compact, did, CredentialStatus::Active);
		let outcome = verify_credential(&compact, &chain, NOW);
		assert!(outcome.verified, "{:?}", outcome.errors);
		assert_eq!(outcome.issuer.as_deref(), Some(name.as_str()));
		assert_eq!(outcome.subject.as_deref(), Some("did:w3b:subject"));
		assert_eq!(outcome.anchored_at, Some(3));
		for (status, word) in
			[(CredentialStatus::Suspended, "suspended"), (CredentialStatus::Revoked, "revoked")]
		{
			anchor(&chain, &compact, did, status);
			let outcome = verify_credential(&compact, &chain, NOW);
			assert!(!outcome.verified);
			assert_eq!(outcome.status, Some(word));
			assert_eq!(outcome.errors, vec![format!("{word} since block 5")]);
		}
	}

	#[test]
	fn the_issuers_authentication_key_or_a_strangers_does_not_sign_credentials() {
		let chain = Memory::default();
		let (auth, assertion) =
			(ed25519::Pair::from_seed(&[1; 32]), ed25519::Pair::from_seed(&[2; 32]));
		let did = issuer(&chain, &auth, &assertion);
		let name = format_did(&did);
		let payload = credential(&name, json!({}));
		let by_authentication =
			sign(&auth, &verification_method_id(&did, &key_of(&auth)), &payload);
		assert!(!verify_credential(&by_authentication, &chain, NOW).verified);
		// A stranger's signature under the issuer's kid.
		let stranger = ed25519::Pair::from_seed(&[9; 32]);
		let forged = sign(&stranger, &verification_method_id(&did, &key_of(&assertion)), &payload);
		let outcome = verify_credential(&forged, &chain, NOW);
		assert_eq!(outcome.errors, vec!["the signature does not verify".to_string()]);
		// A kid of another DID than the issuer.
		let other = sign(&assertion, "did:w3b:other#k-1", &payload);
		assert!(!verify_credential(&other, &chain, NOW).verified);
	}

	#[test]
	fn a_rotated_key_verifies_what_it_signed_while_it_held() {
		let chain = Memory::default();
		let (auth, old) = (ed25519::Pair::from_seed(&[1; 32]), ed25519::Pair::from_seed(&[2; 32]));
		let did = issuer(&chain, &auth, &old);
		let name = format_did(&did);
		let kid = verification_method_id(&did, &key_of(&old));
		let compact = sign(&old, &kid, &credential(&name, json!({})));
		anchor(&chain, &compact, did, CredentialStatus::Active);
		// Rotated at block 10: the anchor (block 3) was under the old key.
		let new = ed25519::Pair::from_seed(&[3; 32]);
		if let Some(DidState::Active { document, retired }) = chain.dids.borrow_mut().get_mut(&did)
		{
			document.assertion = Some(KeyEntry { key: key_of(&new), since: 10 });
			retired.push(RetiredKey {
				purpose: KeyPurpose::AssertionMethod,
				key: key_of(&old),
				since: 1,
				until: 10,
			});
		}
		assert!(verify_credential(&compact, &chain, NOW).verified);
		// Signed by the old key but never anchored: checked against the current key.
		let unanchored = sign(&old, &kid, &credential(&name, json!({"n": 2})));
		assert!(!verify_credential(&unanchored, &chain, NOW).verified);
	}

	#[test]
	fn did_key_issuers_and_validity_periods() {
		let chain = Memory::default();
		let pair = ed25519::Pair::from_seed(&[5; 32]);
		let multibase = public_key_multibase(&key_of(&pair));
		let issuer = format!("did:key:{multibase}");
		let kid = format!("{issuer}#{multibase}");
		let compact = sign(&pair, &kid, &credential(&issuer, json!({})));
		let outcome = verify_credential(&compact, &chain, NOW);
		assert!(outcome.verified, "{:?}", outcome.errors);
		assert_eq!(outcome.status, Some("unanchored"));
		let early =
			sign(&pair, &kid, &credential(&issuer, json!({"validFrom": "2027-01-01T00:00:00Z"})));
		assert!(!verify_credential(&early, &chain, NOW).verified);
		let expired =
			sign(&pair, &kid, &credential(&issuer, json!({"validUntil": "2026-06-01T00:00:00Z"})));
		assert_eq!(
			verify_credential(&expired, &chain, NOW).errors,
			vec!["expired at 2026-06-01T00:00:00Z".to_string()]
		);
		assert!(!verify_credential("not.a.jws", &chain, NOW).verified);
	}

	#[test]
	fn a_proof_credential_must_say_what_the_chain_finalized() {
		let chain = Memory::default();
		let pair = ed25519::Pair::from_seed(&[5; 32]);
		let multibase = public_key_multibase(&key_of(&pair));
		let issuer = format!("did:key:{multibase}");
		let kid = format!("{issuer}#{multibase}");
		let state_root = H256::repeat_byte(4);
		let outputs =
			|byte: u8| vec![w3b_primitives::proof::Output::try_from(vec![byte; 3]).unwrap()];
		let agreed = w3b_primitives::proof::output_root(&state_root, &outputs(1));
		let proof = |chain_id: H256, output_root: H256, stated: u8| {
			let mut payload = credential(&issuer, json!({}));
			payload["type"] = json!(["VerifiableCredential", PROOF_CREDENTIAL]);
			payload["credentialSubject"] = json!({
				"id": "urn:w3b:test:project:3:batch:9",
				"chain": chain_id,
				"project": 3,
				"batch": 9,
				"merkleRoot": H256::repeat_byte(1),
				"outputRoot": output_root,
				"stateRoot": state_root,
				"outputs": [format!("0x{stated:02x}{stated:02x}{stated:02x}")],
			});
			sign(&pair, &kid, &payload)
		};
		let honest = proof(H256::repeat_byte(0x99), agreed, 1);
		// Not held by the chain (pruned, or never committed): nothing vouches for it.
		assert!(!verify_credential(&honest, &chain, NOW).verified);
		chain
			.proofs
			.borrow_mut()
			.insert((3, 9), ProofFacts { merkle_root: H256::repeat_byte(1), output_root: None });
		assert!(!verify_credential(&honest, &chain, NOW).verified, "not finalized yet");
		chain.proofs.borrow_mut().insert(
			(3, 9),
			ProofFacts { merkle_root: H256::repeat_byte(1), output_root: Some(agreed) },
		);
		let outcome = verify_credential(&honest, &chain, NOW);
		assert!(outcome.verified, "{:?}", outcome.errors);
		assert_eq!(outcome.proof, Some("matches"));
		// Outputs other than those the output root binds.
		let doctored = proof(H256::repeat_byte(0x99), agreed, 2);
		assert_eq!(
			verify_credential(&doctored, &chain, NOW).errors,
			vec!["the proof's output root is not that of its state root and outputs".to_string()]
		);
		// Another output root, consistent with other outputs: the chain did not finalize it.
		let forged_root = w3b_primitives::proof::output_root(&state_root, &outputs(2));
		let forged = proof(H256::repeat_byte(0x99), forged_root, 2);
		assert_eq!(
			verify_credential(&forged, &chain, NOW).errors,
			vec!["the chain finalized batch 9 of project 3 with another output root".to_string()]
		);
		// Another chain's.
		let foreign = proof(H256::repeat_byte(1), agreed, 1);
		assert!(!verify_credential(&foreign, &chain, NOW).verified);
	}

	#[test]
	fn a_presentation_binds_holder_nonce_and_audience() {
		use crate::credential::{presentation, presentation_header};
		let chain = Memory::default();
		let issuer_pair = ed25519::Pair::from_seed(&[5; 32]);
		let issuer_mb = public_key_multibase(&key_of(&issuer_pair));
		let issuer = format!("did:key:{issuer_mb}");
		let holder_pair = ed25519::Pair::from_seed(&[6; 32]);
		let holder_mb = public_key_multibase(&key_of(&holder_pair));
		let holder = format!("did:key:{holder_mb}");
		let about = |subject: &str| {
			let mut payload = credential(&issuer, json!({}));
			payload["credentialSubject"]["id"] = json!(subject);
			sign(&issuer_pair, &format!("{issuer}#{issuer_mb}"), &payload)
		};
		let present = |pair: &ed25519::Pair, credentials: &[String]| {
			encode(
				presentation_header(&format!("{holder}#{holder_mb}")),
				&presentation(&holder, credentials, "n-1", "did:w3b:verifier"),
				&key_of(pair),
				|input| Some(pair.sign(input).0.to_vec()),
			)
			.unwrap()
		};
		let mine = about(&holder);
		let vp = present(&holder_pair, &[mine.clone()]);
		let outcome = verify_presentation(&vp, &chain, NOW, "n-1", "did:w3b:verifier");
		assert!(outcome.verified, "{:?}", outcome.errors);
		assert_eq!(outcome.credentials.len(), 1);
		// Replayed for another nonce or verifier.
		assert!(!verify_presentation(&vp, &chain, NOW, "n-2", "did:w3b:verifier").verified);
		assert!(!verify_presentation(&vp, &chain, NOW, "n-1", "did:w3b:other").verified);
		// Someone else's credential, or signed by another key than the holder's.
		let theirs = present(&holder_pair, &[about("did:w3b:someone")]);
		assert!(!verify_presentation(&theirs, &chain, NOW, "n-1", "did:w3b:verifier").verified);
		let stolen = present(&issuer_pair, &[mine]);
		assert!(!verify_presentation(&stolen, &chain, NOW, "n-1", "did:w3b:verifier").verified);
		let empty = present(&holder_pair, &[]);
		assert!(!verify_presentation(&empty, &chain, NOW, "n-1", "did:w3b:verifier").verified);
	}
}
