//! Device-data ingestion inside the node: the chain view over the runtime's
//! `W3bstreamApi`, and the HTTP and MQTT endpoints (or an external broker) started as
//! node tasks when asked for on the command line.

use std::{
	collections::HashMap,
	net::{IpAddr, SocketAddr},
	path::Path,
	sync::{Arc, RwLock},
};

use sc_service::TaskManager;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_keystore::KeystorePtr;
use w3b_ingest::{ChainView, IngestObserver, Ingestor, Limits};
use w3b_primitives::{
	api::W3bstreamApi, project::DeviceRecord, DeviceId, DeviceKey, ProjectId, ProjectStatus,
};
use w3b_runtime::opaque::Block;
use w3b_storage::{EmbeddedStore, MessageStore};

use crate::{cli::IngestArgs, client::FullClient};

type Hash = <Block as sp_runtime::traits::Block>::Hash;

/// Most answers of one kind cached at one best block: past it, answers are read and not
/// kept, so a flood of made-up device ids (each charged to its sender's budget first)
/// costs runtime calls, not memory.
const MAX_CACHED: usize = 65_536;

/// Keeps `value` for `key` unless `map` holds [`MAX_CACHED`] answers already.
fn remember<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>, key: K, value: V) {
	if map.len() < MAX_CACHED {
		map.insert(key, value);
	}
}

/// What was read at one best block.
#[derive(Default)]
struct Cache {
	at: Hash,
	projects: HashMap<ProjectId, Option<ProjectStatus>>,
	served: HashMap<ProjectId, bool>,
	devices: HashMap<(ProjectId, DeviceId), Option<DeviceRecord<u32>>>,
	best_devices: HashMap<(ProjectId, DeviceId), Option<DeviceRecord<u32>>>,
}

/// Projects and their subnets as of the best block and devices as of the finalized block
/// (a device registered in a block can publish once that block is final), read through
/// the runtime API and cached until the best block changes. The node serves the projects
/// whose subnet holds the operator key in `keystore`.
pub struct RuntimeChainView {
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	/// The operator's account, read from the keystore once it holds the key (as the
	/// worker does: both then serve as the same operator).
	operator: std::sync::OnceLock<w3b_runtime::AccountId>,
	cache: RwLock<Cache>,
}

impl RuntimeChainView {
	/// A view over `client`, serving as the operator whose key is in `keystore`.
	pub fn new(client: Arc<FullClient>, keystore: KeystorePtr) -> Self {
		RuntimeChainView {
			client,
			keystore,
			operator: std::sync::OnceLock::new(),
			cache: RwLock::new(Cache::default()),
		}
	}

	/// The node's operator account, once its key is in the keystore.
	fn operator(&self) -> Option<&w3b_runtime::AccountId> {
		if let Some(operator) = self.operator.get() {
			return Some(operator);
		}
		let key = crate::worker::operator_key(&self.keystore)?;
		Some(self.operator.get_or_init(|| key.into()))
	}

	/// The cached answer at the best block, or `read` it and cache it.
	fn cached<K: Eq + std::hash::Hash + Copy, V: Clone>(
		&self,
		select: fn(&mut Cache) -> &mut HashMap<K, V>,
		key: K,
		read: impl FnOnce(Hash) -> V,
	) -> V {
		let best = self.client.info().best_hash;
		{
			let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
			if cache.at != best {
				*cache = Cache { at: best, ..Default::default() };
			}
			if let Some(value) = select(&mut cache).get(&key) {
				return value.clone();
			}
		}
		let value = read(best);
		let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
		if cache.at == best {
			remember(select(&mut cache), key, value.clone());
		}
		value
	}

	/// The device as of the best block (cached like the rest: unknown devices are what
	/// strangers send).
	fn device_at_best(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceRecord<u32>> {
		self.cached(
			|c| &mut c.best_devices,
			(project, *device),
			|best| self.client.runtime_api().device(best, project, *device).ok().flatten(),
		)
	}
}

impl ChainView for RuntimeChainView {
	fn project_status(&self, project: ProjectId) -> Option<ProjectStatus> {
		self.cached(
			|c| &mut c.projects,
			project,
			|at| self.client.runtime_api().project(at, project).ok().flatten().map(|p| p.status),
		)
	}

	/// Whether the node's operator is in the project's subnet: only then does its worker
	/// commit the project's batches (when it runs: a node started with
	/// `--w3b-worker=false` keeps what it stored until it runs one). Without an operator
	/// key, no project is served.
	fn serves(&self, project: ProjectId) -> bool {
		self.cached(
			|c| &mut c.served,
			project,
			|at| {
				let Some(operator) = self.operator() else { return false };
				self.client
					.runtime_api()
					.subnet(at, project)
					.is_ok_and(|members| members.contains(operator))
			},
		)
	}

	/// The device as of the finalized block: a registration that a reorganisation could
	/// move to a block after a batch's commitment would make the batch's committer look
	/// at fault (a device unknown at the commitment), so messages count only from
	/// devices whose registration is final.
	fn device(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceRecord<u32>> {
		self.cached(
			|c| &mut c.devices,
			(project, *device),
			|_| {
				let finalized = self.client.info().finalized_hash;
				self.client.runtime_api().device(finalized, project, *device).ok().flatten()
			},
		)
	}

	/// The key of a device registered by DID at the best block, when it is not the one at
	/// the finalized block (its DID rotated it in a block not final yet).
	fn pending_key(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceKey> {
		let finalized = self.device(project, device)?;
		let current = self.device_at_best(project, device)?;
		(current.by_did.is_some() && current.key != finalized.key).then_some(current.key)
	}

	/// Whether the device is registered at the best block (not final yet, when
	/// [`RuntimeChainView::device`] does not know it).
	fn device_pending(&self, project: ProjectId, device: &DeviceId) -> bool {
		self.device_at_best(project, device).is_some()
	}
}

/// The message store `choice` names (`--w3b-store`): the embedded one under
/// `data_dir/messages` (created if needed), or a PostgreSQL database.
pub fn open_store(choice: &str, data_dir: &Path) -> Result<Arc<dyn MessageStore>, String> {
	if choice == "embedded" {
		return EmbeddedStore::open(&data_dir.join("messages"))
			.map(|store| Arc::new(store) as Arc<dyn MessageStore>)
			.map_err(|e| format!("opening the message store in {}: {e}", data_dir.display()));
	}
	if choice.starts_with("postgres://")
		|| choice.starts_with("postgresql://")
		|| choice.contains('=')
	{
		log::info!("💾 W3bstream messages kept in PostgreSQL");
		return w3b_storage::PgStore::connect(choice)
			.map(|store| Arc::new(store) as Arc<dyn MessageStore>)
			.map_err(|e| format!("--w3b-store: connecting to PostgreSQL: {e}"));
	}
	Err(format!("--w3b-store `{choice}`: give `embedded` or a PostgreSQL URL (postgres://...)"))
}

/// The VFS `choice` names (`--w3b-vfs`): files under `data_dir/vfs`, or an IPFS daemon
/// (checked to answer now, so that a wrong address fails at start).
pub fn open_vfs(choice: &str, data_dir: &Path) -> Result<Arc<dyn w3b_storage::Vfs>, String> {
	if choice == "fs" {
		return w3b_storage::FsVfs::open(&data_dir.join("vfs"))
			.map(|vfs| Arc::new(vfs) as Arc<dyn w3b_storage::Vfs>)
			.map_err(|e| format!("opening the batch VFS: {e}"));
	}
	if let Some(api) = choice.strip_prefix("ipfs=") {
		let vfs = w3b_storage::ipfs::IpfsVfs::new(api);
		let version = vfs
			.version()
			.map_err(|e| format!("--w3b-vfs: the IPFS RPC API at {api} does not answer: {e}"))?;
		log::info!("💾 W3bstream batch bodies kept in IPFS {version} at {api}");
		return Ok(Arc::new(vfs));
	}
	Err(format!("--w3b-vfs `{choice}`: give `fs` or `ipfs=http://HOST:PORT`"))
}

/// The ingestor checking messages against the chain (see [`RuntimeChainView`]) and storing them
/// in `store`, with the limits `args` sets.
pub fn ingestor(
	args: &IngestArgs,
	store: Arc<dyn MessageStore>,
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	observer: Option<Arc<dyn IngestObserver>>,
) -> Ingestor {
	let chain = Arc::new(RuntimeChainView::new(client, keystore));
	let rate = |per_second: f64| w3b_ingest::rate::Rate { per_second, burst: 2.0 * per_second };
	let limits = Limits {
		device_rate: rate(args.w3b_device_rate),
		project_rate: rate(args.w3b_project_rate),
		sender_rate: rate(args.w3b_sender_rate),
		..Limits::default()
	};
	let ingestor = Ingestor::new(store, chain, limits);
	match observer {
		Some(observer) => ingestor.with_observer(observer),
		None => ingestor,
	}
}

/// Starts the endpoints `args` asks for.
pub fn start(
	args: &IngestArgs,
	ingestor: Arc<Ingestor>,
	data_dir: &Path,
	task_manager: &TaskManager,
) -> Result<(), String> {
	let bind = |port: u16| -> Result<std::net::TcpListener, String> {
		let addr = SocketAddr::new(args.w3b_listen, port);
		let listener =
			std::net::TcpListener::bind(addr).map_err(|e| format!("binding {addr}: {e}"))?;
		listener.set_nonblocking(true).map_err(|e| e.to_string())?;
		Ok(listener)
	};
	if let Some(port) = args.w3b_http_port {
		let listener = bind(port)?;
		let ingestor = ingestor.clone();
		log::info!(
			"📡 W3bstream HTTP ingestion on http://{}",
			listener.local_addr().map_err(|e| e.to_string())?
		);
		task_manager.spawn_handle().spawn("w3b-http", Some("w3b"), async move {
			match tokio::net::TcpListener::from_std(listener) {
				Ok(listener) => {
					if let Err(e) =
						w3b_ingest::http::serve(listener, ingestor, 4 << 20, Default::default())
							.await
					{
						log::error!("W3bstream HTTP ingestion stopped: {e}");
					}
				}
				Err(e) => log::error!("W3bstream HTTP ingestion: {e}"),
			}
		});
	}
	if let Some(port) = args.w3b_mqtt_port {
		let listener = bind(port)?;
		log::info!(
			"📡 W3bstream MQTT ingestion on mqtt://{}",
			listener.local_addr().map_err(|e| e.to_string())?
		);
		let ingestor = ingestor.clone();
		task_manager.spawn_handle().spawn("w3b-mqtt", Some("w3b"), async move {
			match tokio::net::TcpListener::from_std(listener) {
				Ok(listener) => {
					w3b_ingest::mqtt::serve(listener, ingestor, Default::default()).await
				}
				Err(e) => log::error!("W3bstream MQTT ingestion: {e}"),
			}
		});
	}
	if let Some(broker) = &args.w3b_mqtt_broker {
		let (host, port) = broker
			.rsplit_once(':')
			.and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
			.ok_or_else(|| format!("--w3b-mqtt-broker `{broker}` is not HOST:PORT"))?;
		log::info!("📡 W3bstream ingestion from the broker at {broker}");
		let options = w3b_ingest::external::ExternalBroker {
			host,
			port,
			client_id: broker_client_id(data_dir)?,
		};
		task_manager.spawn_handle().spawn(
			"w3b-mqtt-broker",
			Some("w3b"),
			w3b_ingest::external::run(options, ingestor),
		);
	}
	Ok(())
}

/// This node's client id at the external broker, the same across restarts so that its
/// persistent session (what the broker holds for it while it is down) is its own: read
/// from `data_dir/mqtt-client-id`, made up and saved there the first time.
fn broker_client_id(data_dir: &Path) -> Result<String, String> {
	let path = data_dir.join("mqtt-client-id");
	match std::fs::read_to_string(&path) {
		Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
		Ok(_) => {}
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
		Err(e) => return Err(format!("reading {}: {e}", path.display())),
	}
	let seed = (std::process::id(), std::time::SystemTime::now(), path.display().to_string());
	let unique = sp_io::hashing::blake2_128(format!("{seed:?}").as_bytes());
	let id = format!("w3b-node-{}", sp_core::hexdisplay::HexDisplay::from(&unique));
	let tmp = path.with_extension("tmp");
	std::fs::write(&tmp, &id)
		.and_then(|()| std::fs::rename(&tmp, &path))
		.map_err(|e| format!("saving {}: {e}", path.display()))?;
	Ok(id)
}

/// Where an address is bound when the operator does not say: loopback only.
pub const DEFAULT_LISTEN: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_broker_client_id_survives_a_restart_and_differs_between_nodes() {
		let base = std::env::temp_dir().join(format!("w3b-client-id-{}", std::process::id()));
		let (one, two) = (base.join("one"), base.join("two"));
		std::fs::create_dir_all(&one).unwrap();
		std::fs::create_dir_all(&two).unwrap();
		let id = broker_client_id(&one).unwrap();
		assert!(id.starts_with("w3b-node-"), "{id}");
		assert_eq!(broker_client_id(&one).unwrap(), id, "the same after a restart");
		assert_ne!(broker_client_id(&two).unwrap(), id, "another node's");
		std::fs::remove_dir_all(&base).unwrap();
	}

	#[test]
	fn made_up_device_ids_fill_the_cache_only_to_its_bound() {
		let mut devices = HashMap::new();
		for id in 0..MAX_CACHED as u64 + 1_000 {
			let device = DeviceId::from_low_u64_be(id);
			remember(&mut devices, (7, device), None::<DeviceRecord<u32>>);
		}
		assert_eq!(devices.len(), MAX_CACHED);
		// What was cached first stays cached: an honest device read early keeps its entry.
		assert!(devices.contains_key(&(7, DeviceId::from_low_u64_be(0))));
	}
}
