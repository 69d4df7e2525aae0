//! Projects, their configuration, applets, code and devices: the records
//! `pallets/projects` keeps and the node reads through the runtime API.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H160, H256};
use sp_runtime::BoundedVec;

use crate::DeviceKey;

/// Event type that routes every event no other strategy of the applet names.
pub const DEFAULT_EVENT_TYPE: &[u8] = b"DEFAULT";

/// Longest project or applet name, in bytes.
pub type MaxNameLen = ConstU32<64>;
/// Longest project metadata (free-form, typically JSON or a URI), in bytes.
pub type MaxMetadataLen = ConstU32<1024>;
/// Most environment variables of a project.
pub type MaxEnvVars = ConstU32<32>;
/// Longest environment variable key, in bytes.
pub type MaxEnvKeyLen = ConstU32<64>;
/// Longest environment variable value, in bytes.
pub type MaxEnvValueLen = ConstU32<256>;
/// Most strategies (event type routes) of one applet.
pub type MaxStrategies = ConstU32<32>;
/// Longest event type, in bytes.
pub type MaxEventTypeLen = ConstU32<64>;
/// Longest exported handler name, in bytes.
pub type MaxHandlerLen = ConstU32<64>;
/// Most exported functions recorded for a code blob (its candidate handlers).
pub type MaxExports = ConstU32<128>;
/// Longest DID, in bytes.
pub type MaxDidLen = ConstU32<128>;

/// A project or applet name (UTF-8, non-empty).
pub type Name = BoundedVec<u8, MaxNameLen>;
/// Project metadata.
pub type Metadata = BoundedVec<u8, MaxMetadataLen>;
/// An event type as devices send it.
pub type EventType = BoundedVec<u8, MaxEventTypeLen>;
/// The name of a function an applet exports.
pub type HandlerName = BoundedVec<u8, MaxHandlerLen>;
/// A decentralized identifier (`did:io:...`, `did:key:...`).
pub type Did = BoundedVec<u8, MaxDidLen>;

/// Where a project is in its life.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum ProjectStatus {
	/// Fewer than `min_operators` operators in its subnet: data is not processed.
	Pending,
	/// Operating: batches are committed, executed and attested.
	Active,
	/// Stopped by its owner; resuming returns it to Pending or Active.
	Paused,
	/// Closed for good.
	Closed,
}

impl ProjectStatus {
	/// Whether the network processes the project's data in this state.
	pub fn is_processing(self) -> bool {
		self == ProjectStatus::Active
	}
}

/// How long the network keeps a project's raw data. Zero means no limit.
#[derive(
	Clone,
	Copy,
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct RetentionPolicy {
	/// Batches older than this many seconds may be pruned (0: no age limit).
	pub max_age_secs: u64,
	/// Oldest batches are pruned while the retained ones exceed this size (0: no limit).
	pub max_bytes: u64,
}

/// The EVM contract a project's outputs are delivered to.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct BridgeTarget {
	/// EVM chain id (IoTeX mainnet is 4689, testnet 4690).
	pub chain_id: u64,
	/// Address of the receiver contract.
	pub receiver: H160,
}

/// One environment variable an applet reads with `ws_get_env`.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct EnvVar {
	/// Key (non-empty, unique within the project).
	pub key: BoundedVec<u8, MaxEnvKeyLen>,
	/// Value.
	pub value: BoundedVec<u8, MaxEnvValueLen>,
}

/// Most fuel a project may give one batch. Every operator of the project spends the time
/// this buys on each batch (a few seconds of a core at most, a host call or a wasm
/// instruction being priced at about a nanosecond a unit), so an owner cannot make
/// validators work for minutes on one batch. A batch of
/// [`crate::batch::MAX_BATCH_MESSAGES`] messages gets half a million per message.
pub const MAX_FUEL_PER_BATCH: u64 = 10_000_000_000;

/// Everything the owner of a project sets about how it is processed.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ProjectConfig<Balance, BlockNumber> {
	/// Environment of the applets.
	pub env: BoundedVec<EnvVar, MaxEnvVars>,
	/// Retention of raw data (and of the on-chain commitment window).
	pub retention: RetentionPolicy,
	/// Fuel the engine grants the applets for one batch (1..=[`MAX_FUEL_PER_BATCH`]).
	pub fuel_per_batch: u64,
	/// Operators needed in the subnet before the project becomes Active (at least 1).
	pub min_operators: u32,
	/// Blocks after a commitment during which attestations are accepted.
	pub attestation_deadline: BlockNumber,
	/// Paid from the project's reward pool for each finalized batch, shared by the
	/// operators who agreed.
	pub reward_per_batch: Balance,
	/// Where outputs are bridged to, if anywhere.
	pub bridge: Option<BridgeTarget>,
}

impl<Balance: Default, BlockNumber: From<u32>> Default for ProjectConfig<Balance, BlockNumber> {
	/// One operator, 20 blocks to attest, one billion units of fuel per batch, data kept
	/// for ever, no rewards, no bridge.
	fn default() -> Self {
		ProjectConfig {
			env: BoundedVec::new(),
			retention: RetentionPolicy::default(),
			fuel_per_batch: 1_000_000_000,
			min_operators: 1,
			attestation_deadline: 20u32.into(),
			reward_per_batch: Balance::default(),
			bridge: None,
		}
	}
}

/// A project: an owner's applets, devices and settings.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ProjectInfo<AccountId, Balance, BlockNumber> {
	/// Who manages the project.
	pub owner: AccountId,
	/// Unique name.
	pub name: Name,
	/// Free-form description.
	pub metadata: Metadata,
	/// Lifecycle state.
	pub status: ProjectStatus,
	/// Processing settings.
	pub config: ProjectConfig<Balance, BlockNumber>,
	/// Who paid the creation deposit (it is returned to them on close).
	pub depositor: AccountId,
	/// The creation deposit held from `depositor`.
	pub deposit: Balance,
	/// Block of creation.
	pub created_at: BlockNumber,
}

/// A route from an event type to the handler that processes it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Strategy {
	/// Event type, or [`DEFAULT_EVENT_TYPE`].
	pub event_type: EventType,
	/// Exported function `(rid: i32) -> i32` of the applet's code.
	pub handler: HandlerName,
}

/// An applet: one version of a WASM module with its routes.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Applet {
	/// Name, unique within the project.
	pub name: Name,
	/// Hash of the code it runs (`blake2_256` of the module).
	pub code_hash: H256,
	/// Version, 1 at registration and +1 at each upgrade.
	pub version: u32,
	/// Event routes.
	pub strategies: BoundedVec<Strategy, MaxStrategies>,
}

impl Applet {
	/// The handler for `event_type`: its own strategy, else the DEFAULT one.
	pub fn handler_for(&self, event_type: &[u8]) -> Option<&HandlerName> {
		let find = |ty: &[u8]| {
			self.strategies.iter().find(|s| s.event_type.as_slice() == ty).map(|s| &s.handler)
		};
		find(event_type).or_else(|| find(DEFAULT_EVENT_TYPE))
	}
}

/// Facts about uploaded code.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct CodeInfo<AccountId, Balance> {
	/// Who uploaded it and may remove it.
	pub owner: AccountId,
	/// Deposit held from `owner` for the bytes stored.
	pub deposit: Balance,
	/// Size of the module in bytes.
	pub len: u32,
	/// Number of applets that run it.
	pub refs: u32,
	/// Functions the module exports (the names strategies may route to).
	pub exports: BoundedVec<HandlerName, MaxExports>,
}

/// Whether a device may publish.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum DeviceStatus {
	/// Its messages are accepted.
	Active,
	/// Revoked by the project owner: its messages are refused.
	Revoked,
}

/// A device registered under a project.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DeviceRecord<BlockNumber> {
	/// The key its messages are signed with. For a device registered by its `did:w3b`
	/// DID ([`DeviceRecord::by_did`]) the chain stores the key of its registration and
	/// serves its DID's authentication key as of the block it is read at.
	pub key: DeviceKey,
	/// A DID its owner gave for it (`did:io:...`, `did:key:...`), as the owner wrote it;
	/// the chain does not resolve it.
	pub did: Option<Did>,
	/// The `did:w3b` DID it was registered by: its id is the DID's identifier, and its
	/// messages verify against the DID's authentication key (rotating the key does not
	/// register the device again).
	pub by_did: Option<crate::did::DidId>,
	/// Active or revoked.
	pub status: DeviceStatus,
	/// Block of registration.
	pub registered_at: BlockNumber,
	/// Block of revocation, once revoked: messages committed after it do not count.
	pub revoked_at: Option<BlockNumber>,
}

impl<BlockNumber> DeviceRecord<BlockNumber> {
	/// The device's id: its DID's identifier if it was registered by one, else its key's
	/// id ([`DeviceKey::device_id`]).
	pub fn id(&self) -> crate::DeviceId {
		self.by_did.unwrap_or_else(|| self.key.device_id())
	}
}

/// Hash under which code is stored: `blake2_256` of the module bytes.
pub fn code_hash(code: &[u8]) -> H256 {
	H256(sp_io::hashing::blake2_256(code))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn strategy(ty: &[u8], handler: &[u8]) -> Strategy {
		Strategy {
			event_type: ty.to_vec().try_into().unwrap(),
			handler: handler.to_vec().try_into().unwrap(),
		}
	}

	#[test]
	fn handler_routes_by_event_type_then_default() {
		let mut applet = Applet {
			name: b"a".to_vec().try_into().unwrap(),
			code_hash: H256::zero(),
			version: 1,
			strategies: vec![
				strategy(b"ALERT", b"on_alert"),
				strategy(DEFAULT_EVENT_TYPE, b"start"),
			]
			.try_into()
			.unwrap(),
		};
		assert_eq!(applet.handler_for(b"ALERT").unwrap().as_slice(), b"on_alert");
		assert_eq!(applet.handler_for(b"OTHER").unwrap().as_slice(), b"start");
		applet.strategies.truncate(1);
		assert!(applet.handler_for(b"OTHER").is_none());
	}
}
