//! Operators: the community nodes that ingest, execute and attest a project's data.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

use crate::{project::Did, ProjectId};

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
