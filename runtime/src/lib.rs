//! # W3bstream runtime
//!
//! The FRAME runtime of the W3bstream appchain: a proof-of-authority chain whose
//! validators author blocks with Aura every [`MILLISECS_PER_BLOCK`] milliseconds and
//! finalize them with GRANDPA. The validator set is owned by `pallet-validators` and
//! applied through `pallet-session`. Governance is the validator council
//! (`pallet-collective`, members kept equal to the validator set): a motion of two thirds
//! changes the set, bridge targets and, through `pallet-governance`, anything that needs
//! `Root` (runtime upgrades). Only the dev chain has a sudo key.
//!
//! Modules:
//! - [`configs`]: the `Config` of every pallet;
//! - [`apis`]: the runtime APIs the node calls;
//! - [`genesis_config_presets`]: the `dev` and `local` chains.

#![cfg_attr(not(feature = "std"), no_std)]
// No `deny(missing_docs)` here: `#[frame_support::runtime]` generates public items
// (the aggregated `Runtime*` types) without docs, and lint attributes do not reach them.
// `construct_runtime` expands to a very deep type.
#![recursion_limit = "256"]

#[cfg(all(feature = "std", not(feature = "upgrade-fixture")))]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));
// The upgrade fixture's build names its files after itself (see `build.rs`).
#[cfg(all(feature = "std", feature = "upgrade-fixture"))]
include!(concat!(env!("OUT_DIR"), "/w3b_runtime_upgrade_fixture"));

/// Whether this is the upgrade fixture (never a node's runtime: the node refuses to build
/// with it).
pub const UPGRADE_FIXTURE: bool = cfg!(feature = "upgrade-fixture");

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
pub mod migrations;
#[cfg(test)]
mod tests;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::{runtime_version, RuntimeVersion};

pub use w3b_primitives::{BlockNumber, MILLISECS_PER_BLOCK};

/// Types the node needs without knowing the extrinsic format.
pub mod opaque {
	use super::*;
	use sp_runtime::{generic, traits::Hash as HashT};

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The session keys of a validator: Aura (authoring), GRANDPA (finality) and the
	/// secp256k1 key that signs proofs for the IoTeX bridge.
	pub struct SessionKeys {
		/// sr25519 key for Aura block authoring.
		pub aura: Aura,
		/// ed25519 key for GRANDPA finality votes.
		pub grandpa: Grandpa,
		/// secp256k1 key for bridge signatures (`w3b_`).
		pub w3b: Validators,
	}
}

/// The runtime version. `spec_version` must increase with every runtime upgrade (101:
/// the validator council, governance and parameters; networks on 100 are migrated by
/// [`migrations::SeedCouncilFromValidators`]).
#[cfg(not(feature = "upgrade-fixture"))]
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("w3b-appchain"),
	impl_name: alloc::borrow::Cow::Borrowed("w3b-appchain"),
	authoring_version: 1,
	spec_version: 101,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// The runtime version of the upgrade fixture: this runtime as its next spec version,
/// which the runtime-upgrade test enacts on a running network through governance
/// (`cargo build -p w3b-runtime --features upgrade-fixture`; never a node's runtime).
/// The `#[runtime_version]` attribute takes literals only, hence the second constant.
#[cfg(feature = "upgrade-fixture")]
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("w3b-appchain"),
	impl_name: alloc::borrow::Cow::Borrowed("w3b-appchain"),
	authoring_version: 1,
	spec_version: 102,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Aura slot length; one block per slot.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// Blocks per minute, hour and day at the target block time.
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// Blocks per session: validator-set changes are queued at session boundaries, so this
/// bounds how long governance waits for a change to take effect (at most two sessions).
pub const SESSION_PERIOD: BlockNumber = 10;

/// One W3B token, in the smallest unit (12 decimals).
pub const UNIT: Balance = 1_000_000_000_000;
/// One thousandth of a token.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// One millionth of a token.
pub const MICRO_UNIT: Balance = 1_000_000;
/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// An account's signature: sr25519, ed25519 or secp256k1.
pub type Signature = MultiSignature;
/// An account id: the public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account.
pub type Balance = u128;
/// Transaction counter of an account.
pub type Nonce = u32;
/// Block and state hash.
pub type Hash = sp_core::H256;
/// How an extrinsic names an account.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// Signed block with justifications.
pub type SignedBlock = generic::SignedBlock<Block>;
/// Block id.
pub type BlockId = generic::BlockId<Block>;

/// The checks and charges every signed transaction goes through.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// Extrinsic as it travels and is stored.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload a transaction's signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// What the signer of an immortal transaction with no tip signs: `call` with `nonce`,
/// for the chain with genesis `genesis` at runtime version `spec_version` /
/// `tx_version`. Sign `payload.using_encoded(..)`, then [`signed_transaction`].
pub fn immortal_signed_payload(
	call: RuntimeCall,
	nonce: Nonce,
	spec_version: u32,
	tx_version: u32,
	genesis: Hash,
) -> SignedPayload {
	let extension = immortal_extension(nonce);
	// What each extension adds to the signed payload without travelling in the
	// transaction: versions, genesis hash, and the era's birth block (genesis for an
	// immortal transaction).
	let implicit = ((), (), spec_version, tx_version, genesis, genesis, (), (), (), ());
	SignedPayload::from_raw(call, extension, implicit)
}

/// The extensions of an immortal transaction with no tip and `nonce`.
fn immortal_extension(nonce: Nonce) -> TxExtension {
	(
		frame_system::AuthorizeCall::new(),
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(generic::Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
		frame_system::WeightReclaim::new(),
	)
}

/// A general transaction of `call`: no signer, no fee, no nonce; the call's own
/// `authorize` decides whether it is valid (the bridge's signature calls).
pub fn general_transaction(call: RuntimeCall) -> UncheckedExtrinsic {
	UncheckedExtrinsic::new_transaction(call, immortal_extension(0))
}

/// The transaction of `payload` signed by `signer` with `signature`.
pub fn signed_transaction(
	payload: SignedPayload,
	signer: AccountId,
	signature: Signature,
) -> UncheckedExtrinsic {
	let (call, extension, _) = payload.deconstruct();
	UncheckedExtrinsic::new_signed(call, MultiAddress::Id(signer), signature, extension)
}

/// The signer, nonce and call of `xt` if it is a signed transaction: for clients matching
/// the transactions of blocks and pools to the calls they sent.
pub fn signed_parts(xt: UncheckedExtrinsic) -> Option<(AccountId, Nonce, RuntimeCall)> {
	match xt.preamble {
		generic::Preamble::Signed(
			MultiAddress::Id(signer),
			_,
			(_, _, _, _, _, _, frame_system::CheckNonce(nonce), ..),
		) => Some((signer, nonce, xt.function)),
		_ => None,
	}
}

/// Storage migrations to run at the next runtime upgrade.
#[allow(unused_parens)]
type Migrations = (migrations::SeedCouncilFromValidators,);

/// Dispatches calls to the pallets and runs their hooks.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime: the pallets and their indices. Indices are part of the encoding of
/// every call and event; never renumber one.
#[frame_support::runtime]
mod runtime {
	/// The runtime.
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	/// Accounts, blocks, events.
	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	/// Block timestamps; drives Aura slots.
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	/// Balances of the native token.
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;

	/// Transaction fees.
	#[runtime::pallet_index(3)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// The PoA validator set, changed by governance.
	#[runtime::pallet_index(4)]
	pub type Validators = pallet_validators;

	/// Session keys and session rotation; applies validator-set changes.
	#[runtime::pallet_index(5)]
	pub type Session = pallet_session;

	/// Aura block authoring.
	#[runtime::pallet_index(6)]
	pub type Aura = pallet_aura;

	/// GRANDPA finality.
	#[runtime::pallet_index(7)]
	pub type Grandpa = pallet_grandpa;

	/// Sudo: a single key with `Root`, given only on the dev chain (no key elsewhere).
	#[runtime::pallet_index(8)]
	pub type Sudo = pallet_sudo;

	/// The validator council: motions passed by the validators (its members follow
	/// the validator set).
	#[runtime::pallet_index(9)]
	pub type Council = pallet_collective<Instance1>;

	/// What a council motion may do as `Root` (runtime upgrades, system fixes).
	#[runtime::pallet_index(10)]
	pub type Governance = pallet_governance;

	/// Parameters governance changes without an upgrade (deposits, bonds, round limits).
	#[runtime::pallet_index(11)]
	pub type Parameters = pallet_parameters;

	/// W3bstream projects: code, applets, devices, lifecycle.
	#[runtime::pallet_index(20)]
	pub type Projects = pallet_projects;

	/// W3bstream operators: bonds, subnets, rewards.
	#[runtime::pallet_index(21)]
	pub type Operators = pallet_operators;

	/// Commitments of batches of device data.
	#[runtime::pallet_index(22)]
	pub type Commitments = pallet_commitments;

	/// Attestation of batch results by 2/3 of a subnet.
	#[runtime::pallet_index(23)]
	pub type Attestations = pallet_attestations;

	/// The IoTeX bridge: finalized outputs in batches the validators sign.
	#[runtime::pallet_index(24)]
	pub type Bridge = pallet_bridge;

	/// EVM contract logs as project events, accepted by a quorum of the subnet.
	#[runtime::pallet_index(25)]
	pub type Inbound = pallet_inbound;

	/// `did:w3b` decentralized identifiers.
	#[runtime::pallet_index(26)]
	pub type Did = pallet_did;

	/// The credential registry: anchored credentials and their status.
	#[runtime::pallet_index(27)]
	pub type Credentials = pallet_credentials;
}
