//! Ingestion load: N simulated devices publish signed messages with QoS 1 over MQTT for a
//! bounded time, first to the node's embedded endpoint (every signature verified, every
//! message fsynced before its PUBACK), then the same messages to Debian's mosquitto (no
//! verification, no storage) with one subscriber receiving them. Prints messages per
//! second and p50/p99 acknowledgement latency for both.
//!
//! `cargo bench -p w3b-ingest --bench ingest_load`; `DEVICES` (default 16), `SECONDS`
//! (default 10) and `PER_DEVICE` (most messages per device, default 20000) bound the run;
//! `INFLIGHT` (default 100) is how many unacknowledged messages each device may have
//! (1: a device that waits for each acknowledgement, as most do).

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

use common::{Device, Mosquitto};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use sp_core::{ed25519, Pair};
use w3b_ingest::{
	connections::ConnectionLimits, rate::Rate, ChainView, Ingestor, Limits, MemoryChain,
};
use w3b_primitives::{
	project::{DeviceRecord, DeviceStatus},
	ProjectStatus,
};
use w3b_storage::{EmbeddedStore, MessageStore};

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Outcome {
	acked: u64,
	elapsed: Duration,
	latencies_us: Vec<u64>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
	if sorted.is_empty() {
		return 0.0;
	}
	sorted[((sorted.len() - 1) as f64 * p) as usize] as f64 / 1000.0
}

/// Publishes each device's messages on its own connection to `port`, for at most
/// `seconds`; returns the PUBACKs received and their latencies.
async fn publish_all(port: u16, messages: &[Vec<String>], inflight: u16, seconds: u64) -> Outcome {
	let stop = Arc::new(AtomicBool::new(false));
	let acked = Arc::new(AtomicU64::new(0));
	let latencies = Arc::new(Mutex::new(Vec::new()));
	let start = Instant::now();
	let mut tasks = Vec::new();
	for (i, device_messages) in messages.iter().enumerate() {
		let mut options = MqttOptions::new(format!("load-{i}"), "127.0.0.1", port);
		options.set_keep_alive(Duration::from_secs(60)).set_inflight(inflight);
		let (client, mut eventloop) = AsyncClient::new(options, 200);
		let (poll_stop, acked, latencies) = (stop.clone(), acked.clone(), latencies.clone());
		let total = device_messages.len() as u64;
		tasks.push(tokio::spawn(async move {
			let mut sent_at: HashMap<u16, Instant> = HashMap::new();
			let mut mine = Vec::new();
			let mut count = 0u64;
			while count < total && !poll_stop.load(Ordering::Relaxed) {
				match tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await {
					Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => {
						sent_at.insert(pkid, Instant::now());
					}
					Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
						if let Some(at) = sent_at.remove(&ack.pkid) {
							mine.push(at.elapsed().as_micros() as u64);
						}
						count += 1;
						acked.fetch_add(1, Ordering::Relaxed);
					}
					Ok(Ok(_)) => {}
					_ => break,
				}
			}
			latencies.lock().unwrap().extend(mine);
		}));
		let device_messages = device_messages.clone();
		let stop = stop.clone();
		tokio::spawn(async move {
			for body in device_messages {
				if stop.load(Ordering::Relaxed)
					|| client
						.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body)
						.await
						.is_err()
				{
					break;
				}
			}
		});
	}
	let deadline = start + Duration::from_secs(seconds);
	let expected: u64 = messages.iter().map(|m| m.len() as u64).sum();
	while Instant::now() < deadline && acked.load(Ordering::Relaxed) < expected {
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	let elapsed = start.elapsed();
	let acked_count = acked.load(Ordering::Relaxed);
	stop.store(true, Ordering::Relaxed);
	for task in tasks {
		let _ = tokio::time::timeout(Duration::from_secs(6), task).await;
	}
	let mut latencies_us = std::mem::take(&mut *latencies.lock().unwrap());
	latencies_us.sort_unstable();
	Outcome { acked: acked_count, elapsed, latencies_us }
}

fn report(name: &str, outcome: &Outcome) -> f64 {
	let rate = outcome.acked as f64 / outcome.elapsed.as_secs_f64();
	println!(
		"{name}: {} messages acknowledged in {:.1} s = {rate:.0} msg/s; ack latency p50 {:.2} ms, p99 {:.2} ms",
		outcome.acked,
		outcome.elapsed.as_secs_f64(),
		percentile(&outcome.latencies_us, 0.50),
		percentile(&outcome.latencies_us, 0.99),
	);
	rate
}

/// A key seed of its own for each device.
fn seed(device: usize) -> [u8; 32] {
	let mut seed = [1; 32];
	seed[..8].copy_from_slice(&(device as u64).to_le_bytes());
	seed
}

fn main() {
	let devices_n = env("DEVICES", 16) as usize;
	let seconds = env("SECONDS", 10);
	let per_device = env("PER_DEVICE", 20_000);
	let inflight = env("INFLIGHT", 100).clamp(1, u64::from(u16::MAX)) as u16;
	let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
	println!("machine: {cores} cores; {devices_n} devices with {inflight} messages in flight each, at most {seconds} s and {per_device} messages per device");

	let chain = Arc::new(MemoryChain::default());
	chain.set_project(1, ProjectStatus::Active);
	let devices: Vec<Device> =
		(0..devices_n).map(|i| Device::Ed(ed25519::Pair::from_seed(&seed(i)))).collect();
	for device in &devices {
		chain.set_device(
			1,
			DeviceRecord {
				key: device.key(),
				did: None,
				by_did: None,
				status: DeviceStatus::Active,
				registered_at: 1,
				revoked_at: None,
			},
		);
	}
	let signing = Instant::now();
	let payload = br#"{"temperature":21.5,"humidity":40}"#;
	let messages: Vec<Vec<String>> = devices
		.iter()
		.map(|d| (1..=per_device).map(|seq| d.message(1, seq, payload).to_string()).collect())
		.collect();
	println!(
		"signed {} messages in {:.1} s (not timed below)",
		devices_n as u64 * per_device,
		signing.elapsed().as_secs_f64()
	);

	let runtime = tokio::runtime::Builder::new_multi_thread()
		.worker_threads(cores)
		.enable_all()
		.build()
		.unwrap();
	// On disk next to the build (not tmpfs), so that fsync costs what it costs.
	let base = std::env::var_os("CARGO_TARGET_DIR")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| "target".into());
	std::fs::create_dir_all(&base).unwrap();
	let dir = tempfile::tempdir_in(&base).unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let unlimited = Rate { per_second: 1e9, burst: 1e9 };
	let limits = Limits {
		device_rate: unlimited,
		project_rate: unlimited,
		sender_rate: unlimited,
		..Limits::default()
	};
	let ingestor = Arc::new(Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, limits));
	let node = runtime.block_on(async {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let port = listener.local_addr().unwrap().port();
		// Every device connects from 127.0.0.1: one address may hold them all.
		let defaults = ConnectionLimits::default();
		let limits = ConnectionLimits {
			max_per_address: defaults.max_per_address.max(devices_n),
			..defaults
		};
		tokio::spawn(w3b_ingest::mqtt::serve(listener, ingestor, limits));
		publish_all(port, &messages, inflight, seconds).await
	});
	let stored = store.pending(1).unwrap().len();
	assert!(stored as u64 >= node.acked, "every acknowledged message is stored");
	let node_rate = report("w3b node (verify + fsync)", &node);
	println!("  stored: {stored} messages, log {} MiB", store.log_size() >> 20);

	let broker = Mosquitto::start();
	let (plain, delivered) = runtime.block_on(async {
		let received = Arc::new(AtomicU64::new(0));
		let mut options = MqttOptions::new("load-subscriber", "127.0.0.1", broker.port);
		options.set_inflight(1000);
		let (subscriber, mut eventloop) = AsyncClient::new(options, 100);
		subscriber.subscribe("w3b/projects/+/events", QoS::AtLeastOnce).await.unwrap();
		let counter = received.clone();
		let sub = tokio::spawn(async move {
			while let Ok(event) = eventloop.poll().await {
				if let Event::Incoming(Packet::Publish(_)) = event {
					counter.fetch_add(1, Ordering::Relaxed);
				}
			}
		});
		tokio::time::sleep(Duration::from_millis(300)).await;
		let outcome = publish_all(broker.port, &messages, inflight, seconds).await;
		tokio::time::sleep(Duration::from_millis(500)).await;
		sub.abort();
		let delivered = received.load(Ordering::Relaxed);
		(outcome, delivered)
	});
	let plain_rate = report("mosquitto (no verification, no storage)", &plain);
	println!("  delivered to the subscriber: {delivered}");
	println!("node / mosquitto: {:.0}%", 100.0 * node_rate / plain_rate);
}
