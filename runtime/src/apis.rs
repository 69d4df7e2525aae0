//! The runtime APIs the node calls into.

use alloc::vec::Vec;
use frame_support::{
	genesis_builder_helper::{build_state, get_preset},
	weights::Weight,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	traits::{Block as BlockT, NumberFor},
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult,
};
use sp_version::RuntimeVersion;

use sp_core::{H160, H256};
use w3b_primitives::{
	bridge::{BridgeAuthorityId, BridgeMessage, RelayBatch, RelaySetChange},
	operator::OperatorInfo,
	project::{Applet, CodeInfo, DeviceRecord, ProjectInfo},
	proof::{Commitment, Proof},
	traits::SubnetInspect,
	validity::Invalid,
	AppletId, DeviceId, ProjectId,
};

use crate::{
	AccountId, Attestations, Aura, Balance, Block, BlockNumber, Commitments, Executive, Grandpa,
	InherentDataExt, Nonce, Operators, Projects, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeGenesisConfig, SessionKeys, System, TransactionPayment, VERSION,
};

impl_runtime_apis! {
	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block);
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(
			owner: Vec<u8>,
			seed: Option<Vec<u8>>,
		) -> sp_session::OpaqueGeneratedSessionKeys {
			SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			_equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			_key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			// Equivocations are not slashed on this PoA chain: governance removes a
			// misbehaving validator instead.
			None
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			_authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			// `KeyOwnerProof` is `Void`: there are no ownership proofs to make.
			None
		}
	}

	impl w3b_primitives::api::InboundApi<Block, AccountId> for Runtime {
		fn subscriptions(project: ProjectId) -> Vec<(u32, w3b_primitives::inbound::Subscription, w3b_primitives::inbound::Cursor)> {
			pallet_inbound::Pallet::<Runtime>::subscriptions(project)
		}

		fn observation_vote(project: ProjectId, subscription: u32, who: AccountId) -> Option<H256> {
			pallet_inbound::Pallet::<Runtime>::vote_of(project, subscription, &who)
		}

		fn on_chain_body(project: ProjectId, seq: u64) -> Option<Vec<u8>> {
			pallet_commitments::Pallet::<Runtime>::on_chain_body(project, seq)
		}
	}

	impl w3b_primitives::api::DidApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn did(id: w3b_primitives::did::DidId) -> w3b_primitives::did::DidState<AccountId, Balance, BlockNumber> {
			pallet_did::Pallet::<Runtime>::state(id)
		}
	}

	impl w3b_primitives::api::CredentialsApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn credential(
			issuer: w3b_primitives::did::DidId,
			hash: w3b_primitives::credential::CredentialHash,
		) -> Option<(
			w3b_primitives::credential::CredentialRecord<AccountId, Balance, BlockNumber>,
			w3b_primitives::credential::CredentialStatus,
			BlockNumber,
		)> {
			let record = pallet_credentials::Credentials::<Runtime>::get(issuer, hash)?;
			let (status, since) = pallet_credentials::Pallet::<Runtime>::effective_status(&record);
			Some((record, status, since))
		}

		fn status_entry(
			issuer: w3b_primitives::did::DidId,
			index: u32,
		) -> Option<w3b_primitives::credential::CredentialHash> {
			pallet_credentials::StatusIndices::<Runtime>::get(issuer, index)
		}

		fn status_list(
			issuer: w3b_primitives::did::DidId,
		) -> Vec<(u32, w3b_primitives::credential::CredentialStatus)> {
			pallet_credentials::Pallet::<Runtime>::status_list(issuer)
		}
	}

	impl w3b_primitives::api::BridgeApi<Block> for Runtime {
		fn bridge_to_sign(key: BridgeAuthorityId, limit: u32) -> Vec<(BridgeMessage, u32, H256)> {
			pallet_bridge::Pallet::<Runtime>::to_sign(&key, limit)
		}

		fn bridge_batch(chain: u64, nonce: u64) -> Option<RelayBatch> {
			pallet_bridge::Pallet::<Runtime>::relay_batch(chain, nonce)
		}

		fn bridge_set_change(chain: u64, set_id: u64) -> Option<RelaySetChange> {
			pallet_bridge::Pallet::<Runtime>::relay_set_change(chain, set_id)
		}

		fn bridge_targets() -> Vec<(u64, H160, u64, u64)> {
			pallet_bridge::Targets::<Runtime>::iter()
				.map(|(chain, t)| {
					(chain, t.contract, pallet_bridge::NextNonces::<Runtime>::get(chain), t.first_set)
				})
				.collect()
		}

		fn bridge_set() -> Option<(u64, Vec<H160>, u32)> {
			let id = pallet_bridge::CurrentSetId::<Runtime>::get();
			let set = pallet_bridge::Sets::<Runtime>::get(id)?;
			Some((id, set.addresses.into_inner(), set.threshold))
		}
	}

	impl w3b_primitives::api::W3bstreamApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn project(id: ProjectId) -> Option<ProjectInfo<AccountId, Balance, BlockNumber>> {
			pallet_projects::ProjectInfos::<Runtime>::get(id)
		}

		fn project_id(name: Vec<u8>) -> Option<ProjectId> {
			let name = w3b_primitives::project::Name::try_from(name).ok()?;
			pallet_projects::ProjectNames::<Runtime>::get(name)
		}

		fn applets(project: ProjectId) -> Vec<(AppletId, Applet)> {
			Projects::applets(project)
		}

		fn code(hash: H256) -> Option<Vec<u8>> {
			pallet_projects::Code::<Runtime>::get(hash).map(|code| code.into_inner())
		}

		fn code_info(hash: H256) -> Option<CodeInfo<AccountId, Balance>> {
			pallet_projects::CodeInfos::<Runtime>::get(hash)
		}

		fn device(project: ProjectId, device: DeviceId) -> Option<DeviceRecord<BlockNumber>> {
			pallet_projects::Pallet::<Runtime>::device(project, device)
		}

		fn devices(project: ProjectId, devices: Vec<DeviceId>) -> Vec<Option<DeviceRecord<BlockNumber>>> {
			devices
				.into_iter()
				.map(|device| pallet_projects::Pallet::<Runtime>::device(project, device))
				.collect()
		}

		fn subnet(project: ProjectId) -> Vec<AccountId> {
			Operators::members(project)
		}

		fn operator(who: AccountId) -> Option<OperatorInfo<Balance, BlockNumber>> {
			pallet_operators::OperatorInfos::<Runtime>::get(who)
		}

		fn next_batch_seq(project: ProjectId) -> u64 {
			Commitments::next_batch_seq(project)
		}

		fn batch(project: ProjectId, seq: u64) -> Option<Commitment<AccountId, BlockNumber>> {
			Commitments::batch(project, seq)
		}


		fn batch_seq_of_root(project: ProjectId, committer: AccountId, root: H256) -> Option<u64> {
			Commitments::batch_seq_of_root(project, &committer, root)
		}

		fn proof(project: ProjectId, seq: u64) -> Option<Proof<BlockNumber>> {
			Attestations::proof(project, seq)
		}

		fn finalized_proofs() -> Vec<w3b_primitives::proof::FinalizedProof<AccountId>> {
			System::read_events_no_consensus()
				.filter_map(|record| match record.event {
					RuntimeEvent::Attestations(pallet_attestations::Event::ProofFinalized {
						project,
						batch_seq,
						output_root,
						agreed,
						dissenters,
					}) => Some(w3b_primitives::proof::FinalizedProof {
						project,
						batch_seq,
						output_root,
						agreed,
						dissenters,
					}),
					_ => None,
				})
				.collect()
		}

		fn vote(project: ProjectId, seq: u64, who: AccountId) -> Option<w3b_primitives::proof::Vote> {
			Attestations::vote(project, seq, &who)
		}

		fn head(project: ProjectId) -> w3b_primitives::proof::Head {
			Attestations::head(project)
		}

		fn quorum_on(project: ProjectId, seq: u64, previous: H256) -> Option<(H256, Vec<AccountId>)> {
			Attestations::quorum_on(project, seq, previous)
		}

		fn invalid_batch_report(project: ProjectId, seq: u64) -> Option<(AccountId, H256, Invalid)> {
			Commitments::invalid_batch_report(project, seq)
		}

		fn signature_judged(project: ProjectId, device: DeviceId, committed_at: BlockNumber) -> bool {
			pallet_projects::Pallet::<Runtime>::device(project, device).is_none_or(|record| {
				pallet_projects::Pallet::<Runtime>::signature_judged(&record, committed_at)
			})
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
		for Runtime
	{
		fn query_call_info(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_call_info(call, len)
		}
		fn query_call_fee_details(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_call_fee_details(call, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			use frame_benchmarking::BenchmarkList;
			use frame_support::traits::StorageInfoTrait;
			use frame_system_benchmarking::Pallet as SystemBench;
			use crate::*;

			let mut list = Vec::<BenchmarkList>::new();
			list_benchmarks!(list, extra);

			let storage_info = AllPalletsWithSystem::storage_info();
			(list, storage_info)
		}

		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			use frame_benchmarking::BenchmarkBatch;
			use frame_support::traits::WhitelistedStorageKeys;
			use frame_system_benchmarking::Pallet as SystemBench;
			use crate::*;

			let whitelist = AllPalletsWithSystem::whitelisted_storage_keys();
			let mut batches = Vec::<BenchmarkBatch>::new();
			let params = (&config, &whitelist);
			add_benchmarks!(params, batches);
			Ok(batches)
		}
	}

	#[cfg(feature = "try-runtime")]
	impl frame_try_runtime::TryRuntime<Block> for Runtime {
		fn on_runtime_upgrade(checks: frame_try_runtime::UpgradeCheckSelect) -> (Weight, Weight) {
			let weight = Executive::try_runtime_upgrade(checks).unwrap();
			(weight, crate::configs::RuntimeBlockWeights::get().max_block)
		}

		fn execute_block(
			block: <Block as BlockT>::LazyBlock,
			state_root_check: bool,
			signature_check: bool,
			select: frame_try_runtime::TryStateSelect
		) -> Weight {
			Executive::try_execute_block(block, state_root_check, signature_check, select)
				.expect("execute-block failed")
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, crate::genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			crate::genesis_config_presets::preset_names()
		}
	}
}
