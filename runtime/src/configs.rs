//! The `Config` of every pallet in the runtime.

// `derive_impl` injects `RuntimeCall`, `RuntimeEvent`, `RuntimeOrigin`, `PalletInfo`,
// `RuntimeTask` and `RuntimeViewFunction` by name, so they are imported here.
#[allow(unused_imports)]
use crate::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin, RuntimeTask,
	RuntimeViewFunction, SessionKeys, System, Validators, EXISTENTIAL_DEPOSIT, SESSION_PERIOD,
	SLOT_DURATION, VERSION,
};
use crate::{
	Attestations, Bridge, Commitments, Operators, Projects, Timestamp, DAYS, MICRO_UNIT,
	MILLISECS_PER_BLOCK, MILLI_UNIT, MINUTES, UNIT,
};
use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	dynamic_params::dynamic_params,
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::{limits::BlockWeights, EnsureRoot};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	traits::{ConvertInto, One, OpaqueKeys},
	transaction_validity::TransactionPriority,
	Perbill,
};

/// Normal transactions may fill this share of a block; the rest is kept for operational
/// ones (such as governance fixing a stuck chain).
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// Most of a 3 s slot goes to building the block (Aura gives the proposer two thirds
/// of the slot); proof size is unlimited because this is not a parachain.
const MAXIMUM_BLOCK_WEIGHT: Weight =
	Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2), u64::MAX);

/// Largest block: 5 MiB.
const MAXIMUM_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

/// Largest number of validators (and Aura/GRANDPA authorities).
pub const MAX_VALIDATORS: u32 = 32;

parameter_types! {
	/// Block weight limits.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		MAXIMUM_BLOCK_WEIGHT,
		NORMAL_DISPATCH_RATIO,
	);
	/// Block length limits: 5 MiB, 75% for normal transactions.
	pub RuntimeBlockLength: frame_system::limits::BlockLength =
		frame_system::limits::BlockLength::builder()
			.max_length(MAXIMUM_BLOCK_LENGTH)
			.modify_max_length_for_class(DispatchClass::Normal, |max| {
				*max = NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_LENGTH
			})
			.build();
	/// The runtime version, for transaction version checks.
	pub const Version: sp_version::RuntimeVersion = VERSION;
	/// Block hashes kept for `CheckEra` and `CheckGenesis`.
	pub const BlockHashCount: BlockNumber = 2400;
	/// SS58 address prefix (generic Substrate: 42).
	pub const SS58Prefix: u8 = 42;
	/// Fee multiplier: fixed, there is no congestion pricing on a PoA chain.
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type BaseCallFilter = GovernanceFilter;
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	// The node stores its state in ParityDB (RocksDB is not built in).
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

/// The validator council (pallet-collective's first instance).
pub type CouncilCollective = pallet_collective::Instance1;

/// A council motion passed by more than two thirds of the validators: GRANDPA's quorum,
/// so the validators who can finalize blocks are the ones who can govern (3 of 4, 4 of 5,
/// 5 of 6).
pub type CouncilSupermajority =
	pallet_collective::EnsureProportionMoreThan<AccountId, CouncilCollective, 2, 3>;

/// Governance: a council motion of more than two thirds, or `Root` (sudo on the dev
/// chain, and [`pallet_governance::Pallet::dispatch_as_root`]).
pub type GovernanceOrigin =
	frame_support::traits::EitherOfDiverse<EnsureRoot<AccountId>, CouncilSupermajority>;

/// The ayes a motion needs in a council of `members`: more than two thirds.
pub const fn council_threshold(members: u32) -> u32 {
	2 * members / 3 + 1
}

/// Largest motion, in bytes: room for any governance call; code goes through
/// `system.authorizeUpgrade`, whose motion holds only the hash.
pub const MAX_MOTION_BYTES: usize = 16 * 1024;

/// What the chain refuses before dispatch, whoever signs (`Root` is not filtered):
/// - a council motion proposed at another threshold than [`council_threshold`] of the
///   current council, or larger than [`MAX_MOTION_BYTES`]: a member cannot fill the
///   motion queue with proposals that only its own vote keeps alive (at the required
///   threshold, the others' nays disapprove one at once), nor pre-empt an honest motion
///   with a copy at a threshold that makes it fail;
/// - a parameter outside its bounds ([`parameter_in_bounds`]).
pub struct GovernanceFilter;
impl frame_support::traits::Contains<RuntimeCall> for GovernanceFilter {
	fn contains(call: &RuntimeCall) -> bool {
		match call {
			RuntimeCall::Council(pallet_collective::Call::propose {
				threshold, proposal, ..
			}) => {
				let members = pallet_collective::Members::<Runtime, CouncilCollective>::decode_len()
					.unwrap_or(0) as u32;
				*threshold == council_threshold(members)
					&& codec::Encode::encoded_size(proposal.as_ref()) <= MAX_MOTION_BYTES
			}
			RuntimeCall::Parameters(pallet_parameters::Call::set_parameter { key_value }) => {
				parameter_in_bounds(key_value)
			}
			_ => true,
		}
	}
}

/// Whether a parameter's new value keeps the chain's promises: projects can commit
/// (`MaxOpenRounds` at least 16, at most the 256 rounds a block closes, so one project
/// cannot crowd out the others' closing slots), an honest operator that disagrees now and
/// then keeps its seat and a liar loses it (`DissentLimit` 4 to 64), and deposits and
/// bonds stay payable (at most 1,000,000 W3B). Removing a value (back to its default)
/// is always allowed.
pub fn parameter_in_bounds(parameter: &RuntimeParameters) -> bool {
	use dynamic_params::{attestations, identity, operators, projects};
	const MAX_AMOUNT: Balance = 1_000_000 * UNIT;
	let amount = |value: &Option<Balance>| value.is_none_or(|v| v <= MAX_AMOUNT);
	match parameter {
		RuntimeParameters::Attestations(attestations::Parameters::MaxOpenRounds(_, value)) => {
			value.is_none_or(|v| (16..=256).contains(&v))
		}
		RuntimeParameters::Attestations(attestations::Parameters::DissentLimit(_, value)) => {
			value.is_none_or(|v| (4..=64).contains(&v))
		}
		RuntimeParameters::Projects(projects::Parameters::ProjectDeposit(_, value))
		| RuntimeParameters::Projects(projects::Parameters::CodeDepositBase(_, value))
		| RuntimeParameters::Projects(projects::Parameters::CodeDepositPerByte(_, value))
		| RuntimeParameters::Projects(projects::Parameters::DeviceDeposit(_, value))
		| RuntimeParameters::Operators(operators::Parameters::MinBond(_, value))
		| RuntimeParameters::Operators(operators::Parameters::MinSeatBond(_, value))
		| RuntimeParameters::Identity(identity::Parameters::DidDeposit(_, value))
		| RuntimeParameters::Identity(identity::Parameters::CredentialDeposit(_, value)) => amount(value),
	}
}

parameter_types! {
	/// A motion may use at most half a block.
	pub MaxMotionWeight: Weight = Perbill::from_percent(50) * RuntimeBlockWeights::get().max_block;
}

impl pallet_collective::Config<CouncilCollective> for Runtime {
	type RuntimeOrigin = RuntimeOrigin;
	type Proposal = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	// A week to gather votes; a motion closes as soon as it has enough ayes, or enough
	// nays that it cannot get them.
	type MotionDuration = ConstU32<{ 7 * DAYS }>;
	// Bounds the cost of a membership change, which updates every open motion's votes.
	type MaxProposals = ConstU32<32>;
	type MaxMembers = ConstU32<MAX_VALIDATORS>;
	// There is no prime member: a validator who does not vote is counted as against.
	type DefaultVote = pallet_collective::PrimeDefaultVote;
	type WeightInfo = pallet_collective::weights::SubstrateWeight<Runtime>;
	// Members follow the validator set (pallet-validators); nobody sets them directly.
	type SetMembersOrigin = frame_system::EnsureNever<()>;
	type MaxProposalWeight = MaxMotionWeight;
	type DisapproveOrigin = GovernanceOrigin;
	type KillOrigin = GovernanceOrigin;
	// Only validators propose, and a proposal needs no deposit from them.
	type Consideration = ();
}

impl pallet_governance::Config for Runtime {
	type RuntimeCall = RuntimeCall;
	type RootOrigin = CouncilSupermajority;
	type WeightInfo = pallet_governance::weights::SubstrateWeight<Runtime>;
}

/// What governance may change without a runtime upgrade: deposits, minimum bonds and
/// round limits, stored by `pallet-parameters` and set by a council motion
/// (`parameters.setParameter`). None of them bounds a storage item (those stay
/// constants: changing one needs a migration), and deposits already held keep the
/// amount they were taken at (each record stores its own), so a change applies to what
/// is created after it.
#[dynamic_params(RuntimeParameters, pallet_parameters::Parameters::<Runtime>)]
pub mod dynamic_params {
	use super::*;
	use frame_support::dynamic_params::dynamic_pallet_params;

	/// `pallet-projects`' deposits.
	#[dynamic_pallet_params]
	#[codec(index = 0)]
	pub mod projects {
		/// Held from a project's owner while the project is open.
		#[codec(index = 0)]
		pub static ProjectDeposit: Balance = 10 * UNIT;
		/// Held for each uploaded module.
		#[codec(index = 1)]
		pub static CodeDepositBase: Balance = UNIT;
		/// Held per byte of uploaded code: 1 MiB holds about 10.5 W3B.
		#[codec(index = 2)]
		pub static CodeDepositPerByte: Balance = 10 * MICRO_UNIT;
		/// Held per registered device: a record takes about 230 bytes, so 0.01 W3B each
		/// and 1,000 W3B for 100,000 devices.
		#[codec(index = 3)]
		pub static DeviceDeposit: Balance = 10 * MILLI_UNIT;
	}

	/// `pallet-operators`' minimum bonds.
	#[dynamic_pallet_params]
	#[codec(index = 1)]
	pub mod operators {
		/// The smallest bond of a registered operator.
		#[codec(index = 0)]
		pub static MinBond: Balance = 100 * UNIT;
		/// The smallest bond a project may ask per seat in its subnet.
		#[codec(index = 1)]
		pub static MinSeatBond: Balance = 100 * UNIT;
	}

	/// Deposits of `pallet-did` and `pallet-credentials`.
	#[dynamic_pallet_params]
	#[codec(index = 2)]
	pub mod identity {
		/// Held per DID: the largest document and its 32 retired keys take about 4.6 KB,
		/// 0.2 W3B at the rate of a device's record.
		#[codec(index = 0)]
		pub static DidDeposit: Balance = 200 * MILLI_UNIT;
		/// Held per anchored credential (about 300 bytes with its status entry and what
		/// its subject holds).
		#[codec(index = 1)]
		pub static CredentialDeposit: Balance = 10 * MILLI_UNIT;
	}

	/// `pallet-attestations`' round limits.
	#[dynamic_pallet_params]
	#[codec(index = 3)]
	pub mod attestations {
		/// A project with this many batches not settled commits no more until they
		/// settle: a busy honest one has a few dozen (4 committers, 20-block deadlines).
		#[codec(index = 0)]
		pub static MaxOpenRounds: u32 = 256;
		/// An operator whose votes against a project's finalized results outnumber its
		/// votes for them by this many loses its seat there and the seat's bond.
		#[codec(index = 1)]
		pub static DissentLimit: u32 = 8;
	}
}

impl pallet_parameters::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeParameters = RuntimeParameters;
	type AdminOrigin = frame_support::traits::AsEnsureOriginWithArg<GovernanceOrigin>;
	// Upstream's reference weights: one storage write, whatever the parameter.
	type WeightInfo = ();
}

impl pallet_validators::Config for Runtime {
	type UpdateOrigin = GovernanceOrigin;
	type Council = crate::Council;
	type MaxValidators = ConstU32<MAX_VALIDATORS>;
	type BridgeSets = Bridge;
	type WeightInfo = pallet_validators::weights::SubstrateWeight<Runtime>;
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<ConstU32<SESSION_PERIOD>, ConstU32<0>>;
	type NextSessionRotation =
		pallet_session::PeriodicSessions<ConstU32<SESSION_PERIOD>, ConstU32<0>>;
	type SessionManager = Validators;
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	// Validators are admitted by governance, so registering keys needs no deposit.
	type KeyDeposit = ConstU128<0>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Derives the projects' reward pool accounts.
	pub const OperatorsPalletId: frame_support::PalletId = frame_support::PalletId(*b"w3b/oprs");
	/// Where slashed seat bonds go: the treasury's account, which no call spends yet
	/// (governance will).
	pub TreasuryAccount: AccountId =
		sp_runtime::traits::AccountIdConversion::into_account_truncating(
			&frame_support::PalletId(*b"w3b/trsy"),
		);
}

impl pallet_projects::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ProjectDeposit = dynamic_params::projects::ProjectDeposit;
	type CodeDepositBase = dynamic_params::projects::CodeDepositBase;
	type CodeDepositPerByte = dynamic_params::projects::CodeDepositPerByte;
	type MaxCodeSize = ConstU32<{ 1024 * 1024 }>;
	type MaxApplets = ConstU32<16>;
	type MaxDevices = ConstU32<100_000>;
	type DeviceDeposit = dynamic_params::projects::DeviceDeposit;
	// A day and five minutes (the oldest and the newest a message may be at its
	// commitment), and a block: what a revoked device sent before counts in no later batch.
	type DeviceRemovalDelay = ConstU32<
		{
			((w3b_primitives::validity::MAX_AGE_MS + w3b_primitives::validity::MAX_AHEAD_MS)
				/ MILLISECS_PER_BLOCK) as u32
				+ 1
		},
	>;
	type Batches = Commitments;
	// 15 s to 30 min at 3 s blocks.
	type MinAttestationDeadline = ConstU32<5>;
	type MaxAttestationDeadline = ConstU32<600>;
	type Subnets = Operators;
	type Dids = crate::Did;
	type Credentials = crate::Credentials;
	type WeightInfo = pallet_projects::weights::SubstrateWeight<Runtime>;
}

impl pallet_did::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DidDeposit = dynamic_params::identity::DidDeposit;
	// An hour at 3 s blocks: a signed operation cannot be kept and used months later.
	type MaxOperationValidity = ConstU32<1200>;
	type WeightInfo = pallet_did::weights::SubstrateWeight<Runtime>;
}

impl pallet_credentials::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = crate::Did;
	type CredentialDeposit = dynamic_params::identity::CredentialDeposit;
	// An hour at 3 s blocks, as for DID operations.
	type MaxOperationValidity = ConstU32<1200>;
	type WeightInfo = pallet_credentials::weights::SubstrateWeight<Runtime>;
}

impl pallet_operators::Config for Runtime {
	type MinBond = dynamic_params::operators::MinBond;
	type MinSeatBond = dynamic_params::operators::MinSeatBond;
	type UnbondingPeriod = ConstU32<DAYS>;
	type PalletId = OperatorsPalletId;
	type Treasury = TreasuryAccount;
	type WeightInfo = pallet_operators::weights::SubstrateWeight<Runtime>;
}

impl pallet_commitments::Config for Runtime {
	type Time = Timestamp;
	type CommitmentWindow = ConstU32<1024>;
	type MaxPrunePerCommit = ConstU32<4>;
	type Observer = Attestations;
	type Proofs = Attestations;
	// Committing a batch pays for its round's free votes: 6 milli-W3B per voter, about
	// two thirds of what a vote in a round of four would pay in fees (its weight, about
	// 9.7 ms, at one unit per picosecond; debug-build weights overstate it).
	type VoteFee = ConstU128<{ 6 * MILLI_UNIT }>;
	type WeightInfo = pallet_commitments::weights::SubstrateWeight<Runtime>;
}

impl pallet_attestations::Config for Runtime {
	type MaxRoundsPerBlock = ConstU32<256>;
	type MaxOpenRounds = dynamic_params::attestations::MaxOpenRounds;
	// 18 s: operators see the settlement final, run again and vote on the agreed state.
	type SettleGrace = ConstU32<6>;
	// A member silent for 100 batches in a row over at least an hour may be removed: long
	// enough for a validator to restart or upgrade its node.
	type AbsenceLimit = ConstU32<100>;
	type AbsencePeriod = ConstU32<{ 60 * MINUTES }>;
	// Lying is never cheap, and an honest node that disagrees now and then (a crash
	// mid-batch) agrees in between.
	type DissentLimit = dynamic_params::attestations::DissentLimit;
	type Outputs = Bridge;
	type WeightInfo = pallet_attestations::weights::SubstrateWeight<Runtime>;
}

impl pallet_bridge::Config for Runtime {
	type TargetOrigin = GovernanceOrigin;
	type Projects = Projects;
	// IoTeX mainnet and testnet, and room for two more.
	type MaxTargets = ConstU32<4>;
	// 64 outputs cost about 800,000 gas to deliver in one transaction.
	type MaxBatchOutputs = ConstU32<64>;
	type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
	// A day of batches at one a block: relayers keep what they relayed.
	type KeptBatches = ConstU64<{ DAYS as u64 }>;
	// Ahead of operators' transactions: a signature is what a relayer waits for.
	type SignaturePriority = ConstU64<{ TransactionPriority::MAX / 2 }>;
	type WeightInfo = pallet_bridge::weights::SubstrateWeight<Runtime>;
}

impl pallet_inbound::Config for Runtime {
	type WeightInfo = pallet_inbound::weights::SubstrateWeight<Runtime>;
}
