//! Operators: the community nodes that ingest, execute and attest a project's data.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

use crate::{credential::CredentialPolicy, project::Did, ProjectId};

/// Most operators in one project's subnet.
pub type MaxSubnetSize = ConstU32<64>;
/// Most subnets one operator serves.
pub type MaxSubnetsPerOperator = ConstU32<16>;
/// Most pending unbonding chunks of one operator.
pub type MaxUnlockChunks = ConstU32<8>;
/// Longest endpoint URL, in bytes.
pub type MaxEndpointLen = ConstU32<128>;

/// An endpoint URL (`mqtt://host:port`, `https://host/...`), possibly empty.
pub type Endpoint = BoundedVec<u8, MaxEndpointLen>;

/// Where devices and peers reach an operator.
#[derive(
	Clone,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Endpoints {
	/// MQTT broker URL devices publish to.
	pub mqtt: Endpoint,
	/// HTTP ingestion URL.
	pub http: Endpoint,
}

/// Part of a bond on its way out: released by `withdraw_unbonded` from block `unlock_at`.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct UnlockChunk<Balance, BlockNumber> {
	/// Amount still held.
	pub amount: Balance,
	/// First block at which it can be withdrawn.
	pub unlock_at: BlockNumber,
}

/// A registered operator.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct OperatorInfo<Balance, BlockNumber> {
	/// Active bond, held from the operator's balance.
	pub bond: Balance,
	/// Bond being released.
	pub unlocking: BoundedVec<UnlockChunk<Balance, BlockNumber>, MaxUnlockChunks>,
	/// Where it serves.
	pub endpoints: Endpoints,
	/// Its DID, if it has one.
	pub did: Option<Did>,
	/// Projects whose subnet it has joined.
	pub subnets: BoundedVec<ProjectId, MaxSubnetsPerOperator>,
	/// Block of registration.
	pub registered_at: BlockNumber,
}

/// Who may take a seat in a project's subnet: set by the project's owner. Every seat
/// holds its own bond, so k seats cost k bonds whatever the policy.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum AdmissionPolicy<Balance> {
	/// Any registered operator takes a seat by holding `bond_per_seat` for it.
	Open {
		/// Held for each seat until it is given up and its unbonding period is over.
		bond_per_seat: Balance,
	},
	/// Operators apply, holding `bond_per_seat`; only those the owner admits take a seat.
	Approved {
		/// Held from the application on, as for [`AdmissionPolicy::Open`].
		bond_per_seat: Balance,
	},
	/// An operator takes a seat by holding `bond_per_seat` if the DID it linked holds an
	/// active credential `credential` accepts (say, an audit firm's "vetted operator"
	/// credential); it loses the seat when the credential stops holding.
	Credential {
		/// Held as for [`AdmissionPolicy::Open`].
		bond_per_seat: Balance,
		/// The credential required.
		credential: CredentialPolicy,
	},
}

impl<Balance: Copy> AdmissionPolicy<Balance> {
	/// What each seat holds under this policy.
	pub fn bond_per_seat(&self) -> Balance {
		match self {
			Self::Open { bond_per_seat }
			| Self::Approved { bond_per_seat }
			| Self::Credential { bond_per_seat, .. } => *bond_per_seat,
		}
	}
}

/// Where an operator's seat in one subnet stands.
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
pub enum SeatStatus<BlockNumber> {
	/// Applied to a project that admits by approval; waiting for the owner.
	Applied,
	/// In the subnet: ingests, executes and attests.
	Member,
	/// Out of the subnet; the bond is released from block `unlock_at` (it stays
	/// slashable for what the operator did as a member until then).
	Leaving {
		/// First block at which the seat's bond can be withdrawn.
		unlock_at: BlockNumber,
	},
}

/// An operator's seat in one project's subnet, with the bond it holds.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Seat<Balance, BlockNumber> {
	/// Held from the operator's balance for this seat.
	pub bond: Balance,
	/// Block at which the operator applied or became a member, whichever came last.
	pub since: BlockNumber,
	/// Where the seat stands.
	pub status: SeatStatus<BlockNumber>,
}

/// Why an operator lost its seat without leaving.
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
pub enum RemovalReason {
	/// The project's owner removed it (or turned its application down).
	Owner,
	/// It attested none of the project's recent batches (see the attestations pallet).
	Absent,
	/// It committed a batch the chain found invalid: its seat's bond was slashed.
	InvalidBatch,
	/// It voted against the finalized result of the project's rounds many times in a row
	/// (see the attestations pallet): its seat's bond was slashed.
	Dissent,
	/// The project admits by credential and the operator's no longer holds.
	CredentialLost,
}
