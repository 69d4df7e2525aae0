//! W3C Verifiable Credentials 2.0 secured with VC-JOSE (`application/vc+jwt`), and W3C
//! Bitstring Status Lists.
//!
//! Why VC-JOSE rather than Data Integrity `eddsa-rdfc-2022`: a JWS signs the exact bytes
//! of the credential's JSON, so the chain anchors a credential by the hash of those bytes
//! ([`w3b_primitives::credential::credential_hash_of`]) and every verifier, in any
//! language, checks it with a JOSE library and no JSON-LD canonicalization (RDF dataset
//! canonicalization needs remote contexts or a pinned document loader, and two
//! implementations that disagree on one term disagree on the signature).
//!
//! A credential here is a compact JWS: the protected header
//! `{"alg":"EdDSA"|"ES256K","kid":"<issuer DID>#k-…","typ":"vc+jwt","cty":"vc"}`, the
//! credential's JSON as payload, and the signature of the issuer's assertion key
//! (ed25519: EdDSA; secp256k1: ES256K, ECDSA over SHA-256, `r || s`). sr25519 has no JOSE
//! algorithm: such keys do not sign credentials. A presentation is the same with
//! `typ: vp+jwt`, signed by the holder's authentication key, naming a nonce and an
//! audience so that it is not replayed elsewhere.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use w3b_primitives::DeviceKey;

/// Media type of a credential.
pub const CREDENTIAL_MEDIA_TYPE: &str = "application/vc+jwt";
/// The VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// Length of a status list in bits (W3C's minimum, 16 KiB).
pub const STATUS_LIST_BITS: u32 = w3b_primitives::credential::STATUS_LIST_LENGTH;

/// Why a JWS or a status list could not be read or checked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
	/// Not three base64url parts separated by dots.
	#[error("not a compact JWS: {0}")]
	Malformed(&'static str),
	/// The header or the payload is not a JSON object.
	#[error("the JWS {0} is not a JSON object")]
	NotJson(&'static str),
	/// The algorithm is not one this implementation checks, or does not fit the key.
	#[error("algorithm {0} is not EdDSA (ed25519) or ES256K (secp256k1) for this key")]
	Algorithm(String),
	/// The signature does not verify.
	#[error("the signature does not verify")]
	BadSignature,
	/// An sr25519 key has no JOSE algorithm.
	#[error("sr25519 keys cannot sign JOSE credentials: use an ed25519 or secp256k1 key")]
	UnsupportedKey,
	/// The signer could not sign (its key is gone).
	#[error("the signing key could not sign")]
	Signing,
	/// The encoded status list is not `u` + base64url of a GZIP stream.
	#[error("bad encoded status list: {0}")]
	StatusList(String),
}

/// A compact JWS, split and decoded.
#[derive(Debug, Clone)]
pub struct Jws {
	/// The protected header.
	pub header: Value,
	/// The payload's bytes, as signed.
	pub payload: Vec<u8>,
	/// The payload, parsed.
	pub claims: Value,
	/// `base64url(header) "." base64url(payload)`: what the signature covers.
	pub signing_input: String,
	/// The signature's bytes.
	pub signature: Vec<u8>,
}

impl Jws {
	/// Splits and decodes `compact`; checks nothing about the signature.
	pub fn parse(compact: &str) -> Result<Jws, JoseError> {
		let compact = compact.trim();
		let mut parts = compact.split('.');
		let (Some(header), Some(payload), Some(signature), None) =
			(parts.next(), parts.next(), parts.next(), parts.next())
		else {
			return Err(JoseError::Malformed("three parts expected"));
		};
		let decode =
			|part: &str, what| URL_SAFE_NO_PAD.decode(part).map_err(|_| JoseError::Malformed(what));
		let header_bytes = decode(header, "header is not base64url")?;
		let payload_bytes = decode(payload, "payload is not base64url")?;
		let signature_bytes = decode(signature, "signature is not base64url")?;
		let object = |bytes: &[u8], what| match serde_json::from_slice::<Value>(bytes) {
			Ok(value @ Value::Object(_)) => Ok(value),
			_ => Err(JoseError::NotJson(what)),
		};
		Ok(Jws {
			header: object(&header_bytes, "header")?,
			claims: object(&payload_bytes, "payload")?,
			payload: payload_bytes,
			signing_input: format!("{header}.{payload}"),
			signature: signature_bytes,
		})
	}

	/// The header's `kid`.
	pub fn kid(&self) -> Option<&str> {
		self.header["kid"].as_str()
	}

	/// Checks the signature against `key`, with the algorithm the header names.
	pub fn verify(&self, key: &DeviceKey) -> Result<(), JoseError> {
		let alg = self.header["alg"].as_str().unwrap_or_default();
		if alg != algorithm(key)? {
			return Err(JoseError::Algorithm(alg.to_string()));
		}
		let verified = match key {
			DeviceKey::Ed25519(public) => <[u8; 64]>::try_from(self.signature.as_slice())
				.is_ok_and(|signature| {
					<sp_core::ed25519::Pair as sp_core::Pair>::verify(
						&sp_core::ed25519::Signature::from_raw(signature),
						self.signing_input.as_bytes(),
						&sp_core::ed25519::Public::from_raw(*public),
					)
				}),
			DeviceKey::Secp256k1(public) => {
				es256k_verify(public, &self.signing_input, &self.signature)
			}
			DeviceKey::Sr25519(_) => return Err(JoseError::UnsupportedKey),
		};
		verified.then_some(()).ok_or(JoseError::BadSignature)
	}
}

/// The JOSE algorithm of `key`.
pub fn algorithm(key: &DeviceKey) -> Result<&'static str, JoseError> {
	match key {
		DeviceKey::Ed25519(_) => Ok("EdDSA"),
		DeviceKey::Secp256k1(_) => Ok("ES256K"),
		DeviceKey::Sr25519(_) => Err(JoseError::UnsupportedKey),
	}
}

fn es256k_verify(public: &[u8; 33], input: &str, signature: &[u8]) -> bool {
	use k256::ecdsa::{signature::hazmat::PrehashVerifier, Signature, VerifyingKey};
	use sha2::Digest;
	let (Ok(key), Ok(signature)) =
		(VerifyingKey::from_sec1_bytes(public), Signature::from_slice(signature))
	else {
		return false;
	};
	// A high-S signature is the same signature malleated: JOSE verifiers (and this one)
	// take only the low-S form.
	if signature.normalize_s().is_some() {
		return false;
	}
	key.verify_prehash(&sha2::Sha256::digest(input.as_bytes()), &signature).is_ok()
}

/// A compact JWS of `payload` with header `header` (its `alg` set from `key`), signed by
/// `sign` (given the signing input; for ES256K it must sign its SHA-256 and return
/// `r || s` in low-S form; `None` when it cannot sign).
pub fn encode(
	mut header: Value,
	payload: &Value,
	key: &DeviceKey,
	sign: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Result<String, JoseError> {
	header["alg"] = json!(algorithm(key)?);
	let header = URL_SAFE_NO_PAD.encode(header.to_string());
	let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
	let input = format!("{header}.{payload}");
	let signature = sign(input.as_bytes()).ok_or(JoseError::Signing)?;
	Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The protected header of a credential signed by the verification method `kid`.
pub fn credential_header(kid: &str) -> Value {
	json!({"kid": kid, "typ": "vc+jwt", "cty": "vc"})
}

/// The protected header of a presentation signed by the verification method `kid`.
pub fn presentation_header(kid: &str) -> Value {
	json!({"kid": kid, "typ": "vp+jwt", "cty": "vp"})
}

/// A presentation by `holder` of `credentials` (compact VC-JOSE credentials, enveloped
/// as `data:application/vc+jwt,...`), for the verifier `audience` and its challenge
/// `nonce`.
pub fn presentation(holder: &str, credentials: &[String], nonce: &str, audience: &str) -> Value {
	json!({
		"@context": [VC_CONTEXT],
		"type": ["VerifiablePresentation"],
		"holder": holder,
		"verifiableCredential": credentials
			.iter()
			.map(|credential| json!({
				"@context": [VC_CONTEXT],
				"id": format!("data:{CREDENTIAL_MEDIA_TYPE},{credential}"),
				"type": "EnvelopedVerifiableCredential",
			}))
			.collect::<Vec<_>>(),
		"nonce": nonce,
		"aud": audience,
	})
}

/// The URL of `issuer`'s status list for `purpose` (`revocation` or `suspension`) under
/// the node base URL `base`.
pub fn status_list_url(base: &str, issuer: &str, purpose: &str) -> String {
	format!("{}/1.0/status/{issuer}/{purpose}", base.trim_end_matches('/'))
}

/// The `credentialStatus` entries of a credential at `index` of `issuer`'s status lists
/// served under `base`: one for revocation, one for suspension.
pub fn status_entries(base: &str, issuer: &str, index: u32) -> Value {
	let entry = |purpose: &str| {
		let list = status_list_url(base, issuer, purpose);
		json!({
			"id": format!("{list}#{index}"),
			"type": "BitstringStatusListEntry",
			"statusPurpose": purpose,
			"statusListIndex": index.to_string(),
			"statusListCredential": list,
		})
	};
	json!([entry("revocation"), entry("suspension")])
}

/// `length` bits with those at `set` set (bit 0 is the first byte's most significant), GZIP
/// compressed, as a multibase base64url string (`u` prefix): a status list's
/// `encodedList`.
pub fn encode_status_list(set: impl IntoIterator<Item = u32>, length: u32) -> String {
	use std::io::Write;
	let mut bits = vec![0u8; length.div_ceil(8) as usize];
	for index in set.into_iter().filter(|index| *index < length) {
		bits[(index / 8) as usize] |= 0x80 >> (index % 8);
	}
	let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
	encoder.write_all(&bits).expect("writing to a Vec cannot fail");
	let gzip = encoder.finish().expect("writing to a Vec cannot fail");
	format!("u{}", URL_SAFE_NO_PAD.encode(gzip))
}

/// Whether bit `index` is set in the `encodedList` `encoded`. Refuses lists that inflate
/// past [`STATUS_LIST_BITS`] bits (a GZIP bomb served as a status list).
pub fn status_bit(encoded: &str, index: u32) -> Result<bool, JoseError> {
	use std::io::Read;
	let gzip = encoded
		.strip_prefix('u')
		.and_then(|rest| URL_SAFE_NO_PAD.decode(rest).ok())
		.ok_or_else(|| JoseError::StatusList("not multibase base64url".into()))?;
	let limit = u64::from(STATUS_LIST_BITS / 8);
	let mut bits = Vec::new();
	flate2::read::GzDecoder::new(gzip.as_slice())
		.take(limit + 1)
		.read_to_end(&mut bits)
		.map_err(|e| JoseError::StatusList(e.to_string()))?;
	if bits.len() as u64 > limit {
		return Err(JoseError::StatusList("longer than a status list may be".into()));
	}
	let byte = bits
		.get((index / 8) as usize)
		.ok_or_else(|| JoseError::StatusList(format!("index {index} is past the list's end")))?;
	Ok(byte & (0x80 >> (index % 8)) != 0)
}

/// How long a status list credential is valid for, in seconds: a copy kept by a cache
/// or an attacker cannot hide a revocation for longer.
pub const STATUS_LIST_VALIDITY_SECS: u64 = 60;

/// A W3C Bitstring Status List credential (unsigned) of `issuer` for `purpose`, at `url`,
/// with the bits at `set` set, valid from `now` (Unix seconds) for
/// [`STATUS_LIST_VALIDITY_SECS`] (its `ttl` says to fetch it again after a block).
pub fn status_list_credential(
	issuer: &str,
	url: &str,
	purpose: &str,
	set: impl IntoIterator<Item = u32>,
	now: u64,
) -> Value {
	json!({
		"@context": [VC_CONTEXT],
		"id": url,
		"type": ["VerifiableCredential", "BitstringStatusListCredential"],
		"issuer": issuer,
		"validFrom": date_time(now),
		"validUntil": date_time(now + STATUS_LIST_VALIDITY_SECS),
		"credentialSubject": {
			"id": format!("{url}#list"),
			"type": "BitstringStatusList",
			"statusPurpose": purpose,
			"ttl": w3b_primitives::MILLISECS_PER_BLOCK,
			"encodedList": encode_status_list(set, STATUS_LIST_BITS),
		},
	})
}

/// `seconds` since the Unix epoch as an XML Schema date-time in UTC
/// (`2026-12-04T10:00:00Z`).
pub fn date_time(seconds: u64) -> String {
	let days = seconds / 86_400;
	let rest = seconds % 86_400;
	// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
	let z = days as i64 + 719_468;
	let era = z.div_euclid(146_097);
	let doe = z - era * 146_097;
	let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
	let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	let mp = (5 * doy + 2) / 153;
	let day = doy - (153 * mp + 2) / 5 + 1;
	let month = if mp < 10 { mp + 3 } else { mp - 9 };
	let year = yoe + era * 400 + i64::from(month <= 2);
	format!(
		"{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
		rest / 3_600,
		rest % 3_600 / 60,
		rest % 60
	)
}

/// Seconds since the Unix epoch of an XML Schema date-time in UTC (`Z` or `+00:00`), or
/// `None` if it is not one.
pub fn parse_date_time(text: &str) -> Option<u64> {
	let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
	let (date, time) = text.split_once('T')?;
	let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
	let (year, month, day) = (date.next()??, date.next()??, date.next()??);
	let time = time.split('.').next()?;
	let mut time = time.split(':').map(|p| p.parse::<u64>().ok());
	let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
	if !(1..=12).contains(&month)
		|| !(1..=31).contains(&day)
		|| hour > 23
		|| minute > 59
		|| second > 60
	{
		return None;
	}
	let y = year - i64::from(month <= 2);
	let era = y.div_euclid(400);
	let yoe = y - era * 400;
	let mp = if month > 2 { month - 3 } else { month + 9 };
	let doy = (153 * mp + 2) / 5 + day - 1;
	let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
	Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The key a `did:key` names, for ed25519 (`z6Mk…`) and secp256k1 (`zQ3s…`) keys: the
/// self-certifying DIDs most wallets issue with.
pub fn did_key(did: &str) -> Option<DeviceKey> {
	let encoded = did.strip_prefix("did:key:")?.split('#').next()?;
	// Base58 decoding takes time quadratic in the length: a key of 35 bytes takes at
	// most 49 characters, refuse anything longer before decoding.
	if encoded.len() > 50 {
		return None;
	}
	let bytes = bs58::decode(encoded.strip_prefix('z')?).into_vec().ok()?;
	match bytes.as_slice() {
		[0xed, 0x01, key @ ..] => Some(DeviceKey::Ed25519(key.try_into().ok()?)),
		[0xe7, 0x01, key @ ..] => Some(DeviceKey::Secp256k1(key.try_into().ok()?)),
		_ => None,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{ecdsa, ed25519, Pair};

	fn ed_sign(pair: &ed25519::Pair) -> impl FnOnce(&[u8]) -> Option<Vec<u8>> + '_ {
		move |input| Some(pair.sign(input).0.to_vec())
	}

	#[test]
	fn an_ed25519_jws_round_trips_and_any_change_breaks_it() {
		let pair = ed25519::Pair::from_seed(&[1; 32]);
		let key = DeviceKey::Ed25519(pair.public().0);
		let payload = json!({"@context": [VC_CONTEXT], "type": ["VerifiableCredential"]});
		let compact =
			encode(credential_header("did:w3b:x#k-1"), &payload, &key, ed_sign(&pair)).unwrap();
		let jws = Jws::parse(&compact).unwrap();
		assert_eq!(jws.header["alg"], "EdDSA");
		assert_eq!(jws.header["typ"], "vc+jwt");
		assert_eq!(jws.claims, payload);
		assert_eq!(jws.verify(&key), Ok(()));
		let other = DeviceKey::Ed25519(ed25519::Pair::from_seed(&[2; 32]).public().0);
		assert_eq!(jws.verify(&other), Err(JoseError::BadSignature));
		// A payload changed after signing.
		let parts: Vec<&str> = compact.split('.').collect();
		let forged_payload = URL_SAFE_NO_PAD.encode(json!({"type": ["Forged"]}).to_string());
		let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
		assert_eq!(Jws::parse(&forged).unwrap().verify(&key), Err(JoseError::BadSignature));
		// The header's algorithm changed to one that does not fit the key.
		let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
		let stripped = format!("{header}.{}.{}", parts[1], parts[2]);
		assert!(matches!(
			Jws::parse(&stripped).unwrap().verify(&key),
			Err(JoseError::Algorithm(_))
		));
	}

	#[test]
	fn an_es256k_jws_verifies_in_low_s_form_only() {
		use k256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
		use sha2::Digest;
		let secret = SigningKey::from_slice(&[7; 32]).unwrap();
		let public: [u8; 33] =
			secret.verifying_key().to_encoded_point(true).as_bytes().try_into().unwrap();
		let key = DeviceKey::Secp256k1(public);
		let compact = encode(credential_header("k"), &json!({"a": 1}), &key, |input| {
			let signature: Signature = secret.sign_prehash(&sha2::Sha256::digest(input)).unwrap();
			Some(signature.to_bytes().to_vec())
		})
		.unwrap();
		let mut jws = Jws::parse(&compact).unwrap();
		assert_eq!(jws.header["alg"], "ES256K");
		assert_eq!(jws.verify(&key), Ok(()));
		// The same signature with s replaced by n - s: valid ECDSA, refused.
		let signature = Signature::from_slice(&jws.signature).unwrap();
		let (r, s) = signature.split_scalars();
		let high = Signature::from_scalars(r, -*s).unwrap();
		jws.signature = high.to_bytes().to_vec();
		assert_eq!(jws.verify(&key), Err(JoseError::BadSignature));
		// An sr25519 key cannot sign.
		assert_eq!(algorithm(&DeviceKey::Sr25519([0; 32])), Err(JoseError::UnsupportedKey));
		let _ = ecdsa::Pair::from_seed(&[7; 32]);
	}

	#[test]
	fn malformed_jws_are_refused_clearly() {
		assert_eq!(Jws::parse("a.b").unwrap_err(), JoseError::Malformed("three parts expected"));
		assert_eq!(
			Jws::parse("a.b.c.d").unwrap_err(),
			JoseError::Malformed("three parts expected")
		);
		assert_eq!(
			Jws::parse("!!.e30.AA").unwrap_err(),
			JoseError::Malformed("header is not base64url")
		);
		let not_object = URL_SAFE_NO_PAD.encode("[1]");
		assert_eq!(
			Jws::parse(&format!("e30.{not_object}.AA")).unwrap_err(),
			JoseError::NotJson("payload")
		);
	}

	#[test]
	fn status_lists_set_exactly_the_named_bits() {
		let encoded = encode_status_list([0, 7, 8, 131_071], STATUS_LIST_BITS);
		assert!(encoded.starts_with('u'));
		// 16 KiB of mostly zeros compresses to a few dozen bytes.
		assert!(encoded.len() < 200, "{}", encoded.len());
		for (index, set) in
			[(0, true), (1, false), (7, true), (8, true), (9, false), (131_071, true)]
		{
			assert_eq!(status_bit(&encoded, index), Ok(set), "bit {index}");
		}
		assert!(status_bit(&encoded, 131_072).is_err());
		assert!(status_bit("zabc", 0).is_err());
	}

	#[test]
	fn a_gzip_bomb_is_not_a_status_list() {
		use std::io::Write;
		let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
		encoder.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
		let bomb = format!("u{}", URL_SAFE_NO_PAD.encode(encoder.finish().unwrap()));
		assert!(matches!(status_bit(&bomb, 0), Err(JoseError::StatusList(_))));
	}

	#[test]
	fn status_entries_point_at_both_lists() {
		let entries = status_entries("http://127.0.0.1:9/", "did:w3b:abc", 42);
		assert_eq!(entries[0]["statusPurpose"], "revocation");
		assert_eq!(entries[1]["statusPurpose"], "suspension");
		assert_eq!(entries[0]["statusListIndex"], "42");
		assert_eq!(
			entries[0]["statusListCredential"],
			"http://127.0.0.1:9/1.0/status/did:w3b:abc/revocation"
		);
		assert_eq!(entries[1]["id"], "http://127.0.0.1:9/1.0/status/did:w3b:abc/suspension#42");
	}

	#[test]
	fn date_times_round_trip() {
		assert_eq!(date_time(0), "1970-01-01T00:00:00Z");
		assert_eq!(date_time(1_796_378_400), "2026-12-04T10:00:00Z");
		assert_eq!(date_time(951_782_400), "2000-02-29T00:00:00Z");
		for seconds in [0, 951_782_400, 1_796_378_400, 4_102_444_799] {
			assert_eq!(parse_date_time(&date_time(seconds)), Some(seconds));
		}
		assert_eq!(parse_date_time("2026-12-04T10:00:00.123Z"), Some(1_796_378_400));
		assert_eq!(parse_date_time("2026-12-04T10:00:00+00:00"), Some(1_796_378_400));
		assert_eq!(parse_date_time("2026-12-04T10:00:00+02:00"), None);
		assert_eq!(parse_date_time("2026-13-04T10:00:00Z"), None);
		assert_eq!(parse_date_time("yesterday"), None);
	}

	#[test]
	fn did_keys_name_their_key() {
		let pair = ed25519::Pair::from_seed(&[3; 32]);
		let key = DeviceKey::Ed25519(pair.public().0);
		let did = format!("did:key:{}", crate::document::public_key_multibase(&key));
		assert!(did.starts_with("did:key:z6Mk"));
		assert_eq!(did_key(&did), Some(key.clone()));
		assert_eq!(did_key(&format!("{did}#frag")), Some(key));
		assert_eq!(did_key("did:key:zabc"), None);
		// A megabyte of base58 is refused before it is decoded.
		assert_eq!(did_key(&format!("did:key:z{}", "2".repeat(1 << 20))), None);
		assert_eq!(did_key("did:w3b:abc"), None);
	}
}
