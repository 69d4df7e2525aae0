//! The credential registry: what the chain stores about a verifiable credential, so that
//! the runtime checks one (a device's "genuine device" credential, an operator's
//! credential for a subnet) and any verifier checks its status, without parsing it.
//!
//! A credential is anchored by its issuer: an operation signed by the issuer DID's
//! assertion key (the key a W3C verifier accepts for credentials) names the credential's
//! hash (the `blake2_256` of the exact bytes the issuer signed), its type, its subject
//! DID and its index in the issuer's status lists. From then on the issuer changes its
//! status (suspended, active again, revoked for good) by operations carrying the
//! record's next revision number, so an old signed change cannot be replayed after a
//! newer one. The status lists of an issuer (one bit per index, W3C Bitstring Status
//! List) are read from the records: index `i` of the revocation list is set when the
//! credential at `i` is revoked, of the suspension list when it is suspended.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_io::hashing::blake2_256;
use sp_runtime::BoundedVec;

use crate::did::DidId;

/// The hash that names a credential: `blake2_256` of the bytes its issuer signed (for a
/// VC-JOSE credential, the JWS payload: the credential's JSON as sent).
pub type CredentialHash = H256;

/// A credential type: `blake2_256` of its name as the credential's `type` list gives it
/// (for example `GenuineDeviceCredential`): [`credential_type_of`].
pub type CredentialType = H256;

/// Length of an issuer's status lists, in entries: the W3C Bitstring Status List's
/// minimum (16 KiB of bits), so that an index says little about which credential it is.
pub const STATUS_LIST_LENGTH: u32 = 131_072;

/// Domain tag of anchoring requests.
const ANCHOR_DOMAIN: &[u8] = b"w3b/credential/anchor";
/// Domain tag of status changes.
const STATUS_DOMAIN: &[u8] = b"w3b/credential/status";
/// Domain tag of type names.
const TYPE_DOMAIN: &[u8] = b"w3b/credential/type";

/// The [`CredentialType`] of the type named `name`.
pub fn credential_type_of(name: &str) -> CredentialType {
	H256(blake2_256(&(TYPE_DOMAIN, name.as_bytes()).encode()))
}

/// The [`CredentialHash`] of a credential whose issuer signed `bytes`.
pub fn credential_hash_of(bytes: &[u8]) -> CredentialHash {
	H256(blake2_256(bytes))
}

/// A credential's status.
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
pub enum CredentialStatus {
	/// It holds.
	Active,
	/// Its issuer suspended it: it does not hold until reinstated.
	Suspended,
	/// Its issuer revoked it, for good.
	Revoked,
}

/// What the issuer signs to anchor a credential.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct CredentialAnchor<AccountId, BlockNumber> {
	/// The issuer's DID: its assertion key signs.
	pub issuer: DidId,
	/// The credential.
	pub hash: CredentialHash,
	/// Its type.
	pub credential_type: CredentialType,
	/// The `did:w3b` DID it is about, if it is about one.
	pub subject: Option<DidId>,
	/// Its index in the issuer's status lists (below [`STATUS_LIST_LENGTH`], unused by
	/// the issuer's other credentials; wallets pick it at random).
	pub status_index: u32,
	/// The account that submits the anchor and pays its deposit: nobody else can use the
	/// signature.
	pub submitter: AccountId,
	/// The last block the anchor may be included in.
	pub valid_until: BlockNumber,
}

impl<AccountId: Encode, BlockNumber: Encode> CredentialAnchor<AccountId, BlockNumber> {
	/// What the issuer's assertion key signs, for the chain whose genesis hash is
	/// `genesis`.
	pub fn signing_hash(&self, genesis: &H256) -> H256 {
		H256(blake2_256(&(ANCHOR_DOMAIN, genesis, self).encode()))
	}
}

/// What the issuer signs to change a credential's status.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct StatusChange<BlockNumber> {
	/// The credential's issuer (records are the issuer's: another DID anchoring the same
	/// hash makes a record of its own).
	pub issuer: DidId,
	/// The credential.
	pub hash: CredentialHash,
	/// The record's revision after the change: its current one plus one (any later one
	/// for a revocation, so that a leaked signed change cannot hold a revocation off).
	pub revision: u32,
	/// The new status.
	pub status: CredentialStatus,
	/// The last block the change may be included in.
	pub valid_until: BlockNumber,
}

impl<BlockNumber: Encode> StatusChange<BlockNumber> {
	/// What the issuer's assertion key signs, for the chain whose genesis hash is
	/// `genesis`.
	pub fn signing_hash(&self, genesis: &H256) -> H256 {
		H256(blake2_256(&(STATUS_DOMAIN, genesis, self).encode()))
	}
}

/// What the chain holds about an anchored credential.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct CredentialRecord<AccountId, Balance, BlockNumber> {
	/// Its issuer.
	pub issuer: DidId,
	/// Its type.
	pub credential_type: CredentialType,
	/// The `did:w3b` DID it is about, if any.
	pub subject: Option<DidId>,
	/// Its index in the issuer's status lists.
	pub status_index: u32,
	/// Its status.
	pub status: CredentialStatus,
	/// The block its status was set in.
	pub status_since: BlockNumber,
	/// The block it was anchored in.
	pub anchored_at: BlockNumber,
	/// Number of status changes so far.
	pub revision: u32,
	/// Who paid its deposit.
	pub depositor: AccountId,
	/// The deposit held.
	pub deposit: Balance,
}

/// Most issuers a credential policy trusts.
pub type MaxTrustedIssuers = ConstU32<8>;

/// A credential someone must hold: of this type, from one of these issuers (a project's
/// rule for its devices or its operators).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct CredentialPolicy {
	/// The credential's type.
	pub credential_type: CredentialType,
	/// The issuers trusted for it.
	pub issuers: BoundedVec<DidId, MaxTrustedIssuers>,
}

impl CredentialPolicy {
	/// The active credential `subject` holds under this policy (its issuer and hash),
	/// from the first trusted issuer that gave one.
	pub fn active_credential<BlockNumber, C: CredentialsInspect<BlockNumber>>(
		&self,
		subject: &DidId,
	) -> Option<(DidId, CredentialHash)> {
		self.issuers.iter().find_map(|issuer| {
			match C::held(subject, &self.credential_type, issuer) {
				Some((hash, CredentialStatus::Active, _)) => Some((*issuer, hash)),
				_ => None,
			}
		})
	}
}

/// What other pallets read about anchored credentials (implemented by
/// `pallets/credentials`).
pub trait CredentialsInspect<BlockNumber> {
	/// The credential of type `credential_type` that `issuer` anchored last about
	/// `subject`, with its status and the block that status was set in. An issuer no
	/// longer active makes its credentials count as revoked from its deactivation on.
	fn held(
		subject: &DidId,
		credential_type: &CredentialType,
		issuer: &DidId,
	) -> Option<(CredentialHash, CredentialStatus, BlockNumber)>;
	/// The status of `issuer`'s credential `hash` and the block it was set in.
	fn status(issuer: &DidId, hash: &CredentialHash) -> Option<(CredentialStatus, BlockNumber)>;
	/// Anchors an active credential of `credential_type` by `issuer` about `subject`, for
	/// other pallets' benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_credential(
		issuer: DidId,
		subject: DidId,
		credential_type: CredentialType,
	) -> CredentialHash;
}

/// No credentials (a runtime without the credential registry).
impl<BlockNumber> CredentialsInspect<BlockNumber> for () {
	fn held(
		_: &DidId,
		_: &CredentialType,
		_: &DidId,
	) -> Option<(CredentialHash, CredentialStatus, BlockNumber)> {
		None
	}
	fn status(_: &DidId, _: &CredentialHash) -> Option<(CredentialStatus, BlockNumber)> {
		None
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_credential(_: DidId, _: DidId, _: CredentialType) -> CredentialHash {
		unimplemented!("a runtime without credentials benchmarks no credential call")
	}
}
