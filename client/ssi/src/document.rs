//! W3C DID documents (DID Core 1.0) and DID Resolution results for `did:w3b` DIDs.
//!
//! Keys are `Multikey` verification methods (`publicKeyMultibase`: `z` + base58btc of
//! the key's multicodec prefix and bytes: ed25519-pub, secp256k1-pub (compressed),
//! sr25519-pub, x25519-pub), named `#k-` and the first 8 bytes of the `blake2_256` of
//! the key in hex, so a key keeps its id when it changes purpose. A secp256k1
//! authentication key that named the DID (its creation proves it is the holder's) also
//! names the DID's IoTeX ioID in `alsoKnownAs` (`did:io:0x<address>`).

use codec::Encode;
use serde_json::{json, Map, Value};
use w3b_primitives::{
	did::{
		did_id_of, format_did, io_did, parse_did, DidDocument, DidId, DidParseError, DidState,
		X25519Key,
	},
	DeviceKey,
};

/// Media type of the documents.
pub const CONTENT_TYPE: &str = "application/did+ld+json";

/// What a resolution found, before it is written out as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<AccountId, Balance, BlockNumber> {
	/// The string is not a DID this method resolves.
	Invalid(DidParseError),
	/// The chain's state about the DID.
	Found(DidId, DidState<AccountId, Balance, BlockNumber>),
}

/// The id of `key`'s verification method in the document of `did`.
pub fn verification_method_id(did: &DidId, key: &DeviceKey) -> String {
	format!("{}#k-{}", format_did(did), hex8(&key.encode()))
}

fn key_agreement_id(did: &DidId, key: &X25519Key) -> String {
	format!("{}#x-{}", format_did(did), hex8(&key.0))
}

fn hex8(bytes: &[u8]) -> String {
	let hash = sp_io::hashing::blake2_256(bytes);
	sp_core::hexdisplay::HexDisplay::from(&&hash[..8]).to_string()
}

fn multibase(prefix: [u8; 2], key: &[u8]) -> String {
	let mut bytes = prefix.to_vec();
	bytes.extend_from_slice(key);
	format!("z{}", bs58::encode(bytes).into_string())
}

/// `key` as `publicKeyMultibase`.
pub fn public_key_multibase(key: &DeviceKey) -> String {
	match key {
		DeviceKey::Ed25519(bytes) => multibase([0xed, 0x01], bytes),
		DeviceKey::Sr25519(bytes) => multibase([0xef, 0x01], bytes),
		DeviceKey::Secp256k1(bytes) => multibase([0xe7, 0x01], bytes),
	}
}

fn method(did: &DidId, key: &DeviceKey) -> Value {
	json!({
		"id": verification_method_id(did, key),
		"type": "Multikey",
		"controller": format_did(did),
		"publicKeyMultibase": public_key_multibase(key),
	})
}

/// The DID document of `did`.
pub fn did_document<AccountId, Balance, BlockNumber: Copy>(
	did: &DidId,
	document: &DidDocument<AccountId, Balance, BlockNumber>,
) -> Value {
	let mut methods: Vec<Value> = Vec::new();
	let mut relationship = |key: Option<&DeviceKey>| -> Vec<String> {
		let Some(key) = key else { return Vec::new() };
		let id = verification_method_id(did, key);
		if !methods.iter().any(|m| m["id"] == id) {
			methods.push(method(did, key));
		}
		vec![id]
	};
	let authentication = relationship(Some(&document.authentication.key));
	let assertion = relationship(document.assertion.as_ref().map(|e| &e.key));
	let delegation = relationship(document.delegation.as_ref().map(|e| &e.key));
	let mut key_agreement = Vec::new();
	for key in document.key_agreement.iter() {
		key_agreement.push(key_agreement_id(did, key));
		methods.push(json!({
			"id": key_agreement_id(did, key),
			"type": "Multikey",
			"controller": format_did(did),
			"publicKeyMultibase": multibase([0xec, 0x01], &key.0),
		}));
	}
	let mut out = Map::new();
	out.insert(
		"@context".into(),
		json!(["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]),
	);
	out.insert("id".into(), json!(format_did(did)));
	if let Some(controller) = &document.controller {
		out.insert("controller".into(), json!([format_did(did), format_did(controller)]));
	}
	// Only the key that named the DID proved it is the holder's (its creation is signed
	// by it); a key set by an operation could be anyone's public key, and its alias would
	// claim another's IoTeX identity.
	if did_id_of(&document.authentication.key) == *did {
		if let Some(io) = io_did(&document.authentication.key) {
			out.insert("alsoKnownAs".into(), json!([io]));
		}
	}
	out.insert("verificationMethod".into(), Value::Array(methods));
	out.insert("authentication".into(), json!(authentication));
	for (name, ids) in [
		("assertionMethod", assertion),
		("capabilityDelegation", delegation),
		("keyAgreement", key_agreement),
	] {
		if !ids.is_empty() {
			out.insert(name.into(), json!(ids));
		}
	}
	if !document.services.is_empty() {
		let services: Vec<Value> = document
			.services
			.iter()
			.map(|s| {
				json!({
					"id": format!("{}#{}", format_did(did), String::from_utf8_lossy(&s.id)),
					"type": String::from_utf8_lossy(&s.service_type),
					"serviceEndpoint": String::from_utf8_lossy(&s.endpoint),
				})
			})
			.collect();
		out.insert("service".into(), Value::Array(services));
	}
	Value::Object(out)
}

/// Reads `did` with `read` (the chain's state at some block) as a [`Resolution`].
pub fn resolve<AccountId, Balance, BlockNumber, E>(
	did: &str,
	read: impl FnOnce(DidId) -> Result<DidState<AccountId, Balance, BlockNumber>, E>,
) -> Result<Resolution<AccountId, Balance, BlockNumber>, E> {
	match parse_did(did) {
		Ok(id) => Ok(Resolution::Found(id, read(id)?)),
		Err(error) => Ok(Resolution::Invalid(error)),
	}
}

/// The W3C DID Resolution result (`didDocument`, `didResolutionMetadata`,
/// `didDocumentMetadata`) of `resolution`. Block numbers stand in for times:
/// `versionId` is the block of the last change, and `w3b` holds the blocks of creation,
/// last change or deactivation, and the retired keys with the blocks they held their
/// purpose in (the current document does not list them; signatures they made then
/// still verify).
pub fn resolution<AccountId, Balance, BlockNumber: Copy + Into<u64>>(
	resolution: &Resolution<AccountId, Balance, BlockNumber>,
) -> Value {
	let context = "https://w3id.org/did-resolution/v1";
	match resolution {
		Resolution::Invalid(DidParseError::NotW3b) => json!({
			"@context": context,
			"didDocument": null,
			"didResolutionMetadata": {"error": "methodNotSupported", "errorMessage": DidParseError::NotW3b.to_string()},
			"didDocumentMetadata": {},
		}),
		Resolution::Invalid(error) => json!({
			"@context": context,
			"didDocument": null,
			"didResolutionMetadata": {"error": "invalidDid", "errorMessage": error.to_string()},
			"didDocumentMetadata": {},
		}),
		Resolution::Found(_, DidState::Unknown) => json!({
			"@context": context,
			"didDocument": null,
			"didResolutionMetadata": {"error": "notFound"},
			"didDocumentMetadata": {},
		}),
		Resolution::Found(did, DidState::Deactivated(at)) => json!({
			"@context": context,
			"didDocument": {"@context": ["https://www.w3.org/ns/did/v1"], "id": format_did(did)},
			"didResolutionMetadata": {"contentType": CONTENT_TYPE},
			"didDocumentMetadata": {"deactivated": true, "w3b": {"deactivatedAt": (*at).into()}},
		}),
		Resolution::Found(did, DidState::Active { document, retired }) => {
			let retired: Vec<Value> = retired
				.iter()
				.map(|r| {
					json!({
						"id": verification_method_id(did, &r.key),
						"purpose": match r.purpose {
							w3b_primitives::did::KeyPurpose::Authentication => "authentication",
							w3b_primitives::did::KeyPurpose::AssertionMethod => "assertionMethod",
							w3b_primitives::did::KeyPurpose::CapabilityDelegation => "capabilityDelegation",
						},
						"publicKeyMultibase": public_key_multibase(&r.key),
						"since": r.since.into(),
						"until": r.until.into(),
					})
				})
				.collect();
			json!({
				"@context": context,
				"didDocument": did_document(did, document),
				"didResolutionMetadata": {"contentType": CONTENT_TYPE},
				"didDocumentMetadata": {
					"versionId": document.updated_at.into().to_string(),
					"deactivated": false,
					"w3b": {
						"createdAt": document.created_at.into(),
						"updatedAt": document.updated_at.into(),
						"counter": document.counter,
						"retiredKeys": retired,
					},
				},
			})
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{ecdsa, ed25519, Pair};
	use w3b_primitives::did::{did_id_of, KeyEntry, KeyPurpose, RetiredKey, Service};

	fn document(key: DeviceKey) -> DidDocument<u64, u128, u32> {
		DidDocument {
			authentication: KeyEntry { key: key.clone(), since: 3 },
			assertion: Some(KeyEntry { key, since: 3 }),
			delegation: None,
			key_agreement: vec![X25519Key([9; 32])].try_into().unwrap(),
			services: vec![Service {
				id: b"mqtt".to_vec().try_into().unwrap(),
				service_type: b"MQTTEndpoint".to_vec().try_into().unwrap(),
				endpoint: b"mqtts://node.example:8883".to_vec().try_into().unwrap(),
			}]
			.try_into()
			.unwrap(),
			controller: Some(sp_core::H256::repeat_byte(1)),
			counter: 4,
			depositor: 1,
			deposit: 5,
			created_at: 3,
			updated_at: 8,
		}
	}

	#[test]
	fn an_active_did_resolves_to_a_w3c_document() {
		let key = DeviceKey::Ed25519(ed25519::Pair::from_seed(&[1; 32]).public().0);
		let did = did_id_of(&key);
		let text = format_did(&did);
		let retired = RetiredKey {
			purpose: KeyPurpose::Authentication,
			key: DeviceKey::Ed25519([2; 32]),
			since: 1,
			until: 3,
		};
		let found = resolve(&text, |id| {
			assert_eq!(id, did);
			Ok::<_, ()>(DidState::Active {
				document: document(key.clone()),
				retired: vec![retired],
			})
		})
		.unwrap();
		let result = resolution(&found);
		let doc = &result["didDocument"];
		assert_eq!(doc["id"], text);
		// One key for two purposes: one verification method, referenced twice.
		let method_id = verification_method_id(&did, &key);
		assert_eq!(doc["authentication"], json!([method_id]));
		assert_eq!(doc["assertionMethod"], json!([method_id]));
		assert!(doc.get("capabilityDelegation").is_none());
		let methods = doc["verificationMethod"].as_array().unwrap();
		assert_eq!(methods.len(), 2, "the signing key and the key-agreement key");
		assert_eq!(methods[0]["type"], "Multikey");
		// ed25519-pub multicodec 0xed01: Multikey ed25519 keys start with z6Mk.
		assert!(methods[0]["publicKeyMultibase"].as_str().unwrap().starts_with("z6Mk"));
		// x25519-pub multicodec 0xec01: z6LS.
		assert!(methods[1]["publicKeyMultibase"].as_str().unwrap().starts_with("z6LS"));
		assert_eq!(doc["service"][0]["id"], format!("{text}#mqtt"));
		assert_eq!(doc["service"][0]["serviceEndpoint"], "mqtts://node.example:8883");
		assert_eq!(doc["controller"][1], format_did(&sp_core::H256::repeat_byte(1)));
		assert!(doc.get("alsoKnownAs").is_none());
		let meta = &result["didDocumentMetadata"];
		assert_eq!(meta["deactivated"], false);
		assert_eq!(meta["versionId"], "8");
		assert_eq!(meta["w3b"]["retiredKeys"][0]["until"], 3);
		assert_eq!(result["didResolutionMetadata"]["contentType"], CONTENT_TYPE);
	}

	#[test]
	fn a_secp256k1_did_is_also_known_by_its_ioid() {
		let key = DeviceKey::Secp256k1(ecdsa::Pair::from_seed(&[1; 32]).public().0);
		let did = did_id_of(&key);
		let doc = did_document(&did, &document(key.clone()));
		assert_eq!(doc["alsoKnownAs"], json!([io_did(&key).unwrap()]));
		// A key an operation set (anyone's public key, maybe) claims no alias.
		let other = did_id_of(&DeviceKey::Ed25519([1; 32]));
		assert!(did_document(&other, &document(key.clone())).get("alsoKnownAs").is_none());
		// secp256k1-pub multicodec 0xe701 over a compressed key: zQ3s.
		let multibase = doc["verificationMethod"][0]["publicKeyMultibase"].as_str().unwrap();
		assert!(multibase.starts_with("zQ3s"), "{multibase}");
	}

	#[test]
	fn errors_follow_the_did_resolution_spec() {
		let read = |_| -> Result<DidState<u64, u128, u32>, ()> { panic!("not read") };
		let r = resolution(&resolve("did:key:z6Mk", read).unwrap());
		assert_eq!(r["didResolutionMetadata"]["error"], "methodNotSupported");
		assert_eq!(r["didDocument"], Value::Null);
		let r = resolution(&resolve("did:w3b:0", read).unwrap());
		assert_eq!(r["didResolutionMetadata"]["error"], "invalidDid");
		let unknown = format_did(&sp_core::H256::repeat_byte(3));
		let r = resolution(
			&resolve(&unknown, |_| Ok::<_, ()>(DidState::<u64, u128, u32>::Unknown)).unwrap(),
		);
		assert_eq!(r["didResolutionMetadata"]["error"], "notFound");
		let r = resolution(
			&resolve(&unknown, |_| Ok::<_, ()>(DidState::<u64, u128, u32>::Deactivated(7)))
				.unwrap(),
		);
		assert_eq!(r["didDocumentMetadata"]["deactivated"], true);
		assert_eq!(r["didDocument"]["id"], unknown);
	}
}
