//! The MQTT endpoint when storing fails: a disk whose sync fails with `EIO`, and an
//! ingestion that panics. Neither may cost a device a message it was told is stored: no
//! PUBACK goes out, the endpoint hangs up, and the client's persistent session sends the
//! message again once the node can take it, when it is stored once and acknowledged.
//!
//! The binary puts itself between the store and the kernel: it defines `fdatasync`, which
//! the dynamic linker then takes over libc's, and fails it for message logs under the
//! directory named in [`FAILING_DISK`].

mod common;

use std::{
	path::{Path, PathBuf},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use common::{fixture, mqtt_endpoint, Device, Tally};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use w3b_ingest::{mqtt::ConnectionLimits, ChainView, Limits, MemoryChain};
use w3b_primitives::{project::DeviceRecord, DeviceId, ProjectId, ProjectStatus};
use w3b_storage::{EmbeddedStore, MessageStore};

/// The store directory whose message log cannot be synced now, if any.
static FAILING_DISK: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Takes the place of libc's `fdatasync` for this process (`File::sync_data`).
#[unsafe(no_mangle)]
pub extern "C" fn fdatasync(fd: libc::c_int) -> libc::c_int {
	let failing = FAILING_DISK.lock().unwrap_or_else(|e| e.into_inner()).clone();
	if let Some(dir) = failing {
		let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
		if path.parent() == Some(dir.as_path()) {
			// SAFETY: errno is this thread's.
			unsafe { *libc::__errno_location() = libc::EIO };
			return -1;
		}
	}
	// SAFETY: the system call itself, with the caller's descriptor.
	unsafe { libc::syscall(libc::SYS_fdatasync, fd) as libc::c_int }
}

/// A chain whose device lookups panic while `broken` is set (a bug in the node's chain
/// view, say): the ingestion task dies with the messages it had.
struct PanickingChain {
	chain: Arc<MemoryChain>,
	broken: AtomicBool,
}

impl ChainView for PanickingChain {
	fn project_status(&self, project: ProjectId) -> Option<ProjectStatus> {
		self.chain.project_status(project)
	}

	fn serves(&self, project: ProjectId) -> bool {
		self.chain.serves(project)
	}

	fn device(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceRecord<u32>> {
		assert!(!self.broken.load(Ordering::SeqCst), "the chain view broke");
		self.chain.device(project, device)
	}
}

/// Publishes `count` readings of `device` from a client with a persistent session, and
/// polls its event loop until every one is acknowledged; calls `heal` once the endpoint
/// hung up without acknowledging any. Returns the hang-ups seen.
async fn publish_through_a_fault(
	port: u16,
	device: &Device,
	count: u64,
	heal: impl FnOnce(),
) -> usize {
	let mut options = MqttOptions::new("device-0", "127.0.0.1", port);
	options.set_keep_alive(Duration::from_secs(30)).set_clean_session(false);
	let (client, mut eventloop) = AsyncClient::new(options, 100);
	for seq in 1..=count {
		let body = device.message(1, seq, format!("reading {seq}").as_bytes()).to_string();
		client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap();
	}
	let (mut acks, mut hang_ups, mut heal) = (std::collections::BTreeSet::new(), 0, Some(heal));
	let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
	while acks.len() < count as usize {
		match tokio::time::timeout_at(deadline, eventloop.poll()).await {
			Err(_) => panic!("only {acks:?} acknowledged, {hang_ups} hang-ups"),
			Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
				assert!(heal.is_none(), "a message was acknowledged while it could not be stored");
				acks.insert(ack.pkid);
			}
			Ok(Ok(_)) => {}
			Ok(Err(_)) => {
				hang_ups += 1;
				if let Some(heal) = heal.take() {
					heal();
				}
				tokio::time::sleep(Duration::from_millis(300)).await;
			}
		}
	}
	hang_ups
}

fn assert_stored_once(store: &EmbeddedStore, tally: &Tally, count: usize) {
	let stored = store.pending(1).unwrap();
	assert_eq!(stored.len(), count, "every acknowledged message is stored, each once");
	assert!(tally.refused_sorted().contains(&"storage_failure"), "{:?}", tally.refused_sorted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fails_its_sync_gets_no_message_acknowledged() {
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let (chain, devices) = fixture();
	let (port, tally) =
		mqtt_endpoint(store.clone(), chain, Limits::default(), ConnectionLimits::default()).await;
	*FAILING_DISK.lock().unwrap() = Some(dir.path().to_path_buf());
	let heal = || *FAILING_DISK.lock().unwrap() = None;
	let hang_ups = publish_through_a_fault(port, &devices[0], 5, heal).await;
	assert!(hang_ups >= 1);
	assert_stored_once(&store, &tally, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingestion_that_panics_gets_no_message_acknowledged() {
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let (chain, devices) = fixture();
	let chain = Arc::new(PanickingChain { chain, broken: AtomicBool::new(true) });
	let (port, tally) =
		mqtt_endpoint(store.clone(), chain.clone(), Limits::default(), ConnectionLimits::default())
			.await;
	let heal = || chain.broken.store(false, Ordering::SeqCst);
	let hang_ups = publish_through_a_fault(port, &devices[0], 5, heal).await;
	assert!(hang_ups >= 1);
	assert_stored_once(&store, &tally, 5);
}

/// The interposed `fdatasync` only fails what it is told to.
#[test]
fn syncs_elsewhere_still_work() {
	let dir = tempfile::tempdir().unwrap();
	let file = dir.path().join("other");
	std::fs::write(&file, b"x").unwrap();
	assert!(std::fs::File::open(Path::new(&file)).unwrap().sync_data().is_ok());
}
