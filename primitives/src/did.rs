//! `did:w3b` decentralized identifiers: what the chain stores about one, and the
//! operations its holder signs.
//!
//! A DID's identifier is fixed at creation: the `blake2_256` of a domain tag and the
//! SCALE encoding of its first authentication key ([`did_id_of`]), so it can be computed
//! before the DID exists and never names another key's DID. Its string form is
//! `did:w3b:` followed by the identifier in base58 (bitcoin alphabet).
//!
//! Every change is an operation signed by the DID's current authentication key (or by
//! its controller's), never by an account: a device or an off-chain wallet acts without
//! one, and anyone may submit the operation and pay its fee. An operation names the
//! chain (its genesis hash), the DID, a counter above the last one used and the last
//! block it may be included in, so it is never replayed on another chain, twice, or
//! months after it was signed. The signature is over [`DidOperation::signing_hash`], on
//! the curve of the key, as a device signs a message ([`DeviceKey::verify`]).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_io::hashing::blake2_256;
use sp_runtime::BoundedVec;

use crate::DeviceKey;

/// A DID's identifier (the part after `did:w3b:`).
pub type DidId = H256;

/// The method's prefix.
pub const METHOD_PREFIX: &str = "did:w3b:";

/// Domain tag of identifiers.
const ID_DOMAIN: &[u8] = b"w3b/did/id";
/// Domain tag of creation requests.
const CREATE_DOMAIN: &[u8] = b"w3b/did/create";
/// Domain tag of operations.
const OPERATION_DOMAIN: &[u8] = b"w3b/did/operation";

/// Most key-agreement keys of one DID.
pub type MaxKeyAgreementKeys = ConstU32<4>;
/// Most services of one DID.
pub type MaxServices = ConstU32<8>;
/// Longest service id (the fragment after `#`), in bytes.
pub type MaxServiceIdLen = ConstU32<32>;
/// Longest service type, in bytes.
pub type MaxServiceTypeLen = ConstU32<64>;
/// Longest service endpoint URI, in bytes.
pub type MaxServiceEndpointLen = ConstU32<256>;
/// Most retired keys the chain keeps for one DID (the most recent ones).
pub type MaxRetiredKeys = ConstU32<32>;

/// The identifier of the DID whose first authentication key is `key`.
pub fn did_id_of(key: &DeviceKey) -> DidId {
	H256(blake2_256(&(ID_DOMAIN, key).encode()))
}

/// An X25519 public key, for key agreement (encrypting to the DID's holder).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct X25519Key(pub [u8; 32]);

/// A service of a DID: where to reach its holder, and how.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Service {
	/// The fragment naming it in the document (`did:w3b:...#<id>`): letters, digits,
	/// `-`, `_` and `.`, not starting with `k-` or `x-` (the keys' fragments).
	pub id: BoundedVec<u8, MaxServiceIdLen>,
	/// Its type (`LinkedDomains`, `MQTTEndpoint`, ...): printable ASCII without spaces.
	pub service_type: BoundedVec<u8, MaxServiceTypeLen>,
	/// Its endpoint, a URI: printable ASCII without spaces.
	pub endpoint: BoundedVec<u8, MaxServiceEndpointLen>,
}

impl Service {
	/// Whether every field is non-empty and made of the characters it allows, so that
	/// the document written from it is valid JSON and a valid DID URL.
	pub fn is_well_formed(&self) -> bool {
		let graphic = |bytes: &[u8]| {
			!bytes.is_empty()
				&& bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'"' && *b != b'\\')
		};
		!self.id.is_empty()
			&& self.id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
			// `k-` and `x-` name keys in the document.
			&& !self.id.starts_with(b"k-")
			&& !self.id.starts_with(b"x-")
			&& graphic(&self.service_type)
			&& graphic(&self.endpoint)
	}
}

/// What a key of a DID is for (W3C DID Core verification relationships).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum KeyPurpose {
	/// Proves control of the DID; signs its operations and, for a device, its messages.
	Authentication,
	/// Signs credentials the DID issues.
	AssertionMethod,
	/// Delegates capabilities.
	CapabilityDelegation,
}

/// A key of a DID and the block it took its place in.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct KeyEntry<BlockNumber> {
	/// The key.
	pub key: DeviceKey,
	/// The block whose operation set it.
	pub since: BlockNumber,
}

/// A key a DID used for a purpose, and when: signatures it made while it held the
/// purpose stay verifiable.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct RetiredKey<BlockNumber> {
	/// What it was for.
	pub purpose: KeyPurpose,
	/// The key.
	pub key: DeviceKey,
	/// The block it took the purpose in.
	pub since: BlockNumber,
	/// The block of the operation that replaced or removed it: it no longer held the
	/// purpose from that block on.
	pub until: BlockNumber,
}

/// A DID's document as the chain stores it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DidDocument<AccountId, Balance, BlockNumber> {
	/// Signs the DID's operations and proves control of it.
	pub authentication: KeyEntry<BlockNumber>,
	/// Signs the credentials it issues, if it issues any.
	pub assertion: Option<KeyEntry<BlockNumber>>,
	/// Delegates capabilities, if it does.
	pub delegation: Option<KeyEntry<BlockNumber>>,
	/// Keys others encrypt to it with.
	pub key_agreement: BoundedVec<X25519Key, MaxKeyAgreementKeys>,
	/// Where to reach it.
	pub services: BoundedVec<Service, MaxServices>,
	/// Another DID whose authentication key may also sign this one's operations.
	pub controller: Option<DidId>,
	/// The counter of the last operation applied (0 at creation).
	pub counter: u64,
	/// Who paid the deposit (and gets it back on deactivation).
	pub depositor: AccountId,
	/// The deposit held.
	pub deposit: Balance,
	/// Block of creation.
	pub created_at: BlockNumber,
	/// Block of the last operation applied.
	pub updated_at: BlockNumber,
}

impl<AccountId, Balance, BlockNumber: Copy> DidDocument<AccountId, Balance, BlockNumber> {
	/// The key holding `purpose`, if any.
	pub fn key(&self, purpose: KeyPurpose) -> Option<&KeyEntry<BlockNumber>> {
		match purpose {
			KeyPurpose::Authentication => Some(&self.authentication),
			KeyPurpose::AssertionMethod => self.assertion.as_ref(),
			KeyPurpose::CapabilityDelegation => self.delegation.as_ref(),
		}
	}
}

/// What a new DID starts with. Signed by its authentication key, which proves the
/// creator controls it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DidCreation<AccountId, BlockNumber> {
	/// Its authentication key (which also names it: [`did_id_of`]).
	pub authentication: DeviceKey,
	/// Its assertion key.
	pub assertion: Option<DeviceKey>,
	/// Its capability-delegation key.
	pub delegation: Option<DeviceKey>,
	/// Its key-agreement keys.
	pub key_agreement: BoundedVec<X25519Key, MaxKeyAgreementKeys>,
	/// Its services.
	pub services: BoundedVec<Service, MaxServices>,
	/// Its controller.
	pub controller: Option<DidId>,
	/// The account that submits the creation and pays the deposit: nobody else can use
	/// the signature.
	pub submitter: AccountId,
	/// The last block the creation may be included in.
	pub valid_until: BlockNumber,
}

impl<AccountId, BlockNumber> DidCreation<AccountId, BlockNumber> {
	/// A creation of the DID of `authentication` with no other key, no service and no
	/// controller, submitted by `submitter` until block `valid_until`.
	pub fn new(authentication: DeviceKey, submitter: AccountId, valid_until: BlockNumber) -> Self {
		DidCreation {
			authentication,
			assertion: None,
			delegation: None,
			key_agreement: Default::default(),
			services: Default::default(),
			controller: None,
			submitter,
			valid_until,
		}
	}
}

impl<AccountId: Encode, BlockNumber: Encode> DidCreation<AccountId, BlockNumber> {
	/// The identifier the DID gets.
	pub fn did(&self) -> DidId {
		did_id_of(&self.authentication)
	}

	/// What the authentication key signs, for the chain whose genesis hash is `genesis`.
	pub fn signing_hash(&self, genesis: &H256) -> H256 {
		H256(blake2_256(&(CREATE_DOMAIN, genesis, self).encode()))
	}
}

/// A change to a DID.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum DidAction {
	/// Replaces the authentication key (the old one is kept as retired).
	SetAuthenticationKey(DeviceKey),
	/// Sets, replaces or removes the assertion key.
	SetAssertionKey(Option<DeviceKey>),
	/// Sets, replaces or removes the capability-delegation key.
	SetDelegationKey(Option<DeviceKey>),
	/// Adds a key-agreement key.
	AddKeyAgreement(X25519Key),
	/// Removes a key-agreement key.
	RemoveKeyAgreement(X25519Key),
	/// Adds a service (its id must be new).
	AddService(Service),
	/// Removes the service with this id.
	RemoveService(BoundedVec<u8, MaxServiceIdLen>),
	/// Sets or removes the controller.
	SetController(Option<DidId>),
	/// Deactivates the DID for good: its document goes, its identifier is never used
	/// again, its deposit is released.
	Deactivate,
}

/// A change to a DID, signed by its authentication key or its controller's.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DidOperation<BlockNumber> {
	/// The DID changed.
	pub did: DidId,
	/// Above the DID's last counter: each signed operation is applied at most once.
	pub counter: u64,
	/// The last block the operation may be included in.
	pub valid_until: BlockNumber,
	/// The change.
	pub action: DidAction,
}

impl<BlockNumber: Encode> DidOperation<BlockNumber> {
	/// What the signing key signs, for the chain whose genesis hash is `genesis`.
	pub fn signing_hash(&self, genesis: &H256) -> H256 {
		H256(blake2_256(&(OPERATION_DOMAIN, genesis, self).encode()))
	}
}

/// What the chain holds about a DID at some block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum DidState<AccountId, Balance, BlockNumber> {
	/// Active, with its document and the keys it retired (oldest first).
	Active {
		/// The document.
		document: DidDocument<AccountId, Balance, BlockNumber>,
		/// The keys it retired.
		retired: alloc::vec::Vec<RetiredKey<BlockNumber>>,
	},
	/// Deactivated in this block, for good.
	Deactivated(BlockNumber),
	/// Never created (as of this block).
	Unknown,
}

impl<AccountId, Balance, BlockNumber: Copy + PartialOrd> DidState<AccountId, Balance, BlockNumber> {
	/// The key that held `purpose` at block `at` (now if `None`): the current one if it
	/// was set by then, else the retired one whose period covers `at` (among those kept).
	/// `None` for a DID not active, a block before its creation, or one older than the
	/// retired keys kept.
	pub fn key_at(&self, purpose: KeyPurpose, at: Option<BlockNumber>) -> Option<DeviceKey> {
		let DidState::Active { document, retired } = self else { return None };
		let current = document.key(purpose);
		let Some(at) = at else { return current.map(|entry| entry.key.clone()) };
		if let Some(entry) = current.filter(|entry| entry.since <= at) {
			return Some(entry.key.clone());
		}
		retired
			.iter()
			.find(|r| r.purpose == purpose && r.since <= at && at < r.until)
			.map(|r| r.key.clone())
	}
}

/// `did:w3b:<base58 of id>`.
#[cfg(feature = "std")]
pub fn format_did(id: &DidId) -> alloc::string::String {
	alloc::format!("{METHOD_PREFIX}{}", bs58::encode(id.as_bytes()).into_string())
}

/// Why a string is not a `did:w3b` DID.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DidParseError {
	/// It does not start with `did:w3b:`.
	NotW3b,
	/// The identifier is not base58 of 32 bytes.
	BadIdentifier,
}

#[cfg(feature = "std")]
impl core::fmt::Display for DidParseError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			DidParseError::NotW3b => {
				write!(f, "not a did:w3b DID (it must start with {METHOD_PREFIX})")
			}
			DidParseError::BadIdentifier => {
				write!(f, "the identifier after {METHOD_PREFIX} is not base58 of 32 bytes")
			}
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for DidParseError {}

/// The identifier of `did:w3b:<base58>`.
#[cfg(feature = "std")]
pub fn parse_did(did: &str) -> Result<DidId, DidParseError> {
	let encoded = did.strip_prefix(METHOD_PREFIX).ok_or(DidParseError::NotW3b)?;
	// 32 bytes are at most 44 base58 digits; base58 decoding costs the square of the
	// length, so nothing longer is decoded (a resolver is asked by strangers).
	if encoded.len() > 44 {
		return Err(DidParseError::BadIdentifier);
	}
	let mut bytes = [0u8; 32];
	match bs58::decode(encoded).onto(&mut bytes[..]) {
		Ok(32) => Ok(H256(bytes)),
		_ => Err(DidParseError::BadIdentifier),
	}
}

/// The IoTeX ioID of a secp256k1 key: `did:io:0x<address>`, the address being the last
/// 20 bytes of the Keccak-256 of the uncompressed key, as Ethereum and IoTeX derive it.
#[cfg(feature = "std")]
pub fn io_did(key: &DeviceKey) -> Option<alloc::string::String> {
	let DeviceKey::Secp256k1(compressed) = key else { return None };
	let public = k256::PublicKey::from_sec1_bytes(compressed).ok()?;
	use k256::elliptic_curve::sec1::ToEncodedPoint;
	let uncompressed = public.to_encoded_point(false);
	let hash = sp_io::hashing::keccak_256(&uncompressed.as_bytes()[1..]);
	let address: &[u8] = &hash[12..];
	Some(alloc::format!("did:io:0x{}", sp_core::hexdisplay::HexDisplay::from(&address)))
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{ecdsa, ed25519, Pair};

	#[test]
	fn a_did_string_round_trips_and_bad_ones_are_refused() {
		let id = did_id_of(&DeviceKey::Ed25519(ed25519::Pair::from_seed(&[7; 32]).public().0));
		let text = format_did(&id);
		assert!(text.starts_with("did:w3b:"));
		assert_eq!(parse_did(&text), Ok(id));
		assert_eq!(parse_did("did:io:0x00"), Err(DidParseError::NotW3b));
		assert_eq!(parse_did("did:w3b:0OIl"), Err(DidParseError::BadIdentifier));
		assert_eq!(parse_did("did:w3b:abc"), Err(DidParseError::BadIdentifier));
		// A long identifier is refused before it is decoded (decoding costs its square).
		let long = format!("did:w3b:{}", "z".repeat(1 << 20));
		assert_eq!(parse_did(&long), Err(DidParseError::BadIdentifier));
	}

	#[test]
	fn identifiers_differ_by_key_and_curve() {
		let ed = DeviceKey::Ed25519([1; 32]);
		let sr = DeviceKey::Sr25519([1; 32]);
		assert_ne!(did_id_of(&ed), did_id_of(&sr));
		assert_ne!(did_id_of(&ed), did_id_of(&DeviceKey::Ed25519([2; 32])));
	}

	/// The known address of the secp256k1 key with secret 1 (the generator point).
	#[test]
	fn io_did_is_the_ethereum_address_of_the_key() {
		let mut secret = [0u8; 32];
		secret[31] = 1;
		let pair = ecdsa::Pair::from_seed(&secret);
		assert_eq!(
			io_did(&DeviceKey::Secp256k1(pair.public().0)).as_deref(),
			Some("did:io:0x7e5f4552091a69125d5dfcb7b8c2659029395bdf")
		);
		assert_eq!(io_did(&DeviceKey::Ed25519([1; 32])), None);
	}

	#[test]
	fn services_must_be_well_formed() {
		let service = |id: &[u8], ty: &[u8], endpoint: &[u8]| Service {
			id: id.to_vec().try_into().unwrap(),
			service_type: ty.to_vec().try_into().unwrap(),
			endpoint: endpoint.to_vec().try_into().unwrap(),
		};
		assert!(service(b"mqtt-1", b"MQTTEndpoint", b"mqtts://node.example:8883").is_well_formed());
		assert!(!service(b"", b"T", b"x").is_well_formed());
		assert!(!service(b"a#b", b"T", b"x").is_well_formed());
		assert!(!service(b"k-0123", b"T", b"x").is_well_formed(), "a key's fragment");
		assert!(!service(b"a", b"T y", b"x").is_well_formed());
		assert!(!service(b"a", b"T", b"http://x/\"").is_well_formed());
		assert!(!service(b"a", b"T", b"").is_well_formed());
	}
}
