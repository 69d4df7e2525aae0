//! The node service: client, import queue, network, Aura authoring and the GRANDPA voter.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};
use w3b_runtime::{apis::RuntimeApi, opaque::Block};

use crate::client::FullClient;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLinkHalf = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// GRANDPA justifications are imported and produced at least every this many blocks,
/// so that a syncing node can verify finality without every vote.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts of the service built before the network: what the import/export
/// subcommands need as well as the full node.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(GrandpaBlockImport, GrandpaLinkHalf, Option<Telemetry>),
>;

/// Builds the client, the backend, the transaction pool and the Aura import queue
/// (wrapping GRANDPA's block import).
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|endpoints| !endpoints.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let inherent_client = client.clone();
	let import_queue =
		sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |parent_hash, _| {
				let client = inherent_client.clone();
				async move {
					let slot_duration =
						sc_consensus_aura::standalone::slot_duration_at(&*client, parent_hash)?;
					let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
					let slot =
						sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
							*timestamp,
							slot_duration,
						);
					Ok((slot, timestamp))
				}
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_block_import, grandpa_link, telemetry),
	})
}

/// Builds and starts the full node: network, RPC, and, on validators, Aura authoring
/// and the GRANDPA voter.
pub fn new_full<N>(
	config: Configuration,
	ingest: crate::cli::IngestArgs,
) -> Result<TaskManager, ServiceError>
where
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
{
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, grandpa_link, mut telemetry),
	} = new_partial(&config)?;
	let w3b_dir = config.base_path.path().join("w3b");
	// The port `--rpc-port` set (its first endpoint), for the console's page.
	let rpc_port = config
		.rpc
		.addr
		.as_ref()
		.and_then(|endpoints| endpoints.first())
		.map_or(config.rpc.port, |endpoint| endpoint.listen_addr.port());
	let w3b_metrics = config
		.prometheus_registry()
		.map(crate::worker::Metrics::register)
		.transpose()
		.map_err(|e| ServiceError::Other(format!("registering W3bstream metrics: {e}")))?;
	let store =
		crate::ingest::open_store(&ingest.w3b_store, &w3b_dir).map_err(ServiceError::Other)?;
	let vfs = crate::ingest::open_vfs(&ingest.w3b_vfs, &w3b_dir).map_err(ServiceError::Other)?;
	let run_worker = ingest.w3b_worker.unwrap_or(config.role.is_authority());
	// Without a worker nothing reports a pass, and the node is never behind.
	let backlog =
		Arc::new(w3b_ingest::backlog::Backlog::new(Duration::from_millis(ingest.w3b_max_pass_ms)));
	let ingestor = Arc::new(
		crate::ingest::ingestor(
			&ingest,
			store.clone(),
			client.clone(),
			keystore_container.keystore(),
			w3b_metrics.clone().map(|m| Arc::new(m) as Arc<dyn w3b_ingest::IngestObserver>),
		)
		.with_backlog(backlog.clone()),
	);
	if let Some(seed) = config.dev_key_seed.as_deref() {
		keystore_container
			.keystore()
			.sr25519_generate_new(crate::worker::OPERATOR_KEY_TYPE, Some(seed))
			.map_err(|e| ServiceError::Other(format!("inserting the dev operator key: {e}")))?;
	}
	if !run_worker && crate::worker::operator_key(&keystore_container.keystore()).is_some() {
		// Ingestion takes the messages of the projects this key operates: they wait.
		log::warn!(
			"👷 this node has an operator key but runs no W3bstream worker: it stores the messages of the projects its operator serves and commits none until it runs one (--w3b-worker=true)"
		);
	}

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let genesis_hash = client
		.block_hash(0)?
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			net_config.peer_store_handle(),
		);
	net_config.add_notification_protocol(grandpa_protocol_config);
	let (batch_protocol_config, batch_requests) = crate::worker::protocol::config::<N>();
	net_config.add_request_response_protocol(batch_protocol_config);
	let (state_protocol_config, state_requests) = crate::worker::state_protocol::config::<N>();
	net_config.add_request_response_protocol(state_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: false,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let data = w3b_rpc::NodeData::new(
			ingestor.clone(),
			vfs.clone(),
			crate::rpc::finalized_proofs(client.clone(), &task_manager.spawn_handle()),
		);
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				data: data.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let byzantine = crate::worker::Byzantine::parse(&ingest.w3b_byzantine)
		.map_err(|e| ServiceError::Other(format!("--w3b-byzantine: {e}")))?;
	let withheld = crate::worker::Withheld::default();
	// One room for the answers of both protocols.
	let answers = crate::worker::protocol::AnswersInFlight::new(
		crate::worker::protocol::MAX_ANSWERS_IN_FLIGHT,
	);
	task_manager.spawn_handle().spawn(
		"w3b-batch-protocol",
		Some("w3b"),
		crate::worker::protocol::serve(
			batch_requests,
			vfs.clone(),
			withheld.clone(),
			answers.clone(),
		),
	);
	let recent_changes = crate::worker::RecentChanges::default();
	task_manager.spawn_handle().spawn(
		"w3b-state-protocol",
		Some("w3b"),
		crate::worker::state_protocol::serve(state_requests, recent_changes.clone(), answers),
	);
	if run_worker {
		let worker = crate::worker::Worker::new(crate::worker::WorkerParams {
			client: client.clone(),
			pool: transaction_pool.clone(),
			keystore: keystore_container.keystore(),
			store: store.clone(),
			vfs: vfs.clone(),
			peers: crate::worker::Peers::new(network.clone(), sync_service.clone()),
			recent_changes,
			state_dir: w3b_dir.join("state"),
			limits: w3b_worker::BatchLimits {
				max_messages: ingest.w3b_max_batch,
				max_bytes: ingest.w3b_max_batch_bytes,
			},
			seal_interval: Duration::from_millis(ingest.w3b_seal_interval_ms),
			slot_duration: Duration::from_millis(w3b_runtime::SLOT_DURATION),
			byzantine,
			withheld,
			metrics: w3b_metrics,
			evm_endpoints: ingest.w3b_evm_url.clone(),
			backlog,
		})
		.map_err(|e| ServiceError::Other(format!("starting the W3bstream worker: {e}")))?;
		task_manager.spawn_essential_handle().spawn("w3b-worker", Some("w3b"), worker.run());
	}

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		// Bridge signatures: what a relayer carries to the EVM chains.
		task_manager.spawn_handle().spawn(
			"w3b-bridge-signer",
			Some("w3b"),
			crate::bridge::run(
				client.clone(),
				transaction_pool.clone(),
				keystore_container.keystore(),
			),
		);
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			telemetry.as_ref().map(|x| x.handle()),
		);

		let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;

		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client: client.clone(),
				select_chain,
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
					let slot =
						sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
							*timestamp,
							slot_duration,
						);
					Ok((slot, timestamp))
				},
				force_authoring,
				backoff_authoring_blocks: Option::<()>::None,
				keystore: keystore_container.keystore(),
				sync_oracle: sync_service.clone(),
				justification_sync_link: sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				compatibility_mode: Default::default(),
			},
		)?;

		// Authoring is essential: if it fails, the node stops rather than silently
		// validating without producing blocks.
		task_manager.spawn_essential_handle().spawn_blocking("aura", Some("block-authoring"), aura);
	}

	if enable_grandpa {
		// Only validators vote; other nodes follow finality through justifications.
		let keystore = role.is_authority().then(|| keystore_container.keystore());

		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};

		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: sync_service,
			notification_service: grandpa_notification_service,
			// Vote on the best block: W3bstream's proofs count once GRANDPA-final, so the
			// default rules' lag of two blocks behind the best would be two block times of
			// latency for every device. GRANDPA's safety does not depend on these rules.
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::new().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};

		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	if let Some(port) = ingest.w3b_identity_port {
		crate::identity::start(
			std::net::SocketAddr::new(ingest.w3b_listen, port),
			ingest.w3b_identity_url.clone(),
			client.clone(),
			keystore_container.keystore(),
			&task_manager,
		)?;
	}
	if let Some(port) = ingest.w3b_console_port {
		let dir = ingest.w3b_console_dir.clone().unwrap_or_else(crate::console::default_dir);
		crate::console::start(
			std::net::SocketAddr::new(ingest.w3b_console_listen, port),
			&dir,
			rpc_port,
			&task_manager,
		)
		.map_err(ServiceError::Other)?;
	}
	crate::ingest::start(&ingest, ingestor, &w3b_dir, &task_manager)
		.map_err(ServiceError::Other)?;

	Ok(task_manager)
}
