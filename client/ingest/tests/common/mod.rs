//! Devices on every curve signing messages, and a chain with projects and devices.

#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value;
use sp_core::{ecdsa, ed25519, sr25519, Pair, H256};
use w3b_ingest::{now_ms, MemoryChain};
use w3b_primitives::{
	project::{DeviceRecord, DeviceStatus},
	DeviceKey, Message, ProjectStatus,
};

/// A device: its key pair on one of the curves.
#[allow(clippy::large_enum_variant)]
pub enum Device {
	Ed(ed25519::Pair),
	Sr(sr25519::Pair),
	Ecdsa(ecdsa::Pair),
}

impl Device {
	pub fn key(&self) -> DeviceKey {
		match self {
			Device::Ed(p) => DeviceKey::Ed25519(p.public().0),
			Device::Sr(p) => DeviceKey::Sr25519(p.public().0),
			Device::Ecdsa(p) => DeviceKey::Secp256k1(p.public().0),
		}
	}

	pub fn sign(&self, hash: &H256) -> Vec<u8> {
		match self {
			Device::Ed(p) => p.sign(hash.as_bytes()).0.to_vec(),
			Device::Sr(p) => p.sign(hash.as_bytes()).0.to_vec(),
			Device::Ecdsa(p) => p.sign_prehashed(&hash.0).0.to_vec(),
		}
	}

	/// A signed message of this device in JSON.
	pub fn message(&self, project: u64, seq: u64, payload: &[u8]) -> Value {
		self.message_at(project, seq, payload, now_ms())
	}

	/// The same message in protobuf.
	pub fn proto(&self, project: u64, seq: u64, payload: &[u8]) -> w3b_ingest::wire::ProtoMessage {
		let message = Message {
			project,
			device: self.key().device_id(),
			seq,
			timestamp_ms: now_ms(),
			event_type: b"TEMPERATURE".to_vec(),
			payload: payload.to_vec(),
			encrypted: false,
		};
		w3b_ingest::wire::ProtoMessage::new(&message, &self.sign(&message.hash()))
	}

	pub fn message_at(&self, project: u64, seq: u64, payload: &[u8], timestamp_ms: u64) -> Value {
		self.message_typed(project, seq, "TEMPERATURE", payload, timestamp_ms)
	}

	/// A signed message with event type `event_type`.
	pub fn message_typed(
		&self,
		project: u64,
		seq: u64,
		event_type: &str,
		payload: &[u8],
		timestamp_ms: u64,
	) -> Value {
		self.signed(self.key().device_id(), project, seq, event_type, payload, timestamp_ms)
	}

	/// A message of the device whose id is `device` (a DID's identifier, for a device
	/// registered by DID) signed with this key.
	pub fn message_as(&self, device: H256, project: u64, seq: u64, payload: &[u8]) -> Value {
		self.signed(device, project, seq, "TEMPERATURE", payload, now_ms())
	}

	fn signed(
		&self,
		device: H256,
		project: u64,
		seq: u64,
		event_type: &str,
		payload: &[u8],
		timestamp_ms: u64,
	) -> Value {
		let message = Message {
			project,
			device,
			seq,
			timestamp_ms,
			event_type: event_type.as_bytes().to_vec(),
			payload: payload.to_vec(),
			encrypted: false,
		};
		serde_json::to_value(w3b_ingest::wire::WireMessage::new(
			&message,
			&self.sign(&message.hash()),
		))
		.unwrap()
	}
}

pub fn register(chain: &MemoryChain, project: u64, device: &Device, status: DeviceStatus) {
	chain.set_device(
		project,
		DeviceRecord {
			key: device.key(),
			did: None,
			by_did: None,
			status,
			registered_at: 1,
			revoked_at: None,
		},
	);
}

/// Project 1 Active, project 2 Paused, project 3 Active but not served by this node;
/// devices 0-2 (ed25519, sr25519, secp256k1) registered in all, device 3 (ed25519)
/// revoked in project 1.
pub fn fixture() -> (Arc<MemoryChain>, [Device; 4]) {
	let chain = Arc::new(MemoryChain::default());
	chain.set_project(1, ProjectStatus::Active);
	chain.set_project(2, ProjectStatus::Paused);
	chain.set_project(3, ProjectStatus::Active);
	chain.set_served(3, false);
	let devices = [
		Device::Ed(ed25519::Pair::from_seed(&[1; 32])),
		Device::Sr(sr25519::Pair::from_seed(&[2; 32])),
		Device::Ecdsa(ecdsa::Pair::from_seed(&[3; 32])),
		Device::Ed(ed25519::Pair::from_seed(&[4; 32])),
	];
	for device in &devices[..3] {
		register(&chain, 1, device, DeviceStatus::Active);
		register(&chain, 2, device, DeviceStatus::Active);
		register(&chain, 3, device, DeviceStatus::Active);
	}
	register(&chain, 1, &devices[3], DeviceStatus::Revoked);
	(chain, devices)
}

/// A mosquitto broker (Debian's package) on a free loopback port, killed on drop.
pub struct Mosquitto {
	/// Its port.
	pub port: u16,
	child: std::process::Child,
	_dir: tempfile::TempDir,
}

impl Mosquitto {
	/// Starts mosquitto (installed by `scripts/setup.sh`) and waits until it accepts
	/// connections.
	pub fn start() -> Mosquitto {
		let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let dir = tempfile::tempdir().unwrap();
		let config = dir.path().join("mosquitto.conf");
		std::fs::write(
			&config,
			format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\n"),
		)
		.unwrap();
		let child = std::process::Command::new("mosquitto")
			.arg("-c")
			.arg(&config)
			.stdout(std::process::Stdio::null())
			.stderr(std::process::Stdio::null())
			.spawn()
			.expect("mosquitto runs (scripts/setup.sh installs it)");
		let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
		while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
			assert!(std::time::Instant::now() < deadline, "mosquitto did not start");
			std::thread::sleep(std::time::Duration::from_millis(50));
		}
		Mosquitto { port, child, _dir: dir }
	}
}

impl Drop for Mosquitto {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// Counts what an ingestor reports to its observer (the node's metrics).
#[derive(Default)]
pub struct Tally {
	pub stored: std::sync::atomic::AtomicUsize,
	pub refused: std::sync::Mutex<Vec<&'static str>>,
}

impl Tally {
	/// The refusal codes reported so far, sorted.
	pub fn refused_sorted(&self) -> Vec<&'static str> {
		let mut codes = self.refused.lock().unwrap().clone();
		codes.sort();
		codes
	}
}

impl w3b_ingest::IngestObserver for Tally {
	fn stored(&self, count: usize) {
		self.stored.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
	}

	fn refused(&self, code: &'static str) {
		self.refused.lock().unwrap().push(code);
	}
}

/// Runs the MQTT endpoint on loopback over `store` and `chain`; returns its port and what
/// the ingestor reported.
pub async fn mqtt_endpoint(
	store: Arc<dyn w3b_storage::MessageStore>,
	chain: Arc<dyn w3b_ingest::ChainView>,
	limits: w3b_ingest::Limits,
	connections: w3b_ingest::mqtt::ConnectionLimits,
) -> (u16, Arc<Tally>) {
	mqtt_endpoint_behind(store, chain, limits, connections, None).await
}

/// [`mqtt_endpoint`] whose ingestor refuses the messages of projects `backlog` says the
/// node is behind on.
pub async fn mqtt_endpoint_behind(
	store: Arc<dyn w3b_storage::MessageStore>,
	chain: Arc<dyn w3b_ingest::ChainView>,
	limits: w3b_ingest::Limits,
	connections: w3b_ingest::mqtt::ConnectionLimits,
	backlog: Option<Arc<w3b_ingest::backlog::Backlog>>,
) -> (u16, Arc<Tally>) {
	let tally = Arc::new(Tally::default());
	let mut ingestor = w3b_ingest::Ingestor::new(store, chain, limits).with_observer(tally.clone());
	if let Some(backlog) = backlog {
		ingestor = ingestor.with_backlog(backlog);
	}
	let ingestor = Arc::new(ingestor);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let port = listener.local_addr().unwrap().port();
	tokio::spawn(w3b_ingest::mqtt::serve(listener, ingestor, connections));
	(port, tally)
}
