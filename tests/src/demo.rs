//! A W3bstream workload on a running network: a project with an applet, operators in
//! its subnet and registered devices ([`setup_project`]); devices publishing signed
//! readings over MQTT and HTTP to different nodes ([`Publisher`]); and a monitor that
//! follows commitments and GRANDPA-final proofs and measures the latency from publish to
//! finalized proof ([`Monitor`]). Used by `w3b-demo` and the end-to-end tests.

use std::{
	collections::{BTreeMap, HashMap},
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc, Mutex,
	},
	thread,
	time::{Duration, Instant},
};

use serde_json::{json, Value};
use sp_core::{ed25519, Pair, H256};
use sp_keyring::Sr25519Keyring;
use w3b_primitives::{
	project::{code_hash, EnvVar, ProjectConfig, RetentionPolicy, Strategy},
	DeviceKey, ProjectId,
};
use w3b_runtime::{RuntimeCall, UNIT};

use crate::{wait_rpc, Result, Rpc};

/// What the demo project looks like.
#[derive(Clone)]
pub struct ProjectSpec {
	/// The account that creates and owns the project (better not an operator: a
	/// validator's worker signs with its dev account too, and their nonces race).
	pub owner: Sr25519Keyring,
	/// Unique name.
	pub name: String,
	/// The applet's WASM.
	pub code: Vec<u8>,
	/// Its routes, event type to handler: `DEFAULT` to `start` when empty.
	pub routes: Vec<(String, String)>,
	/// Environment for the applet.
	pub env: Vec<(String, String)>,
	/// Operators that join the subnet (all must join before it is Active).
	pub operators: Vec<Sr25519Keyring>,
	/// Devices to register.
	pub devices: Vec<ed25519::Pair>,
	/// Blocks operators have to attest a batch.
	pub attestation_deadline: u32,
	/// Seconds operators keep a settled batch's data (0: for ever).
	pub retain_secs: u64,
	/// Members the project needs to be Active (to commit); all of `operators` when
	/// `None`.
	pub min_operators: Option<u32>,
}

/// Creates the project as its owner, uploads and registers its applet, registers the
/// devices and the operators and has them join; returns the project id once it is Active
/// with every device registered.
pub fn setup_project(rpc: &Rpc, spec: &ProjectSpec, timeout: Duration) -> Result<ProjectId> {
	Ok(setup_projects(rpc, std::slice::from_ref(spec), timeout)?[0])
}

/// Sets up each of `specs` as [`setup_project`] does, each step for all of them before
/// waiting for it (a few blocks in all, not a few per project); returns their ids in the
/// order of `specs`.
pub fn setup_projects(
	rpc: &Rpc,
	specs: &[ProjectSpec],
	timeout: Duration,
) -> Result<Vec<ProjectId>> {
	for spec in specs {
		let name = spec.name.as_bytes().to_vec().try_into().map_err(|_| "name too long")?;
		let config = project_config(spec)?;
		rpc.submit(
			spec.owner,
			pallet_projects::Call::create_project { name, metadata: Default::default(), config }
				.into(),
		)?;
	}
	let mut projects = Vec::new();
	for spec in specs {
		let id = wait_rpc(rpc, "w3b_getProjectId", json!([spec.name]), timeout, |v| !v.is_null());
		projects.push(serde_json::from_value::<ProjectId>(id)?);
	}
	let mut uploading = Vec::new();
	for spec in specs {
		let hash = code_hash(&spec.code);
		if !uploading.contains(&hash) && rpc.call("w3b_getCodeInfo", json!([hash]))?.is_null() {
			rpc.submit(
				spec.owner,
				pallet_projects::Call::upload_code { code: spec.code.clone() }.into(),
			)?;
			uploading.push(hash);
		}
	}
	for hash in uploading {
		wait_rpc(rpc, "w3b_getCodeInfo", json!([hash]), timeout, |v| !v.is_null());
	}
	for (spec, &project) in specs.iter().zip(&projects) {
		let default_route = [("DEFAULT".to_string(), "start".to_string())];
		let routes = if spec.routes.is_empty() { &default_route[..] } else { &spec.routes[..] };
		let strategies: Vec<Strategy> = routes
			.iter()
			.map(|(event_type, handler)| Strategy {
				event_type: event_type.as_bytes().to_vec().try_into().expect("short"),
				handler: handler.as_bytes().to_vec().try_into().expect("short"),
			})
			.collect();
		rpc.submit(
			spec.owner,
			pallet_projects::Call::register_applet {
				project,
				name: b"main".to_vec().try_into().expect("short"),
				code_hash: code_hash(&spec.code),
				strategies: strategies.try_into().expect("a few strategies"),
			}
			.into(),
		)?;
		for device in &spec.devices {
			let key = DeviceKey::Ed25519(device.public().0);
			rpc.submit(
				spec.owner,
				pallet_projects::Call::register_device { project, key, did: None }.into(),
			)?;
		}
		rpc.submit(
			spec.owner,
			pallet_operators::Call::fund_reward_pool { project, amount: 1_000 * UNIT }.into(),
		)?;
	}
	let mut registering = Vec::new();
	for operator in specs.iter().flat_map(|spec| &spec.operators) {
		if registering.contains(operator) {
			continue;
		}
		let registered = rpc.call("w3b_getOperator", json!([operator.to_account_id()]))?;
		if registered.is_null() {
			let call: RuntimeCall = pallet_operators::Call::register_operator {
				bond: 100 * UNIT,
				endpoints: Default::default(),
				did: None,
			}
			.into();
			rpc.submit(*operator, call)?;
		}
		registering.push(*operator);
	}
	for operator in &registering {
		wait_rpc(rpc, "w3b_getOperator", json!([operator.to_account_id()]), timeout, |v| {
			!v.is_null()
		});
	}
	for (spec, &project) in specs.iter().zip(&projects) {
		for operator in &spec.operators {
			rpc.submit(*operator, pallet_operators::Call::join_subnet { project }.into())?;
		}
	}
	for (spec, &project) in specs.iter().zip(&projects) {
		wait_rpc(rpc, "w3b_getProject", json!([project]), timeout, |v| v["status"] == "Active");
		for device in &spec.devices {
			let id = DeviceKey::Ed25519(device.public().0).device_id();
			crate::wait_device_final(rpc, project, id, timeout);
		}
	}
	Ok(projects)
}

/// The configuration `spec` asks for.
pub fn project_config(
	spec: &ProjectSpec,
) -> Result<ProjectConfig<w3b_runtime::Balance, w3b_runtime::BlockNumber>> {
	let env = spec
		.env
		.iter()
		.map(|(k, v)| EnvVar {
			key: k.as_bytes().to_vec().try_into().expect("short key"),
			value: v.as_bytes().to_vec().try_into().expect("short value"),
		})
		.collect::<Vec<_>>();
	Ok(ProjectConfig {
		env: env.try_into().map_err(|_| "too many environment variables")?,
		fuel_per_batch: w3b_primitives::project::MAX_FUEL_PER_BATCH,
		min_operators: spec.min_operators.unwrap_or(spec.operators.len() as u32),
		attestation_deadline: spec.attestation_deadline,
		reward_per_batch: UNIT / 100,
		retention: RetentionPolicy { max_age_secs: spec.retain_secs, max_bytes: 0 },
		..Default::default()
	})
}

/// How devices reach a node.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
	/// MQTT QoS 1 to the node's broker on this port.
	Mqtt(u16),
	/// HTTP batches to the node on this port.
	Http(u16),
}

/// Counters shared by the publishing threads and the monitor.
#[derive(Default)]
pub struct Counters {
	/// Messages sent.
	pub sent: AtomicU64,
	/// Messages the node acknowledged as stored.
	pub acked: AtomicU64,
	/// Messages the node refused.
	pub refused: AtomicU64,
	/// When each message was sent, by hash, until its proof is final.
	pub sent_at: Mutex<HashMap<H256, Instant>>,
}

/// Devices publishing signed temperature readings at a fixed total rate.
pub struct Publisher {
	stop: Arc<AtomicBool>,
	threads: Vec<thread::JoinHandle<()>>,
	/// What was sent and acknowledged.
	pub counters: Arc<Counters>,
}

/// One device's signed reading number `seq`: its hash and the JSON devices send. The
/// temperature stays within 20-30 °C but for a spike to 35 °C every 100th reading (a
/// device of the demo sends a few hundred a minute: each raises a few alerts).
pub fn reading(device: &ed25519::Pair, project: ProjectId, seq: u64) -> (H256, String) {
	let temperature = if seq.is_multiple_of(100) {
		35.0
	} else {
		20.0 + ((seq * 7919 + u64::from(device.public().0[0])) % 100) as f64 / 10.0
	};
	let payload = format!("{{\"temperature\":{temperature:.1},\"seq\":{seq}}}");
	crate::signed_message_with_hash(device, project, seq, payload.as_bytes())
}

impl Publisher {
	/// Starts one thread per transport, each publishing for its share of `devices`
	/// (round-robin) at `rate / transports` messages per second, until stopped.
	pub fn start(
		project: ProjectId,
		devices: Vec<ed25519::Pair>,
		transports: &[Transport],
		rate: f64,
	) -> Self {
		Self::start_counting(project, devices, transports, rate, Arc::default())
	}

	/// [`Publisher::start`], counting in `counters` (which several publishers may share).
	pub fn start_counting(
		project: ProjectId,
		devices: Vec<ed25519::Pair>,
		transports: &[Transport],
		rate: f64,
		counters: Arc<Counters>,
	) -> Self {
		let stop = Arc::new(AtomicBool::new(false));
		let mut shares: Vec<Vec<ed25519::Pair>> = vec![Vec::new(); transports.len()];
		for (i, device) in devices.into_iter().enumerate() {
			shares[i % transports.len()].push(device);
		}
		let per_thread = rate / transports.len() as f64;
		let threads = transports
			.iter()
			.zip(shares)
			.filter(|(_, devices)| !devices.is_empty())
			.map(|(transport, devices)| {
				let (stop, counters, transport) = (stop.clone(), counters.clone(), *transport);
				thread::spawn(move || {
					publish(project, devices, transport, per_thread, &stop, &counters)
				})
			})
			.collect();
		Publisher { stop, threads, counters }
	}

	/// Tells the threads to stop publishing: each waits a little for its outstanding
	/// acknowledgements, then ends ([`Publisher::stopped`]).
	pub fn halt(&self) {
		self.stop.store(true, Ordering::SeqCst);
	}

	/// Whether every thread ended.
	pub fn stopped(&self) -> bool {
		self.threads.iter().all(thread::JoinHandle::is_finished)
	}

	/// Stops publishing and waits for the threads (and outstanding acknowledgements).
	pub fn stop(self) -> Arc<Counters> {
		self.halt();
		for thread in self.threads {
			thread.join().expect("a publishing thread panicked");
		}
		self.counters
	}
}

/// Publishes from `devices` through `transport` at `rate` per second in 100 ms ticks.
fn publish(
	project: ProjectId,
	devices: Vec<ed25519::Pair>,
	transport: Transport,
	rate: f64,
	stop: &AtomicBool,
	counters: &Counters,
) {
	let start = Instant::now();
	let seq_base = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_millis() as u64)
		.unwrap_or(0);
	let mut seqs = vec![seq_base; devices.len()];
	let mut sent = 0u64;
	let mut next_device = 0;
	let mut sink = Sink::open(transport, project);
	while !stop.load(Ordering::SeqCst) {
		let due = (start.elapsed().as_secs_f64() * rate) as u64;
		let mut batch = Vec::new();
		while sent < due {
			let device = next_device % devices.len();
			next_device += 1;
			seqs[device] += 1;
			batch.push(reading(&devices[device], project, seqs[device]));
			sent += 1;
		}
		if !batch.is_empty() {
			{
				let now = Instant::now();
				let mut sent_at = counters.sent_at.lock().expect("not poisoned");
				for (hash, _) in &batch {
					sent_at.insert(*hash, now);
				}
			}
			counters.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
			sink.send(batch, counters);
		}
		thread::sleep(Duration::from_millis(100));
	}
	sink.close(counters);
}

/// Where one publishing thread sends.
enum Sink {
	/// An MQTT connection; its driver thread forwards acknowledgements.
	Mqtt {
		client: rumqttc::Client,
		driver: thread::JoinHandle<()>,
		acks: std::sync::mpsc::Receiver<()>,
		topic: String,
		/// Publishes of this connection not answered yet (counters may be shared by
		/// other publishers).
		unanswered: u64,
	},
	/// HTTP batches.
	Http { url: String, agent: ureq::Agent },
}

impl Sink {
	fn open(transport: Transport, project: ProjectId) -> Self {
		match transport {
			Transport::Mqtt(port) => {
				// One client id per project: publishers of several projects to one broker
				// must not take each other's session over.
				let id = format!("w3b-demo-{port}-{project}-{}", std::process::id());
				let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
				// A persistent session: what the node did not acknowledge (over the rate)
				// is sent again after it hangs up.
				options.set_keep_alive(Duration::from_secs(30)).set_clean_session(false);
				options.set_max_packet_size(1 << 20, 1 << 20);
				let (client, mut connection) = rumqttc::Client::new(options, 10_000);
				let (ack_tx, acks) = std::sync::mpsc::channel::<()>();
				let driver = thread::spawn(move || {
					for event in connection.iter() {
						match event {
							// The node acknowledges a QoS 1 publish once it is stored.
							Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
								if ack_tx.send(()).is_err() {
									return;
								}
							}
							Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
							Ok(_) => {}
							Err(e) => {
								eprintln!("[demo] MQTT to port {port}: {e}");
								thread::sleep(Duration::from_millis(500));
							}
						}
					}
				});
				let topic = format!("w3b/projects/{project}/events");
				Sink::Mqtt { client, driver, acks, topic, unanswered: 0 }
			}
			Transport::Http(port) => Sink::Http {
				url: format!("http://127.0.0.1:{port}/v1/projects/{project}/events"),
				agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build(),
			},
		}
	}

	fn send(&mut self, batch: Vec<(H256, String)>, counters: &Counters) {
		match self {
			Sink::Mqtt { client, topic, acks, unanswered, .. } => {
				for (_, json) in batch {
					let qos = rumqttc::QoS::AtLeastOnce;
					if client.publish(topic.as_str(), qos, false, json).is_err() {
						counters.refused.fetch_add(1, Ordering::Relaxed);
					} else {
						*unanswered += 1;
					}
				}
				let answered = acks.try_iter().count() as u64;
				*unanswered = unanswered.saturating_sub(answered);
				counters.acked.fetch_add(answered, Ordering::Relaxed);
			}
			// A publisher that fell behind (a slow answer) catches up in several requests:
			// the node refuses one of more than a request's worth of messages.
			Sink::Http { url, agent } => {
				for chunk in batch.chunks(w3b_ingest::wire::MAX_MESSAGES_PER_REQUEST) {
					Self::post(url, agent, chunk, counters);
				}
			}
		}
	}

	/// Posts `batch` as one JSON array; counts what was acknowledged and refused.
	fn post(url: &str, agent: &ureq::Agent, batch: &[(H256, String)], counters: &Counters) {
		let body = format!(
			"[{}]",
			batch.iter().map(|(_, json)| json.as_str()).collect::<Vec<_>>().join(",")
		);
		let answer: Result<Value> =
			match agent.post(url).set("Content-Type", "application/json").send_string(&body) {
				// Refused for now (the node is behind, or over a rate): counted, not told
				// request by request, as a loaded node answers many of them.
				Err(ureq::Error::Status(503 | 429, _)) => {
					counters.refused.fetch_add(batch.len() as u64, Ordering::Relaxed);
					return;
				}
				answer => answer
					.map_err(|e| e.to_string().into())
					.and_then(|r| r.into_json().map_err(Into::into)),
			};
		// A batch is answered `{"results": [{"hash"} | {"code", "message"}, ...]}`.
		match answer.map(|mut a| a["results"].take()) {
			Ok(Value::Array(results)) => {
				let ok = results.iter().filter(|r| r.get("hash").is_some()).count();
				counters.acked.fetch_add(ok as u64, Ordering::Relaxed);
				counters.refused.fetch_add((results.len() - ok) as u64, Ordering::Relaxed);
			}
			other => {
				eprintln!("[demo] HTTP {url}: {other:?}");
				counters.refused.fetch_add(batch.len() as u64, Ordering::Relaxed);
			}
		}
	}

	/// Waits a little for the last acknowledgements, then disconnects.
	fn close(self, counters: &Counters) {
		if let Sink::Mqtt { client, driver, acks, mut unanswered, .. } = self {
			// Until every publish is answered; the deadline only bounds a node that died.
			let deadline = Instant::now() + Duration::from_secs(60);
			while unanswered > 0 && Instant::now() < deadline {
				if acks.recv_timeout(Duration::from_millis(100)).is_ok() {
					unanswered -= 1;
					counters.acked.fetch_add(1, Ordering::Relaxed);
				}
			}
			// Not `disconnect`, which blocks while the client's queue is full.
			let _ = client.try_disconnect();
			drop(acks);
			// The disconnect waits behind what the client still has queued, which a node
			// that hung up on it may never take: the driver is left to end with the process.
			let deadline = Instant::now() + Duration::from_secs(10);
			while !driver.is_finished() && Instant::now() < deadline {
				thread::sleep(Duration::from_millis(50));
			}
			if driver.is_finished() {
				driver.join().expect("the MQTT driver thread panicked");
			} else {
				eprintln!("[demo] an MQTT client did not disconnect within 10 s: left behind");
			}
		}
	}
}

/// What the monitor saw.
#[derive(Clone, Debug, Default)]
pub struct Progress {
	/// Batches committed (best block).
	pub committed: u64,
	/// Proofs finalized in GRANDPA-final blocks.
	pub finalized: u64,
	/// Proofs expired in GRANDPA-final blocks.
	pub expired: u64,
	/// Messages in finalized proofs.
	pub messages_final: u64,
	/// Bridge outputs (alerts) in finalized proofs.
	pub outputs: u64,
	/// Publish-to-final-proof latencies of the messages this process sent, in seconds.
	pub latencies: Vec<f64>,
}

impl Progress {
	/// Adds what `other` saw (another project's monitor) to this.
	pub fn absorb(&mut self, other: &Progress) {
		self.committed += other.committed;
		self.finalized += other.finalized;
		self.expired += other.expired;
		self.messages_final += other.messages_final;
		self.outputs += other.outputs;
		self.latencies.extend_from_slice(&other.latencies);
	}

	/// One line of progress, `elapsed` into the run.
	pub fn line(&self, elapsed: Duration, counters: &Counters) -> String {
		let fmt = |q| self.latency(q).map_or("-".into(), |s| format!("{s:.1}s"));
		format!(
			"[demo] {:>4}s | in {} sent, {} stored, {} refused | batches {} committed | proofs {} final ({} msgs, {} alerts), {} expired | latency p50 {} p99 {}",
			elapsed.as_secs(),
			counters.sent.load(Ordering::Relaxed),
			counters.acked.load(Ordering::Relaxed),
			counters.refused.load(Ordering::Relaxed),
			self.committed,
			self.finalized,
			self.messages_final,
			self.outputs,
			self.expired,
			fmt(0.5),
			fmt(0.99),
		)
	}

	/// The `q` quantile of the latencies (0..=1), in seconds.
	pub fn latency(&self, q: f64) -> Option<f64> {
		let mut sorted = self.latencies.clone();
		sorted.sort_by(f64::total_cmp);
		(!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * q).round() as usize])
	}
}

/// Follows a project's batches and proofs through one node's RPC.
pub struct Monitor {
	rpc: Rpc,
	project: ProjectId,
	/// The next batch whose proof is not settled in a final block.
	next_unsettled: u64,
	/// What was seen so far.
	pub progress: Progress,
}

impl Monitor {
	/// A monitor of `project` through `rpc`.
	pub fn new(rpc: Rpc, project: ProjectId) -> Self {
		Monitor { rpc, project, next_unsettled: 0, progress: Progress::default() }
	}

	/// Reads what changed; settles the messages of newly final proofs in `counters`.
	pub fn poll(&mut self, counters: &Counters) -> Result<()> {
		let best = self.rpc.call("w3b_getNextBatchSeq", json!([self.project]))?;
		self.progress.committed = best.as_u64().unwrap_or(0);
		let finalized: H256 =
			serde_json::from_value(self.rpc.call("chain_getFinalizedHead", json!([]))?)?;
		let next: u64 = serde_json::from_value(
			self.rpc.call("w3b_getNextBatchSeq", json!([self.project, finalized]))?,
		)?;
		while self.next_unsettled < next {
			let seq = self.next_unsettled;
			let proof = self.rpc.call("w3b_getProof", json!([self.project, seq, finalized]))?;
			match proof["status"].as_str() {
				Some("Finalized") => {
					let now = Instant::now();
					let batch = self.rpc.call("w3b_getBatch", json!([self.project, seq]))?;
					let Some(messages) = batch["messages"].as_array() else {
						// This node has not fetched the body yet.
						return Ok(());
					};
					self.progress.finalized += 1;
					self.progress.messages_final += messages.len() as u64;
					self.progress.outputs +=
						proof["outputs"].as_array().map_or(0, |o| o.len() as u64);
					let mut sent_at = counters.sent_at.lock().expect("not poisoned");
					for message in messages {
						let hash: Option<H256> =
							serde_json::from_value(message["hash"].clone()).ok();
						if let Some(at) = hash.and_then(|h| sent_at.remove(&h)) {
							self.progress.latencies.push((now - at).as_secs_f64());
						}
					}
				}
				Some("Expired") => self.progress.expired += 1,
				_ => return Ok(()),
			}
			self.next_unsettled += 1;
		}
		Ok(())
	}

	/// One line of progress.
	pub fn line(&self, elapsed: Duration, counters: &Counters) -> String {
		self.progress.line(elapsed, counters)
	}
}

/// The weight each extrinsic of a block was charged, by its index, in milliseconds:
/// from the `ExtrinsicSuccess`/`ExtrinsicFailed` events.
fn charged_weights(
	records: &[frame_system::EventRecord<w3b_runtime::RuntimeEvent, w3b_runtime::Hash>],
) -> BTreeMap<u32, f64> {
	use frame_system::{Event, Phase};
	records
		.iter()
		.filter_map(|record| {
			let Phase::ApplyExtrinsic(index) = record.phase else { return None };
			match &record.event {
				w3b_runtime::RuntimeEvent::System(
					Event::ExtrinsicSuccess { dispatch_info }
					| Event::ExtrinsicFailed { dispatch_info, .. },
				) => Some((index, dispatch_info.weight.ref_time() as f64 / 1e9)),
				_ => None,
			}
		})
		.collect()
}

/// How full the chain's blocks are: the normal-class weight and the extrinsics of each
/// GRANDPA-final block, read through one node's RPC.
pub struct ChainLoad {
	rpc: Rpc,
	/// The last block read.
	scanned: u32,
	/// Normal-class weight of each block read, in milliseconds of reference time.
	pub weights_ms: Vec<f64>,
	/// Extrinsics of each block read (the timestamp and other inherents included).
	pub extrinsics: Vec<usize>,
	/// Transactions (the extrinsics after the block's timestamp inherent) of the blocks
	/// read, and their encoded bytes.
	pub transactions: (usize, usize),
	/// Per call (`Pallet.call`) of those transactions: how many, and the weight they were
	/// charged (after refunds, the class's base included), in milliseconds.
	pub calls: BTreeMap<String, (usize, f64)>,
}

impl ChainLoad {
	/// Reads the blocks finalized after the current finalized one.
	pub fn from_now(rpc: Rpc) -> Result<Self> {
		let scanned = rpc.finalized_number()?;
		Ok(ChainLoad {
			rpc,
			scanned,
			weights_ms: Vec::new(),
			extrinsics: Vec::new(),
			transactions: (0, 0),
			calls: BTreeMap::new(),
		})
	}

	/// Reads the blocks finalized since the last call.
	pub fn poll(&mut self) -> Result<()> {
		use codec::Decode;
		use frame_support::traits::GetCallMetadata;
		let key = frame_support::storage::storage_prefix(b"System", b"BlockWeight");
		let finalized = self.rpc.finalized_number()?;
		for number in self.scanned + 1..=finalized {
			let hash = self.rpc.block_hash(number)?;
			let weight = self
				.rpc
				.storage_at(&key, hash)?
				.map(|raw| {
					frame_support::dispatch::PerDispatchClass::<frame_support::weights::Weight>::decode(
						&mut &raw[..],
					)
				})
				.transpose()?
				.unwrap_or_default();
			let normal = weight.get(frame_support::dispatch::DispatchClass::Normal);
			self.weights_ms.push(normal.ref_time() as f64 / 1e9);
			let block = self.rpc.call("chain_getBlock", json!([hash]))?;
			let extrinsics = block["block"]["extrinsics"].as_array().cloned().unwrap_or_default();
			self.extrinsics.push(extrinsics.len());
			let charged = charged_weights(&self.rpc.event_records_at(hash)?);
			for (index, extrinsic) in extrinsics.iter().enumerate().skip(1) {
				let hex = extrinsic.as_str().unwrap_or_default().trim_start_matches("0x");
				self.transactions.0 += 1;
				self.transactions.1 += hex.len() / 2;
				let call = crate::decode_hex(hex)
					.ok()
					.and_then(|raw| w3b_runtime::UncheckedExtrinsic::decode(&mut &raw[..]).ok())
					.map_or_else(
						|| "undecodable".to_string(),
						|xt| {
							let call = xt.function.get_call_metadata();
							format!("{}.{}", call.pallet_name, call.function_name)
						},
					);
				let entry = self.calls.entry(call).or_default();
				entry.0 += 1;
				entry.1 += charged.get(&(index as u32)).copied().unwrap_or_default();
			}
			self.scanned = number;
		}
		Ok(())
	}

	/// Transactions and their bytes on chain per 1,000 of `messages`.
	pub fn per_thousand(&self, messages: u64) -> String {
		let per = |n: usize| n as f64 * 1000.0 / messages.max(1) as f64;
		format!(
			"{} transactions ({} bytes) in those blocks: {:.1} transactions and {:.0} bytes per 1,000 messages final",
			self.transactions.0,
			self.transactions.1,
			per(self.transactions.0),
			per(self.transactions.1)
		)
	}

	/// The calls that took the most weight, heaviest first: `Pallet.call N xN (W ms, P%)`.
	pub fn by_call(&self) -> String {
		let total: f64 = self.calls.values().map(|(_, ms)| ms).sum();
		let mut calls: Vec<_> = self.calls.iter().collect();
		calls.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
		calls
			.iter()
			.take(6)
			.map(|(call, (count, ms))| {
				format!(
					"{call} x{count} ({:.2} ms each, {:.0}%)",
					ms / (*count).max(1) as f64,
					100.0 * ms / total.max(f64::MIN_POSITIVE)
				)
			})
			.collect::<Vec<_>>()
			.join(", ")
	}

	/// `blocks: N, weight avg A ms max M ms of L ms (P% at most), extrinsics avg E max X`.
	pub fn summary(&self) -> String {
		let limit_ms = w3b_runtime::configs::RuntimeBlockWeights::get()
			.get(frame_support::dispatch::DispatchClass::Normal)
			.max_total
			.map_or(f64::NAN, |w| w.ref_time() as f64 / 1e9);
		let blocks = self.weights_ms.len().max(1) as f64;
		let avg = self.weights_ms.iter().sum::<f64>() / blocks;
		let max = self.weights_ms.iter().copied().fold(0.0, f64::max);
		let xt_avg = self.extrinsics.iter().sum::<usize>() as f64 / blocks;
		let xt_max = self.extrinsics.iter().max().copied().unwrap_or(0);
		format!(
			"{} blocks; normal-class weight avg {avg:.0} ms, max {max:.0} ms of {limit_ms:.0} ms ({:.0}% at most); extrinsics avg {xt_avg:.1}, max {xt_max}",
			self.weights_ms.len(),
			100.0 * max / limit_ms,
		)
	}
}
