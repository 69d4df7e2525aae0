//! # Projects Pallet
//!
//! The applet registry of W3bstream: projects, their WASM code, applets and devices.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! - **Projects.** [`Pallet::create_project`] holds [`Config::ProjectDeposit`] from the
//!   creator and gives the project the next id; names are unique among open projects. The
//!   owner sets its [`ProjectConfig`] (environment, retention, fuel, quorum base, deadline,
//!   rewards, bridge target), transfers, pauses, resumes and closes it. Closing releases
//!   the deposit, frees the name and the applets' code.
//! - **Code.** [`Pallet::upload_code`] stores a WASM module under its `blake2_256` hash,
//!   holding a deposit per byte from the uploader. The module must be applet code
//!   ([`w3b_primitives::code::inspect_module`]): valid WebAssembly 2.0, imports only from
//!   the W3bstream ABI and WASI (functions the host provides, with their types), exports
//!   `memory` and `alloc`, and is cheap enough for
//!   every operator to compile (bounded functions and branch points). Its exported functions are
//!   recorded so strategies can only route to handlers that exist.
//!   [`Pallet::remove_code`] returns the deposit at any time: code applets still run is
//!   left to them and goes with the last of them.
//! - **Applets.** A project runs up to [`Config::MaxApplets`] applets, each a version of a
//!   code hash with strategies (event type → handler, `DEFAULT` for the rest). Each
//!   applet holds the deposit of the code it runs from the project's owner (the code's
//!   deposit again, released when it moves to other code or is removed): code anyone
//!   uploaded may be run by any project, and whoever makes the chain keep it pays for it.
//!   [`Pallet::upgrade_applet`] moves an applet to new code; the project's key-value state
//!   belongs to the project, not the code, so it is kept.
//! - **Devices.** Up to [`Config::MaxDevices`] devices per project, each registered with
//!   its public key (ed25519, sr25519 or secp256k1) and optionally its DID, and the block
//!   of its registration, holding [`Config::DeviceDeposit`] from the owner. A revoked
//!   device stays recorded with the block of its revocation (its messages in batches
//!   committed after that block do not count, [`w3b_primitives::validity`]) until the
//!   owner removes it ([`Pallet::remove_device`], the deposit comes back): once every
//!   message it could have sent before is too old to count in a new batch, and no batch
//!   committed before then is left in the commitment window.
//! - **Lifecycle.** A new project is [`ProjectStatus::Pending`]; it becomes
//!   [`ProjectStatus::Active`] as soon as `min_operators` operators are in its subnet
//!   (the operators pallet tells this pallet through [`SubnetObserver`]), and drops back
//!   to Pending if they leave. Paused and Closed projects are not processed.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::Precision,
		Get,
	},
	BoundedVec,
};
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};
use w3b_primitives::{
	credential::{CredentialHash, CredentialPolicy, CredentialStatus, CredentialsInspect},
	did::DidId,
	project::{
		code_hash, Applet, CodeInfo, DeviceRecord, DeviceStatus, Did, MaxStrategies, Metadata,
		Name, ProjectConfig, ProjectInfo, ProjectStatus, Strategy,
	},
	traits::{BatchWindow, BridgeTargets, DidKeys, SubnetInspect, SubnetObserver},
	AppletId, DeviceId, DeviceKey, ProjectId,
};

/// Balance type of the currency deposits are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A project as this runtime stores it.
pub type ProjectOf<T> = ProjectInfo<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;
/// A project configuration as this runtime stores it.
pub type ConfigOf<T> = ProjectConfig<BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>>;
/// The strategies of an applet.
pub type Strategies = BoundedVec<Strategy, MaxStrategies>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which [`HoldReason`] is part.
		type RuntimeHoldReason: From<HoldReason>;
		/// Held from the creator of a project until it is closed.
		#[pallet::constant]
		type ProjectDeposit: Get<BalanceOf<Self>>;
		/// Held for each uploaded module, plus [`Config::CodeDepositPerByte`] per byte.
		#[pallet::constant]
		type CodeDepositBase: Get<BalanceOf<Self>>;
		/// Held per byte of uploaded code.
		#[pallet::constant]
		type CodeDepositPerByte: Get<BalanceOf<Self>>;
		/// Largest module accepted, in bytes.
		#[pallet::constant]
		type MaxCodeSize: Get<u32>;
		/// Most applets in one project.
		#[pallet::constant]
		type MaxApplets: Get<u32>;
		/// Most devices recorded in one project (revoked ones included, until removed).
		#[pallet::constant]
		type MaxDevices: Get<u32>;
		/// Held from a project's owner for each device it registers, until the device's
		/// record is removed.
		#[pallet::constant]
		type DeviceDeposit: Get<BalanceOf<Self>>;
		/// Blocks after its revocation before a device's record may be removed: longer than
		/// a message may wait for its commitment ([`w3b_primitives::validity::MAX_AGE_MS`]
		/// and [`w3b_primitives::validity::MAX_AHEAD_MS`]), so that a message it sent
		/// before can only be too old in any batch committed after that.
		#[pallet::constant]
		type DeviceRemovalDelay: Get<BlockNumberFor<Self>>;
		/// Shortest attestation deadline a project may set, in blocks.
		#[pallet::constant]
		type MinAttestationDeadline: Get<BlockNumberFor<Self>>;
		/// Longest attestation deadline a project may set, in blocks.
		#[pallet::constant]
		type MaxAttestationDeadline: Get<BlockNumberFor<Self>>;
		/// The projects' commitment windows: a revoked device's record is kept while a
		/// batch that may hold its messages is in its project's window (evidence against
		/// that batch is checked against the record).
		type Batches: BatchWindow<BlockNumberFor<Self>>;
		/// Sizes of the projects' subnets.
		type Subnets: SubnetInspect<Self::AccountId>;
		/// The `did:w3b` DIDs devices may be registered by.
		type Dids: DidKeys<BlockNumberFor<Self>>;
		/// The credentials a project may require of its devices.
		type Credentials: CredentialsInspect<BlockNumberFor<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Deposit of an open project.
		#[codec(index = 0)]
		ProjectDeposit,
		/// Deposit of stored code.
		#[codec(index = 1)]
		CodeDeposit,
		/// Deposit of an applet for the code it runs.
		#[codec(index = 2)]
		AppletDeposit,
		/// Deposit of a device's record.
		#[codec(index = 3)]
		DeviceDeposit,
	}

	/// The id the next project gets.
	#[pallet::storage]
	pub type NextProjectId<T> = StorageValue<_, ProjectId, ValueQuery>;

	/// Projects by id (closed ones included).
	#[pallet::storage]
	pub type ProjectInfos<T: Config> = StorageMap<_, Blake2_128Concat, ProjectId, ProjectOf<T>>;

	/// The block each closed project was closed in.
	#[pallet::storage]
	pub type ClosedAt<T: Config> = StorageMap<_, Blake2_128Concat, ProjectId, BlockNumberFor<T>>;

	/// Ids of open projects by name.
	#[pallet::storage]
	pub type ProjectNames<T> = StorageMap<_, Blake2_128Concat, Name, ProjectId>;

	/// WASM modules by hash.
	#[pallet::storage]
	pub type Code<T: Config> =
		StorageMap<_, Identity, H256, BoundedVec<u8, <T as Config>::MaxCodeSize>>;

	/// Facts about stored modules by hash.
	#[pallet::storage]
	pub type CodeInfos<T: Config> =
		StorageMap<_, Identity, H256, CodeInfo<T::AccountId, BalanceOf<T>>>;

	/// Applets by project and applet id.
	#[pallet::storage]
	pub type Applets<T> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, AppletId, Applet>;

	/// The deposit each applet holds for its code, and from whom.
	#[pallet::storage]
	pub type AppletDeposits<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Twox64Concat,
		AppletId,
		(T::AccountId, BalanceOf<T>),
	>;

	/// Number of applets of each project.
	#[pallet::storage]
	pub type AppletCount<T> = StorageMap<_, Blake2_128Concat, ProjectId, u32, ValueQuery>;

	/// The id a project's next applet gets.
	#[pallet::storage]
	pub type NextAppletId<T> = StorageMap<_, Blake2_128Concat, ProjectId, AppletId, ValueQuery>;

	/// Devices by project and device id.
	#[pallet::storage]
	pub type Devices<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Identity,
		DeviceId,
		DeviceRecord<BlockNumberFor<T>>,
	>;

	/// The credential each project requires of its devices, when its owner set one.
	#[pallet::storage]
	pub type DeviceCredentialPolicies<T: Config> =
		StorageMap<_, Blake2_128Concat, ProjectId, CredentialPolicy>;

	/// The credential each device registered under a credential policy was admitted
	/// with: revoking or suspending it revokes the device.
	#[pallet::storage]
	pub type DeviceCredentials<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Identity,
		DeviceId,
		(DidId, CredentialHash),
	>;

	/// The deposit each device's record holds, and from whom.
	#[pallet::storage]
	pub type DeviceDeposits<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Identity,
		DeviceId,
		(T::AccountId, BalanceOf<T>),
	>;

	/// Number of devices recorded in each project (revoked ones until removed).
	#[pallet::storage]
	pub type DeviceCount<T> = StorageMap<_, Blake2_128Concat, ProjectId, u32, ValueQuery>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A project was created (Pending until its subnet is large enough).
		ProjectCreated {
			/// Its id.
			project: ProjectId,
			/// Its owner.
			owner: T::AccountId,
			/// Its name.
			name: Name,
		},
		/// A project changed hands.
		ProjectTransferred {
			/// The project.
			project: ProjectId,
			/// The previous owner.
			from: T::AccountId,
			/// The new owner.
			to: T::AccountId,
		},
		/// A project's configuration was replaced.
		ProjectConfigured {
			/// The project.
			project: ProjectId,
		},
		/// A project's status changed.
		ProjectStatusChanged {
			/// The project.
			project: ProjectId,
			/// The new status.
			status: ProjectStatus,
		},
		/// Code was stored.
		CodeUploaded {
			/// Its hash.
			code_hash: H256,
			/// Who uploaded it.
			owner: T::AccountId,
			/// Its size in bytes.
			len: u32,
			/// The deposit held.
			deposit: BalanceOf<T>,
		},
		/// Code was removed (by its uploader, or with the last applet that ran it once its
		/// uploader had let it go).
		CodeRemoved {
			/// Its hash.
			code_hash: H256,
		},
		/// The uploader took its deposit back while applets still run the code: it stays
		/// as long as they do.
		CodeLeftToApplets {
			/// Its hash.
			code_hash: H256,
			/// Applets that run it.
			applets: u32,
		},
		/// An applet was registered or upgraded.
		AppletDeployed {
			/// The project.
			project: ProjectId,
			/// The applet.
			applet: AppletId,
			/// The code it now runs.
			code_hash: H256,
			/// Its version (1 when registered).
			version: u32,
		},
		/// An applet was removed.
		AppletRemoved {
			/// The project.
			project: ProjectId,
			/// The applet.
			applet: AppletId,
		},
		/// A device was registered.
		DeviceRegistered {
			/// The project.
			project: ProjectId,
			/// The device's id (hash of its key).
			device: DeviceId,
		},
		/// A device was revoked.
		DeviceRevoked {
			/// The project.
			project: ProjectId,
			/// The device.
			device: DeviceId,
		},
		/// A revoked device's record was removed and its deposit released.
		DeviceRemoved {
			/// The project.
			project: ProjectId,
			/// The device.
			device: DeviceId,
		},
		/// A project's owner set or cleared the credential its devices must hold.
		DeviceCredentialPolicySet {
			/// The project.
			project: ProjectId,
			/// The policy, `None` when cleared.
			policy: Option<CredentialPolicy>,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No project has this id.
		UnknownProject,
		/// The caller does not own the project.
		NotOwner,
		/// The name is empty or not UTF-8.
		InvalidName,
		/// An open project already has this name.
		NameTaken,
		/// The project is closed.
		ProjectClosed,
		/// The project is already paused.
		AlreadyPaused,
		/// The project is not paused.
		NotPaused,
		/// `min_operators` is 0.
		InvalidMinOperators,
		/// `fuel_per_batch` is 0 or above [`w3b_primitives::project::MAX_FUEL_PER_BATCH`].
		InvalidFuel,
		/// The attestation deadline is outside the allowed range.
		InvalidDeadline,
		/// An environment key is empty or appears twice.
		InvalidEnv,
		/// The module is larger than [`Config::MaxCodeSize`].
		CodeTooLarge,
		/// The module is not valid WebAssembly 2.0.
		InvalidWasm,
		/// The module imports from a module other than `env`, `stat` and
		/// `wasi_snapshot_preview1`.
		ForbiddenImport,
		/// The module does not export `memory`.
		NoMemoryExport,
		/// The module does not export `alloc`.
		NoAllocExport,
		/// The module exports more functions than can be recorded.
		TooManyExports,
		/// This code is already stored.
		CodeExists,
		/// No code has this hash.
		UnknownCode,
		/// Only the uploader may remove code.
		NotCodeOwner,
		/// The project has [`Config::MaxApplets`] applets.
		TooManyApplets,
		/// No applet has this id in the project.
		UnknownApplet,
		/// Another applet of the project has this name.
		AppletNameTaken,
		/// An applet needs at least one strategy.
		NoStrategies,
		/// Two strategies name the same event type, or one is empty.
		InvalidStrategy,
		/// A strategy routes to a function the code does not export.
		UnknownHandler,
		/// The device is already registered in the project.
		DeviceExists,
		/// The project has [`Config::MaxDevices`] devices.
		TooManyDevices,
		/// No device has this id in the project.
		UnknownDevice,
		/// The DID named is not an active `did:w3b` DID.
		UnknownDid,
		/// The project requires its devices to hold a credential: they register by their
		/// DID, which must hold an active credential of the policy's type from one of its
		/// issuers.
		CredentialRequired,
		/// A credential policy must trust at least one issuer.
		NoTrustedIssuer,
		/// The device is already revoked.
		DeviceAlreadyRevoked,
		/// Only a revoked device's record can be removed.
		DeviceNotRevoked,
		/// The device was revoked less than [`Config::DeviceRemovalDelay`] blocks ago, or a
		/// batch committed before that is still in the project's commitment window (or the
		/// project was closed less than [`Config::DeviceRemovalDelay`] blocks ago).
		DeviceStillNeeded,
		/// The module would cost every operator too much to compile: too many functions,
		/// or too many branch points (see [`w3b_primitives::code::MAX_FUNCTIONS`] and the
		/// limits beside it).
		CodeTooComplex,
		/// The module imports a function the host does not provide, or one of them with
		/// another type, or a memory, table or global
		/// ([`w3b_primitives::code::HOST_FUNCTIONS`]): it would never run.
		UnknownImport,
		/// The module asks more of an instance than the engine gives one (memory, tables,
		/// globals, data or element segments; see
		/// [`w3b_primitives::code::MAX_MEMORY_PAGES`] and the limits beside it): it
		/// would compile and never run.
		CodeInstanceTooLarge,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Creates a project owned by the caller, in status Pending.
		///
		/// - Origin: signed; [`Config::ProjectDeposit`] is held from the caller.
		/// - `name`: non-empty UTF-8, unique among open projects.
		/// - `config`: checked as in [`Pallet::set_config`].
		///
		/// Emits [`Event::ProjectCreated`]. Errors: [`Error::InvalidName`],
		/// [`Error::NameTaken`], the configuration errors, or the currency's error when the
		/// deposit cannot be held.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::create_project())]
		pub fn create_project(
			origin: OriginFor<T>,
			name: Name,
			metadata: Metadata,
			config: ConfigOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(
				!name.is_empty() && core::str::from_utf8(&name).is_ok(),
				Error::<T>::InvalidName
			);
			ensure!(!ProjectNames::<T>::contains_key(&name), Error::<T>::NameTaken);
			Self::check_config(&config)?;
			let deposit = T::ProjectDeposit::get();
			T::Currency::hold(&HoldReason::ProjectDeposit.into(), &owner, deposit)?;
			let project = NextProjectId::<T>::mutate(|next| {
				let id = *next;
				*next += 1;
				id
			});
			ProjectNames::<T>::insert(&name, project);
			ProjectInfos::<T>::insert(
				project,
				ProjectInfo {
					owner: owner.clone(),
					name: name.clone(),
					metadata,
					status: ProjectStatus::Pending,
					config,
					depositor: owner.clone(),
					deposit,
					created_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::ProjectCreated { project, owner, name });
			Ok(())
		}

		/// Gives a project to `new_owner`. The deposit stays held from the depositor.
		///
		/// - Origin: signed by the owner.
		///
		/// Emits [`Event::ProjectTransferred`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`].
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::transfer_project())]
		pub fn transfer_project(
			origin: OriginFor<T>,
			project: ProjectId,
			new_owner: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::mutate_open_project(project, &who, |info| {
				info.owner = new_owner.clone();
				Ok(())
			})?;
			Self::deposit_event(Event::ProjectTransferred { project, from: who, to: new_owner });
			Ok(())
		}

		/// Replaces a project's configuration. A new `min_operators` takes effect at once:
		/// the project moves between Pending and Active if its subnet size now calls for it.
		///
		/// - Origin: signed by the owner.
		/// - `config.min_operators` >= 1, `config.fuel_per_batch` in
		///   1..=[`w3b_primitives::project::MAX_FUEL_PER_BATCH`], the deadline within
		///   [`Config::MinAttestationDeadline`]..=[`Config::MaxAttestationDeadline`],
		///   environment keys non-empty and unique.
		///
		/// Emits [`Event::ProjectConfigured`] and possibly [`Event::ProjectStatusChanged`].
		/// Errors: [`Error::UnknownProject`], [`Error::NotOwner`], [`Error::ProjectClosed`],
		/// [`Error::InvalidMinOperators`], [`Error::InvalidFuel`], [`Error::InvalidDeadline`],
		/// [`Error::InvalidEnv`].
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::set_config())]
		pub fn set_config(
			origin: OriginFor<T>,
			project: ProjectId,
			config: ConfigOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_config(&config)?;
			Self::mutate_open_project(project, &who, |info| {
				info.config = config;
				Ok(())
			})?;
			Self::deposit_event(Event::ProjectConfigured { project });
			Self::update_status(project, T::Subnets::subnet_size(project));
			Ok(())
		}

		/// Pauses a Pending or Active project: its data is no longer processed.
		///
		/// - Origin: signed by the owner.
		///
		/// Emits [`Event::ProjectStatusChanged`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::AlreadyPaused`].
		#[pallet::call_index(3)]
		#[pallet::weight(<T as Config>::WeightInfo::pause_project())]
		pub fn pause_project(origin: OriginFor<T>, project: ProjectId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::mutate_open_project(project, &who, |info| {
				ensure!(info.status != ProjectStatus::Paused, Error::<T>::AlreadyPaused);
				info.status = ProjectStatus::Paused;
				Ok(())
			})?;
			Self::deposit_event(Event::ProjectStatusChanged {
				project,
				status: ProjectStatus::Paused,
			});
			Ok(())
		}

		/// Resumes a paused project: Active if its subnet has `min_operators` operators,
		/// Pending otherwise.
		///
		/// - Origin: signed by the owner.
		///
		/// Emits [`Event::ProjectStatusChanged`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::NotPaused`].
		#[pallet::call_index(4)]
		#[pallet::weight(<T as Config>::WeightInfo::resume_project())]
		pub fn resume_project(origin: OriginFor<T>, project: ProjectId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let size = T::Subnets::subnet_size(project);
			let status = Self::mutate_open_project(project, &who, |info| {
				ensure!(info.status == ProjectStatus::Paused, Error::<T>::NotPaused);
				info.status = status_for(info.config.min_operators, size);
				Ok(info.status)
			})?;
			Self::deposit_event(Event::ProjectStatusChanged { project, status });
			Ok(())
		}

		/// Closes a project for good: releases its deposit to the depositor, frees its name
		/// and removes its applets (releasing their code and deposits). Its devices and
		/// history stay recorded; the devices' records (and deposits) may go
		/// [`Config::DeviceRemovalDelay`] blocks later ([`Pallet::remove_device`]).
		///
		/// - Origin: signed by the owner.
		///
		/// Emits [`Event::AppletRemoved`] per applet and [`Event::ProjectStatusChanged`].
		/// Errors: [`Error::UnknownProject`], [`Error::NotOwner`], [`Error::ProjectClosed`].
		#[pallet::call_index(5)]
		#[pallet::weight(<T as Config>::WeightInfo::close_project(T::MaxApplets::get()))]
		pub fn close_project(
			origin: OriginFor<T>,
			project: ProjectId,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let info = Self::mutate_open_project(project, &who, |info| {
				info.status = ProjectStatus::Closed;
				Ok(info.clone())
			})?;
			T::Currency::release(
				&HoldReason::ProjectDeposit.into(),
				&info.depositor,
				info.deposit,
				Precision::BestEffort,
			)?;
			ProjectNames::<T>::remove(&info.name);
			ClosedAt::<T>::insert(project, frame_system::Pallet::<T>::block_number());
			let applets: Vec<(AppletId, Applet)> = Applets::<T>::drain_prefix(project).collect();
			for (applet, record) in &applets {
				Self::release_code(project, *applet, &record.code_hash);
				Self::deposit_event(Event::AppletRemoved { project, applet: *applet });
			}
			AppletCount::<T>::remove(project);
			Self::deposit_event(Event::ProjectStatusChanged {
				project,
				status: ProjectStatus::Closed,
			});
			Ok(Some(<T as Config>::WeightInfo::close_project(applets.len() as u32)).into())
		}

		/// Stores a WASM module under its `blake2_256` hash.
		///
		/// - Origin: signed; `CodeDepositBase + CodeDepositPerByte * len` is held.
		/// - `code`: at most [`Config::MaxCodeSize`] bytes of applet code (see
		///   [`w3b_primitives::code::inspect_module`]).
		///
		/// Emits [`Event::CodeUploaded`]. Errors: [`Error::CodeTooLarge`],
		/// [`Error::InvalidWasm`], [`Error::ForbiddenImport`], [`Error::NoMemoryExport`],
		/// [`Error::NoAllocExport`], [`Error::TooManyExports`], [`Error::CodeExists`], or
		/// the currency's error when the deposit cannot be held.
		#[pallet::call_index(6)]
		#[pallet::weight(<T as Config>::WeightInfo::upload_code(code.len() as u32))]
		pub fn upload_code(origin: OriginFor<T>, code: Vec<u8>) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let code: BoundedVec<u8, <T as Config>::MaxCodeSize> =
				code.try_into().map_err(|_| Error::<T>::CodeTooLarge)?;
			let hash = code_hash(&code);
			ensure!(!CodeInfos::<T>::contains_key(hash), Error::<T>::CodeExists);
			let summary = w3b_primitives::code::inspect_module(&code).map_err(|e| {
				use w3b_primitives::code::CodeError;
				match e {
					CodeError::Invalid => Error::<T>::InvalidWasm,
					CodeError::ForbiddenImport => Error::<T>::ForbiddenImport,
					CodeError::NoMemoryExport => Error::<T>::NoMemoryExport,
					CodeError::NoAllocExport => Error::<T>::NoAllocExport,
					CodeError::TooComplex => Error::<T>::CodeTooComplex,
					CodeError::UnknownImport => Error::<T>::UnknownImport,
					CodeError::InstanceTooLarge => Error::<T>::CodeInstanceTooLarge,
				}
			})?;
			let exports = summary
				.functions
				.into_iter()
				.filter_map(|name| name.into_bytes().try_into().ok())
				.collect::<Vec<_>>()
				.try_into()
				.map_err(|_| Error::<T>::TooManyExports)?;
			let len = code.len() as u32;
			let deposit = Self::code_deposit(len);
			T::Currency::hold(&HoldReason::CodeDeposit.into(), &owner, deposit)?;
			Code::<T>::insert(hash, code);
			CodeInfos::<T>::insert(
				hash,
				CodeInfo { owner: owner.clone(), deposit, len, refs: 0, exports },
			);
			Self::deposit_event(Event::CodeUploaded { code_hash: hash, owner, len, deposit });
			Ok(())
		}

		/// Releases the uploader's deposit for code and removes the code, or, while applets
		/// still run it, leaves it to them: each of them holds a deposit for it, and it goes
		/// with the last of them. So pointing an applet at someone's code never locks their
		/// deposit.
		///
		/// - Origin: signed by the uploader.
		///
		/// Emits [`Event::CodeRemoved`] or [`Event::CodeLeftToApplets`]. Errors:
		/// [`Error::UnknownCode`], [`Error::NotCodeOwner`].
		#[pallet::call_index(7)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_code())]
		pub fn remove_code(origin: OriginFor<T>, code_hash: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = CodeInfos::<T>::get(code_hash).ok_or(Error::<T>::UnknownCode)?;
			ensure!(info.owner == who, Error::<T>::NotCodeOwner);
			T::Currency::release(
				&HoldReason::CodeDeposit.into(),
				&who,
				info.deposit,
				Precision::BestEffort,
			)?;
			if info.refs == 0 {
				CodeInfos::<T>::remove(code_hash);
				Code::<T>::remove(code_hash);
				Self::deposit_event(Event::CodeRemoved { code_hash });
			} else {
				info.deposit = Zero::zero();
				let applets = info.refs;
				CodeInfos::<T>::insert(code_hash, info);
				Self::deposit_event(Event::CodeLeftToApplets { code_hash, applets });
			}
			Ok(())
		}

		/// Registers an applet (version 1) on a project.
		///
		/// - Origin: signed by the project owner.
		/// - `name`: non-empty UTF-8, unique among the project's applets.
		/// - `code_hash`: stored code (anyone's). The code's deposit
		///   ([`Pallet::code_deposit`] of its size) is held from the caller while the applet
		///   runs it.
		/// - `strategies`: at least one; event types non-empty and unique; every handler an
		///   exported function of the code.
		///
		/// Emits [`Event::AppletDeployed`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::InvalidName`],
		/// [`Error::AppletNameTaken`], [`Error::TooManyApplets`], [`Error::UnknownCode`],
		/// [`Error::NoStrategies`], [`Error::InvalidStrategy`], [`Error::UnknownHandler`],
		/// or the currency's error when the deposit cannot be held.
		#[pallet::call_index(8)]
		#[pallet::weight(<T as Config>::WeightInfo::register_applet(T::MaxApplets::get()))]
		pub fn register_applet(
			origin: OriginFor<T>,
			project: ProjectId,
			name: Name,
			code_hash: H256,
			strategies: Strategies,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner_of_open(project, &who)?;
			ensure!(
				!name.is_empty() && core::str::from_utf8(&name).is_ok(),
				Error::<T>::InvalidName
			);
			let count = AppletCount::<T>::get(project);
			ensure!(count < T::MaxApplets::get(), Error::<T>::TooManyApplets);
			ensure!(
				!Applets::<T>::iter_prefix_values(project).any(|a| a.name == name),
				Error::<T>::AppletNameTaken
			);
			Self::check_strategies(&code_hash, &strategies)?;
			let applet = NextAppletId::<T>::mutate(project, |next| {
				let id = *next;
				*next += 1;
				id
			});
			Self::acquire_code(project, applet, &code_hash, &who)?;
			Applets::<T>::insert(
				project,
				applet,
				Applet { name, code_hash, version: 1, strategies },
			);
			AppletCount::<T>::insert(project, count + 1);
			Self::deposit_event(Event::AppletDeployed { project, applet, code_hash, version: 1 });
			Ok(())
		}

		/// Moves an applet to new code and strategies, as its next version. The project's
		/// key-value state is kept.
		///
		/// - Origin: signed by the project owner; the deposit for the old code is released
		///   and the new code's held from the caller.
		///
		/// Emits [`Event::AppletDeployed`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::UnknownApplet`],
		/// [`Error::UnknownCode`], [`Error::NoStrategies`], [`Error::InvalidStrategy`],
		/// [`Error::UnknownHandler`], or the currency's error when the deposit cannot be
		/// held.
		#[pallet::call_index(9)]
		#[pallet::weight(<T as Config>::WeightInfo::upgrade_applet())]
		pub fn upgrade_applet(
			origin: OriginFor<T>,
			project: ProjectId,
			applet: AppletId,
			code_hash: H256,
			strategies: Strategies,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner_of_open(project, &who)?;
			let mut record = Applets::<T>::get(project, applet).ok_or(Error::<T>::UnknownApplet)?;
			Self::check_strategies(&code_hash, &strategies)?;
			// The same code again keeps its reference and deposit (released first, code its
			// uploader let go would be removed with its last applet).
			if code_hash != record.code_hash {
				Self::release_code(project, applet, &record.code_hash);
				Self::acquire_code(project, applet, &code_hash, &who)?;
			}
			record.code_hash = code_hash;
			record.strategies = strategies;
			record.version = record.version.saturating_add(1);
			let version = record.version;
			Applets::<T>::insert(project, applet, record);
			Self::deposit_event(Event::AppletDeployed { project, applet, code_hash, version });
			Ok(())
		}

		/// Removes an applet from a project, releasing its code and its deposit.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::AppletRemoved`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::UnknownApplet`].
		#[pallet::call_index(10)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_applet())]
		pub fn remove_applet(
			origin: OriginFor<T>,
			project: ProjectId,
			applet: AppletId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner_of_open(project, &who)?;
			let record = Applets::<T>::take(project, applet).ok_or(Error::<T>::UnknownApplet)?;
			Self::release_code(project, applet, &record.code_hash);
			AppletCount::<T>::mutate(project, |count| *count = count.saturating_sub(1));
			Self::deposit_event(Event::AppletRemoved { project, applet });
			Ok(())
		}

		/// Registers a device under a project by its public key, optionally with its DID.
		/// Its id is [`DeviceKey::device_id`].
		///
		/// - Origin: signed by the project owner; [`Config::DeviceDeposit`] is held from it
		///   until the device's record is removed ([`Pallet::remove_device`]).
		///
		/// Emits [`Event::DeviceRegistered`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::DeviceExists`] (also for
		/// a revoked key, until removed), [`Error::TooManyDevices`], or the currency's error
		/// when the deposit cannot be held.
		#[pallet::call_index(11)]
		#[pallet::weight(<T as Config>::WeightInfo::register_device())]
		pub fn register_device(
			origin: OriginFor<T>,
			project: ProjectId,
			key: DeviceKey,
			did: Option<Did>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(
				!DeviceCredentialPolicies::<T>::contains_key(project),
				Error::<T>::CredentialRequired
			);
			Self::insert_device(&who, project, key, did, None)
		}

		/// Registers a device under a project by its `did:w3b` DID: its id is the DID's
		/// identifier, and its messages verify against the DID's authentication key as of
		/// each batch's commitment, so the device rotates its key without being registered
		/// again (a message signed by a key it rotated away from no longer counts). A DID
		/// deactivated counts as the device's revocation.
		///
		/// - Origin: signed by the project owner; [`Config::DeviceDeposit`] is held from it
		///   until the device's record is removed ([`Pallet::remove_device`]).
		///
		/// Under a device credential policy ([`Pallet::set_device_credential_policy`]) the
		/// DID must hold an active credential the policy accepts; the device is revoked
		/// from the block that credential is revoked or suspended in.
		///
		/// Emits [`Event::DeviceRegistered`]. Errors: [`Error::UnknownDid`],
		/// [`Error::CredentialRequired`], [`Error::UnknownProject`], [`Error::NotOwner`],
		/// [`Error::ProjectClosed`], [`Error::DeviceExists`], [`Error::TooManyDevices`], or
		/// the currency's error when the deposit cannot be held.
		#[pallet::call_index(14)]
		#[pallet::weight(<T as Config>::WeightInfo::register_device_by_did())]
		pub fn register_device_by_did(
			origin: OriginFor<T>,
			project: ProjectId,
			did: DidId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (key, _) = T::Dids::authentication_key(&did).ok_or(Error::<T>::UnknownDid)?;
			let credential = match DeviceCredentialPolicies::<T>::get(project) {
				Some(policy) => Some(
					policy
						.active_credential::<_, T::Credentials>(&did)
						.ok_or(Error::<T>::CredentialRequired)?,
				),
				None => None,
			};
			Self::insert_device(&who, project, key, None, Some(did))?;
			if let Some(credential) = credential {
				DeviceCredentials::<T>::insert(project, did, credential);
			}
			Ok(())
		}

		/// Sets or clears the credential `project`'s devices must hold to register:
		/// devices register by their DID from then on. Devices registered before keep
		/// their registration.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::DeviceCredentialPolicySet`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::NoTrustedIssuer`].
		#[pallet::call_index(15)]
		#[pallet::weight(<T as Config>::WeightInfo::set_device_credential_policy())]
		pub fn set_device_credential_policy(
			origin: OriginFor<T>,
			project: ProjectId,
			policy: Option<CredentialPolicy>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner_of_open(project, &who)?;
			match &policy {
				Some(policy) => {
					ensure!(!policy.issuers.is_empty(), Error::<T>::NoTrustedIssuer);
					DeviceCredentialPolicies::<T>::insert(project, policy);
				}
				None => DeviceCredentialPolicies::<T>::remove(project),
			}
			Self::deposit_event(Event::DeviceCredentialPolicySet { project, policy });
			Ok(())
		}

		/// Revokes a device: its messages are refused from now on, for good. Records the
		/// current block as `revoked_at`: its messages in batches committed in a later
		/// block do not count.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::DeviceRevoked`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::UnknownDevice`],
		/// [`Error::DeviceAlreadyRevoked`].
		#[pallet::call_index(12)]
		#[pallet::weight(<T as Config>::WeightInfo::revoke_device())]
		pub fn revoke_device(
			origin: OriginFor<T>,
			project: ProjectId,
			device: DeviceId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner_of_open(project, &who)?;
			Devices::<T>::try_mutate(project, device, |record| {
				let record = record.as_mut().ok_or(Error::<T>::UnknownDevice)?;
				ensure!(record.status == DeviceStatus::Active, Error::<T>::DeviceAlreadyRevoked);
				record.status = DeviceStatus::Revoked;
				record.revoked_at = Some(frame_system::Pallet::<T>::block_number());
				Ok::<_, Error<T>>(())
			})?;
			Self::deposit_event(Event::DeviceRevoked { project, device });
			Ok(())
		}

		/// Removes a revoked device's record, or any device's of a closed project, and
		/// releases its deposit. Its key may then be registered again (its old messages
		/// are too old to count, and its `seq`s that counted stay in the project's state).
		///
		/// - Origin: signed by the project owner.
		/// - The device was revoked more than [`Config::DeviceRemovalDelay`] blocks ago, and
		///   the oldest batch in the project's commitment window was committed after that:
		///   every batch that may hold one of its messages that counted is pruned, and no
		///   later batch can hold one that counts. Or the project was closed more than
		///   [`Config::DeviceRemovalDelay`] blocks ago: it commits no batch any more, and
		///   evidence against its batches is no longer taken.
		///
		/// Emits [`Event::DeviceRemoved`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::UnknownDevice`], [`Error::DeviceNotRevoked`],
		/// [`Error::DeviceStillNeeded`].
		#[pallet::call_index(13)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_device())]
		pub fn remove_device(
			origin: OriginFor<T>,
			project: ProjectId,
			device: DeviceId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = ProjectInfos::<T>::get(project).ok_or(Error::<T>::UnknownProject)?;
			ensure!(info.owner == who, Error::<T>::NotOwner);
			let record = Self::device(project, device).ok_or(Error::<T>::UnknownDevice)?;
			let now = frame_system::Pallet::<T>::block_number();
			let removable = match Self::devices_kept_until(project) {
				Some(until) => now > until,
				None => {
					let revoked_at = record.revoked_at.ok_or(Error::<T>::DeviceNotRevoked)?;
					let until = revoked_at.saturating_add(T::DeviceRemovalDelay::get());
					now > until
						&& T::Batches::oldest_commitment(project).is_none_or(|at| at > until)
				}
			};
			ensure!(removable, Error::<T>::DeviceStillNeeded);
			Devices::<T>::remove(project, device);
			DeviceCredentials::<T>::remove(project, device);
			DeviceCount::<T>::mutate(project, |count| *count = count.saturating_sub(1));
			if let Some((depositor, deposit)) = DeviceDeposits::<T>::take(project, device) {
				T::Currency::release(
					&HoldReason::DeviceDeposit.into(),
					&depositor,
					deposit,
					Precision::BestEffort,
				)?;
			}
			Self::deposit_event(Event::DeviceRemoved { project, device });
			Ok(())
		}
	}
}

/// Pending or Active, for a project needing `min_operators` with `subnet_size` joined.
fn status_for(min_operators: u32, subnet_size: u32) -> ProjectStatus {
	if subnet_size >= min_operators {
		ProjectStatus::Active
	} else {
		ProjectStatus::Pending
	}
}

impl<T: Config> Pallet<T> {
	/// For a closed project, the last block its devices' records are kept, and evidence
	/// against its batches taken: [`Config::DeviceRemovalDelay`] blocks after its closing.
	/// `None` while the project is open.
	pub fn devices_kept_until(
		project: ProjectId,
	) -> Option<frame_system::pallet_prelude::BlockNumberFor<T>> {
		ClosedAt::<T>::get(project).map(|at| at.saturating_add(T::DeviceRemovalDelay::get()))
	}

	/// The deposit held for `len` bytes of code.
	pub fn code_deposit(len: u32) -> BalanceOf<T> {
		use sp_runtime::traits::Saturating;
		T::CodeDepositPerByte::get()
			.saturating_mul(len.into())
			.saturating_add(T::CodeDepositBase::get())
	}

	/// A project's status, if it exists.
	pub fn status(project: ProjectId) -> Option<ProjectStatus> {
		ProjectInfos::<T>::get(project).map(|info| info.status)
	}

	/// Records a device for `who`, the owner of `project`, which is open.
	fn insert_device(
		who: &T::AccountId,
		project: ProjectId,
		key: DeviceKey,
		did: Option<Did>,
		by_did: Option<DidId>,
	) -> sp_runtime::DispatchResult {
		Self::ensure_owner_of_open(project, who)?;
		let device = by_did.unwrap_or_else(|| key.device_id());
		frame_support::ensure!(
			!Devices::<T>::contains_key(project, device),
			Error::<T>::DeviceExists
		);
		let count = DeviceCount::<T>::get(project);
		frame_support::ensure!(count < T::MaxDevices::get(), Error::<T>::TooManyDevices);
		let deposit = T::DeviceDeposit::get();
		T::Currency::hold(&HoldReason::DeviceDeposit.into(), who, deposit)?;
		DeviceDeposits::<T>::insert(project, device, (who.clone(), deposit));
		Devices::<T>::insert(
			project,
			device,
			DeviceRecord {
				key,
				did,
				by_did,
				status: DeviceStatus::Active,
				registered_at: frame_system::Pallet::<T>::block_number(),
				revoked_at: None,
			},
		);
		DeviceCount::<T>::insert(project, count + 1);
		Self::deposit_event(Event::DeviceRegistered { project, device });
		Ok(())
	}

	/// `project`'s device `device` as of this block: for a device registered by its DID,
	/// with the DID's authentication key, and revoked from the DID's deactivation on; for
	/// one admitted with a credential, revoked from the block that credential stopped
	/// being active in (revoked, suspended, or its issuer deactivated).
	pub fn device(
		project: ProjectId,
		device: DeviceId,
	) -> Option<DeviceRecord<frame_system::pallet_prelude::BlockNumberFor<T>>> {
		let mut record = Devices::<T>::get(project, device)?;
		if let Some(did) = record.by_did {
			match T::Dids::authentication_key(&did) {
				Some((key, _)) => record.key = key,
				None => {
					let deactivated = T::Dids::deactivated_at(&did)
						.unwrap_or_else(frame_system::Pallet::<T>::block_number);
					record.status = DeviceStatus::Revoked;
					record.revoked_at =
						Some(record.revoked_at.map_or(deactivated, |at| at.min(deactivated)));
				}
			}
		}
		if let Some((issuer, credential)) = DeviceCredentials::<T>::get(project, device) {
			let (status, since) = T::Credentials::status(&issuer, &credential)
				.unwrap_or((CredentialStatus::Revoked, frame_system::Pallet::<T>::block_number()));
			if status != CredentialStatus::Active {
				record.status = DeviceStatus::Revoked;
				record.revoked_at = Some(record.revoked_at.map_or(since, |at| at.min(since)));
			}
		}
		Some(record)
	}

	/// Whether a bad signature of `record`'s device in a batch committed at
	/// `committed_at` is its committer's fault as far as the chain can tell now: always
	/// for a device registered by its key; for one registered by its DID, only if the
	/// DID's authentication key has not changed since [`Config::DeviceRemovalDelay`]
	/// blocks before the commitment (the oldest a message may be at its commitment). A
	/// message the committer acknowledged under the key the DID had then, rotated away
	/// before the commitment, does not count, and its committer is not to blame.
	pub fn signature_judged(
		record: &DeviceRecord<frame_system::pallet_prelude::BlockNumberFor<T>>,
		committed_at: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> bool {
		let Some(did) = record.by_did else { return true };
		T::Dids::authentication_key(&did).is_some_and(|(_, since)| {
			since.saturating_add(T::DeviceRemovalDelay::get()) <= committed_at
		})
	}

	/// Whether `who` owns `project`, which exists.
	pub fn is_owner(project: ProjectId, who: &T::AccountId) -> bool {
		ProjectInfos::<T>::get(project).is_some_and(|info| &info.owner == who)
	}

	/// Applies `f` to `project` if `who` owns it and it is not closed.
	fn mutate_open_project<R>(
		project: ProjectId,
		who: &T::AccountId,
		f: impl FnOnce(&mut ProjectOf<T>) -> Result<R, sp_runtime::DispatchError>,
	) -> Result<R, sp_runtime::DispatchError> {
		ProjectInfos::<T>::try_mutate(project, |info| {
			let info = info.as_mut().ok_or(Error::<T>::UnknownProject)?;
			ensure_owner_of::<T>(info, who)?;
			f(info)
		})
	}

	fn ensure_owner_of_open(project: ProjectId, who: &T::AccountId) -> Result<(), Error<T>> {
		let info = ProjectInfos::<T>::get(project).ok_or(Error::<T>::UnknownProject)?;
		ensure_owner_of::<T>(&info, who)
	}

	fn check_config(config: &ConfigOf<T>) -> Result<(), Error<T>> {
		frame_support::ensure!(config.min_operators >= 1, Error::<T>::InvalidMinOperators);
		frame_support::ensure!(
			(1..=w3b_primitives::project::MAX_FUEL_PER_BATCH).contains(&config.fuel_per_batch),
			Error::<T>::InvalidFuel
		);
		frame_support::ensure!(
			(T::MinAttestationDeadline::get()..=T::MaxAttestationDeadline::get())
				.contains(&config.attestation_deadline),
			Error::<T>::InvalidDeadline
		);
		for (i, var) in config.env.iter().enumerate() {
			frame_support::ensure!(
				!var.key.is_empty() && !config.env[..i].iter().any(|v| v.key == var.key),
				Error::<T>::InvalidEnv
			);
		}
		Ok(())
	}

	fn check_strategies(code_hash: &H256, strategies: &Strategies) -> Result<(), Error<T>> {
		let code = CodeInfos::<T>::get(code_hash).ok_or(Error::<T>::UnknownCode)?;
		frame_support::ensure!(!strategies.is_empty(), Error::<T>::NoStrategies);
		for (i, strategy) in strategies.iter().enumerate() {
			frame_support::ensure!(
				!strategy.event_type.is_empty()
					&& !strategies[..i].iter().any(|s| s.event_type == strategy.event_type),
				Error::<T>::InvalidStrategy
			);
			frame_support::ensure!(
				code.exports.contains(&strategy.handler),
				Error::<T>::UnknownHandler
			);
		}
		Ok(())
	}

	/// Makes applet `applet` of `project` one of the users of `code_hash`'s code, holding
	/// the code's deposit from `who` for it.
	fn acquire_code(
		project: ProjectId,
		applet: AppletId,
		code_hash: &H256,
		who: &T::AccountId,
	) -> sp_runtime::DispatchResult {
		let mut info = CodeInfos::<T>::get(code_hash).ok_or(Error::<T>::UnknownCode)?;
		let deposit = Self::code_deposit(info.len);
		T::Currency::hold(&HoldReason::AppletDeposit.into(), who, deposit)?;
		AppletDeposits::<T>::insert(project, applet, (who.clone(), deposit));
		info.refs = info.refs.saturating_add(1);
		CodeInfos::<T>::insert(code_hash, info);
		Ok(())
	}

	/// Applet `applet` of `project` no longer runs `code_hash`'s code: its deposit is
	/// released, and code its uploader let go is removed with its last applet.
	fn release_code(project: ProjectId, applet: AppletId, code_hash: &H256) {
		if let Some((depositor, deposit)) = AppletDeposits::<T>::take(project, applet) {
			// Held by this pallet for exactly this amount: nothing is left to release if it
			// fails.
			let _ = T::Currency::release(
				&HoldReason::AppletDeposit.into(),
				&depositor,
				deposit,
				Precision::BestEffort,
			);
		}
		let Some(mut info) = CodeInfos::<T>::get(code_hash) else { return };
		info.refs = info.refs.saturating_sub(1);
		if info.refs == 0 && info.deposit.is_zero() {
			CodeInfos::<T>::remove(code_hash);
			Code::<T>::remove(code_hash);
			Self::deposit_event(Event::CodeRemoved { code_hash: *code_hash });
		} else {
			CodeInfos::<T>::insert(code_hash, info);
		}
	}

	/// Moves `project` between Pending and Active for a subnet of `subnet_size`; Paused
	/// and Closed projects stay as they are.
	fn update_status(project: ProjectId, subnet_size: u32) {
		let changed = ProjectInfos::<T>::mutate(project, |info| {
			let info = info.as_mut()?;
			if !matches!(info.status, ProjectStatus::Pending | ProjectStatus::Active) {
				return None;
			}
			let status = status_for(info.config.min_operators, subnet_size);
			(status != info.status).then(|| {
				info.status = status;
				status
			})
		});
		if let Some(status) = changed {
			Self::deposit_event(Event::ProjectStatusChanged { project, status });
		}
	}

	/// Applets of a project, in id (registration) order.
	pub fn applets(project: ProjectId) -> Vec<(AppletId, Applet)> {
		let mut applets: Vec<_> = Applets::<T>::iter_prefix(project).collect();
		applets.sort_unstable_by_key(|(id, _)| *id);
		applets
	}
}

fn ensure_owner_of<T: Config>(info: &ProjectOf<T>, who: &T::AccountId) -> Result<(), Error<T>> {
	frame_support::ensure!(&info.owner == who, Error::<T>::NotOwner);
	frame_support::ensure!(info.status != ProjectStatus::Closed, Error::<T>::ProjectClosed);
	Ok(())
}

impl<T: Config> SubnetObserver for Pallet<T> {
	fn subnet_changed(project: ProjectId, size: u32) {
		Self::update_status(project, size);
	}
}

impl<T: Config> BridgeTargets for Pallet<T> {
	fn bridge_target(project: ProjectId) -> Option<w3b_primitives::project::BridgeTarget> {
		ProjectInfos::<T>::get(project)?.config.bridge
	}
}
