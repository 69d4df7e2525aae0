//! Sealed batches judged and executed by the engine with the Rust SDK's counter applet:
//! state layered over pending batches, finalized in order, rolled back and re-executed
//! to the same result after an expiry; forged and replayed copies never counted.

#[path = "../../executor/tests/common/mod.rs"]
mod applets;

use std::{collections::HashMap, sync::Arc};

use codec::Decode;
use sp_core::{ed25519, Pair};
use w3b_executor::{EngineConfig, Executor};
use w3b_primitives::{
	project::{Applet, DeviceRecord, DeviceStatus},
	validity::{Context, Invalid},
	AppletId, DeviceId, DeviceKey, DeviceSignature, Message,
};
use w3b_storage::{load_body, BatchBody, EmbeddedStore, FsVfs, MessageStore, StoredMessage};
use w3b_worker::{
	execute::{
		execute_batch, execute_projects, BatchRun, Executed, JobResults, ProjectContext,
		ProjectJob, ProjectRuns,
	},
	seal_batch,
	sql::ProjectSql,
	BatchLimits, ProjectState,
};

const NOW: u64 = 1_800_000_000_000;

struct Device(ed25519::Pair);

impl Device {
	fn record(&self) -> DeviceRecord<u32> {
		DeviceRecord {
			key: DeviceKey::Ed25519(self.0.public().0),
			did: None,
			by_did: None,
			status: DeviceStatus::Active,
			registered_at: 1,
			revoked_at: None,
		}
	}

	fn stored(&self, seq: u64) -> StoredMessage {
		self.stored_for(1, seq, "DEFAULT")
	}

	/// Message `seq` of project `project`, of type `event_type`, signed.
	fn stored_for(&self, project: u64, seq: u64, event_type: &str) -> StoredMessage {
		let message = Message {
			project,
			device: self.record().key.device_id(),
			seq,
			timestamp_ms: NOW - seq,
			event_type: event_type.as_bytes().to_vec(),
			payload: format!("device=d{}", seq % 3).into_bytes(),
			encrypted: false,
		};
		let signature = DeviceSignature::Ed25519(self.0.sign(message.hash().as_bytes()).0);
		StoredMessage { message, signature, received_ms: NOW }
	}
}

/// Project 1 with the counter applet and one device, and a store and a VFS in a
/// temporary directory.
struct Fixture {
	_dir: tempfile::TempDir,
	store: EmbeddedStore,
	vfs: FsVfs,
	executor: Arc<Executor>,
	applets: [(AppletId, Applet); 1],
	device: Device,
	devices: HashMap<DeviceId, DeviceRecord<u32>>,
}

impl Fixture {
	fn new() -> Self {
		Self::with_applet("counter")
	}

	/// Project 1 running the example applet `name` on every event.
	fn with_applet(name: &str) -> Self {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		let executor = Arc::new(Executor::new(EngineConfig::default()).unwrap());
		let counter = applets::load(&executor, name);
		let device = Device(ed25519::Pair::from_seed(&[3; 32]));
		let devices = HashMap::from([(device.record().key.device_id(), device.record())]);
		let applets = [applets::applet(0, counter, &[])];
		Fixture { _dir: dir, store, vfs, executor, applets, device, devices }
	}

	/// Project `project`'s three batches of two messages from the device, to run with
	/// `applets` by `execute_projects`.
	fn job(&self, project: u64, applets: Vec<(AppletId, Applet)>) -> Job {
		let batches = (0..3u64)
			.map(|seq| {
				let messages =
					(1..=2).map(|i| self.device.stored_for(project, seq * 2 + i, "DEFAULT"));
				batch_of(project, seq, messages.collect())
			})
			.collect();
		Job {
			project,
			state: ProjectState::default(),
			sql: None,
			batches: Arc::new(batches),
			applets: Arc::new(applets),
			devices: Arc::new(self.devices.clone()),
			gate: None,
		}
	}

	fn project(&self) -> ProjectContext<'_> {
		ProjectContext {
			commitment: Context { project: 1, committed_at: 10, committed_at_ms: NOW },
			env: Arc::new(Vec::new()),
			fuel_per_batch: 1_000_000_000,
			applets: &self.applets,
			devices: &self.devices,
			made_on_chain: false,
		}
	}
}

/// Batch `seq` of project 1 holding `messages` (not sealed from a store), with the
/// header its commitment would have.
fn batch(seq: u64, messages: Vec<StoredMessage>) -> (w3b_primitives::BatchHeader, BatchBody) {
	batch_of(1, seq, messages)
}

/// Batch `seq` of `project` holding `messages`, with the header its commitment would have.
fn batch_of(
	project: u64,
	seq: u64,
	messages: Vec<StoredMessage>,
) -> (w3b_primitives::BatchHeader, BatchBody) {
	let body = BatchBody { messages };
	let header = w3b_primitives::BatchHeader {
		project,
		seq,
		merkle_root: w3b_primitives::merkle::merkle_root(&body.leaves()),
		count: body.messages.len() as u32,
		bytes: 0,
		cid: Default::default(),
	};
	(header, body)
}

fn count(executed: &Executed) -> u64 {
	u64::from_le_bytes(executed.result.writes[b"count".as_slice()].clone().try_into().unwrap())
}

/// A project's batches for `execute_projects`, with what they borrow.
struct Job {
	project: u64,
	state: ProjectState,
	sql: Option<ProjectSql>,
	batches: Arc<Vec<(w3b_primitives::BatchHeader, BatchBody)>>,
	applets: Arc<Vec<(AppletId, Applet)>>,
	devices: Arc<HashMap<DeviceId, DeviceRecord<u32>>>,
	/// If set, the job waits for a word on it before its batches run.
	gate: Option<std::sync::mpsc::Receiver<()>>,
}

impl ProjectJob for Job {
	fn messages(&self) -> usize {
		self.batches.iter().map(|(_, body)| body.messages.len()).sum()
	}

	fn runs(&mut self) -> ProjectRuns<'_> {
		if let Some(gate) = self.gate.take() {
			let _ = gate.recv();
		}
		let Job { project, state, sql, batches, applets, devices, .. } = self;
		ProjectRuns {
			state,
			sql: sql.as_mut(),
			batches: batches
				.iter()
				.map(|(header, body)| BatchRun {
					context: ProjectContext {
						commitment: Context {
							project: *project,
							committed_at: 10,
							committed_at_ms: NOW,
						},
						env: Arc::new(Vec::new()),
						fuel_per_batch: 1_000_000_000,
						applets,
						devices,
						made_on_chain: false,
					},
					header,
					body,
				})
				.collect(),
		}
	}
}

/// Runs `jobs` with `execute_projects` and waits for all: each job back with its
/// results, in the order the jobs were given.
fn run_jobs(executor: &Arc<Executor>, jobs: Vec<Job>, threads: usize) -> Vec<(Job, JobResults)> {
	let order: Vec<u64> = jobs.iter().map(|job| job.project).collect();
	let (sender, finished) = std::sync::mpsc::channel();
	execute_projects(executor.clone(), jobs, threads, move |job, results, _ran| {
		sender.send((job, results)).unwrap()
	});
	let mut done: Vec<(Job, JobResults)> = finished.iter().collect();
	assert_eq!(done.len(), order.len(), "every job came back");
	done.sort_by_key(|(job, _)| order.iter().position(|p| *p == job.project));
	done
}

#[test]
fn batches_execute_on_pending_state_and_replay_identically_after_expiry() {
	let fixture = Fixture::new();
	let (store, vfs, executor, device) =
		(&fixture.store, &fixture.vfs, &fixture.executor, &fixture.device);
	let project = fixture.project();
	let limits = BatchLimits { max_messages: 100, max_bytes: 1 << 20 };
	let mut state = ProjectState::default();
	let mut headers = Vec::new();
	let mut results = Vec::new();
	for (seq, range) in [(0u64, 1..=5u64), (1, 6..=8)] {
		store.append(range.map(|s| device.stored(s)).collect()).unwrap();
		let sealed = seal_batch(store, vfs, 1, seq, limits).unwrap().unwrap();
		let header = sealed.header(seq);
		let body = load_body(vfs, &header).unwrap().unwrap();
		let executed = execute_batch(executor, &project, &header, &body, &mut state, None).unwrap();
		assert!(executed.verdicts.refused.is_empty());
		headers.push((header, body));
		results.push(executed);
	}
	// Batch 1 ran on top of pending batch 0.
	assert_eq!((count(&results[0]), count(&results[1])), (5, 8));
	assert!(state.finalize(0));
	assert_eq!(state.finalized_root(), results[0].result.state_root);
	// Suppose batch 1 expired: it runs again on the finalized state, to the same result.
	assert!(state.expire(1).is_empty());
	let (header, body) = &headers[1];
	let again = execute_batch(executor, &project, header, body, &mut state, None).unwrap();
	assert_eq!(again.result.output_root, results[1].result.output_root);
	assert!(state.finalize(1));
	assert_eq!(state.finalized(b"count"), Some(&8u64.to_le_bytes().to_vec()));
	assert!(store.pending(1).unwrap().is_empty());

	// A later batch of copies and forgeries: a replay of seq 3, seq 6 twice, a message
	// whose payload was changed after signing. Only seq 9 counts.
	let mut forged = device.stored(10);
	forged.message.payload = b"device=d1;boost".to_vec();
	let (header, copies) =
		batch(2, vec![device.stored(3), device.stored(9), device.stored(6), forged]);
	let executed = execute_batch(executor, &project, &header, &copies, &mut state, None).unwrap();
	assert_eq!(executed.verdicts.counted, [1]);
	assert_eq!(
		executed.verdicts.refused,
		[(0, Invalid::Replayed), (2, Invalid::Replayed), (3, Invalid::BadSignature)]
	);
	assert_eq!(count(&executed), 9, "one message counted");
}

#[test]
fn an_expired_batchs_messages_count_when_committed_again_after_the_devices_later_ones() {
	// The device's seqs 6..=300 were in batch 1, which expired; its next 2,000 messages
	// counted in batch 2; then the committer commits batch 1's messages again (batch 3).
	// They never counted, so they count now (the window of 1,024 seqs has moved past them:
	// before the windows kept their gaps, all 295 were refused as `seq_too_old`, and the
	// device's acknowledged messages were lost); committed once more, none counts.
	let fixture = Fixture::new();
	let (executor, device) = (&fixture.executor, &fixture.device);
	let project = fixture.project();
	let mut state = ProjectState::default();
	let run = |seq: u64, seqs: std::ops::RangeInclusive<u64>, state: &mut ProjectState| {
		let (header, body) = batch(seq, seqs.map(|s| device.stored(s)).collect());
		execute_batch(executor, &project, &header, &body, state, None).unwrap()
	};
	assert!(run(0, 1..=5, &mut state).verdicts.refused.is_empty());
	assert!(state.finalize(0));
	assert!(run(1, 6..=300, &mut state).verdicts.refused.is_empty());
	assert!(state.expire(1).is_empty());
	assert!(run(2, 301..=2_300, &mut state).verdicts.refused.is_empty());
	assert!(state.finalize(2));
	let recommitted = run(3, 6..=300, &mut state);
	assert!(recommitted.verdicts.refused.is_empty(), "{:?}", recommitted.verdicts.refused);
	assert_eq!(count(&recommitted), 2_300, "every message counted once");
	assert!(state.finalize(3));
	let again = run(4, 6..=300, &mut state);
	assert!(again.verdicts.counted.is_empty());
	assert!(again.verdicts.refused.iter().all(|(_, reason)| *reason == Invalid::SeqTooOld));
}

#[test]
fn a_node_that_cannot_compute_a_batch_takes_the_agreed_changes_only_if_they_lead_to_the_root() {
	let fixture = Fixture::new();
	let (store, vfs, executor, device) =
		(&fixture.store, &fixture.vfs, &fixture.executor, &fixture.device);
	let project = fixture.project();
	// Batch 0: seqs 1..=3; batch 1: seq 4, a replay of seq 2, and seq 5.
	store.append((1..=3).map(|s| device.stored(s)).collect()).unwrap();
	let limits = BatchLimits { max_messages: 100, max_bytes: 1 << 20 };
	let header0 = seal_batch(store, vfs, 1, 0, limits).unwrap().unwrap().header(0);
	let body0 = load_body(vfs, &header0).unwrap().unwrap();
	let (header1, body1) = batch(1, vec![device.stored(4), device.stored(2), device.stored(5)]);

	// The network: both batches run and finalize.
	let mut honest = ProjectState::default();
	execute_batch(executor, &project, &header0, &body0, &mut honest, None).unwrap();
	assert!(honest.finalize(0));
	let executed = execute_batch(executor, &project, &header1, &body1, &mut honest, None).unwrap();
	let agreed = w3b_worker::state::AgreedChanges::decode(
		&mut &honest.changes(1).unwrap().encode_agreed()[..],
	)
	.unwrap();
	let finalized_root = executed.result.state_root;
	assert!(honest.finalize(1));

	// A node that agreed on batch 0 and computed batch 1 wrong takes the network's.
	let mut faulty = ProjectState::default();
	execute_batch(executor, &project, &header0, &body0, &mut faulty, None).unwrap();
	assert!(faulty.finalize(0));
	faulty.record(
		1,
		w3b_worker::state::BatchChanges {
			state_root: sp_core::H256::repeat_byte(9),
			..Default::default()
		},
	);
	let before = faulty.clone();

	// A peer's lie is refused, whatever it changes, and nothing is taken.
	let mut more_writes = agreed.clone();
	more_writes.writes.insert(b"count".to_vec(), 1_000u64.to_le_bytes().to_vec());
	let mut replay_counted = agreed.clone();
	replay_counted.refused.clear();
	let mut other_sql = agreed.clone();
	other_sql.sql.push(b"DROP TABLE readings".to_vec());
	for lie in [more_writes, replay_counted, other_sql] {
		let refused =
			faulty.adopt(1, &header1.merkle_root, &body1, lie, finalized_root, false).unwrap_err();
		assert!(matches!(refused, w3b_worker::state::AdoptError::WrongRoot { .. }), "{refused}");
		assert_eq!(faulty.finalized_through(), before.finalized_through());
		assert_eq!(faulty.finalized_root(), before.finalized_root());
	}
	// Nor a refused list out of batch order, repeated or past the batch's end (a quorum
	// would have had to finalize it).
	for refused in
		[vec![(1, Invalid::Replayed), (1, Invalid::Replayed)], vec![(3, Invalid::Replayed)]]
	{
		let mut listed = agreed.clone();
		listed.refused = refused;
		let root = listed.state_root(&faulty.finalized_root(), &header1.merkle_root);
		assert_eq!(
			faulty.adopt(1, &header1.merkle_root, &body1, listed, root, false),
			Err(w3b_worker::state::AdoptError::Refused)
		);
	}
	// Changes for a batch already final here are not taken either.
	assert_eq!(
		faulty.adopt(0, &header0.merkle_root, &body0, agreed.clone(), finalized_root, false),
		Err(w3b_worker::state::AdoptError::NotNext { seq: 0, through: Some(0) })
	);

	faulty.adopt(1, &header1.merkle_root, &body1, agreed, finalized_root, false).unwrap();
	assert_eq!(faulty.finalized_through(), Some(1));
	assert_eq!(faulty.finalized_root(), honest.finalized_root());
	assert_eq!(faulty.finalized(b"count"), honest.finalized(b"count"));
	assert!(!faulty.is_pending(1));
	// The replay windows came with them: the next batch runs alike on both.
	let (header2, body2) = batch(2, vec![device.stored(5), device.stored(6)]);
	let on_honest = execute_batch(executor, &project, &header2, &body2, &mut honest, None).unwrap();
	let on_faulty = execute_batch(executor, &project, &header2, &body2, &mut faulty, None).unwrap();
	assert_eq!(on_faulty.verdicts.refused, [(0, Invalid::Replayed)]);
	assert_eq!(on_faulty.result.output_root, on_honest.result.output_root);
}

#[test]
fn a_batch_made_on_chain_is_adopted_though_its_logs_share_a_source_and_block() {
	let fixture = Fixture::new();
	let executor = &fixture.executor;
	let project = ProjectContext { made_on_chain: true, ..fixture.project() };
	// Two logs of one contract in EVM block 7: one source id, seq 7 for both.
	let source = w3b_primitives::inbound::source_id(4690, &sp_core::H160::repeat_byte(5));
	let log = |payload: &[u8]| StoredMessage {
		message: Message {
			project: 1,
			device: source,
			seq: 7,
			timestamp_ms: NOW,
			event_type: b"evm:Reading".to_vec(),
			payload: payload.to_vec(),
			encrypted: false,
		},
		signature: w3b_primitives::inbound::LOG_SIGNATURE,
		received_ms: NOW,
	};
	let (header, body) = batch(0, vec![log(b"first"), log(b"second")]);
	let mut honest = ProjectState::default();
	let executed = execute_batch(executor, &project, &header, &body, &mut honest, None).unwrap();
	assert_eq!(executed.verdicts.counted, [0, 1]);
	assert_eq!(count(&executed), 2);
	let agreed = w3b_worker::state::AgreedChanges::decode(
		&mut &honest.changes(0).unwrap().encode_agreed()[..],
	)
	.unwrap();
	let root = executed.result.state_root;

	// Read as a device's batch, the second log would replay the first.
	let mut syncing = ProjectState::default();
	assert_eq!(
		syncing.adopt(0, &header.merkle_root, &body, agreed.clone(), root, false),
		Err(w3b_worker::state::AdoptError::Replay { index: 1 })
	);
	// A made-on-chain batch refuses nothing: a refused list is a lie.
	let mut with_refusal = agreed.clone();
	with_refusal.refused = vec![(1, Invalid::Replayed)];
	let lie_root = with_refusal.state_root(&syncing.finalized_root(), &header.merkle_root);
	assert_eq!(
		syncing.adopt(0, &header.merkle_root, &body, with_refusal, lie_root, true),
		Err(w3b_worker::state::AdoptError::Refused)
	);
	syncing.adopt(0, &header.merkle_root, &body, agreed, root, true).unwrap();
	assert_eq!(syncing.finalized_through(), Some(0));
	assert_eq!(syncing.finalized_root(), root);
	assert_eq!(syncing.finalized(b"count"), Some(&2u64.to_le_bytes().to_vec()));
}

/// What the example SQL applet logged last in `executed`: the number of rows.
fn rows(executed: &Executed) -> String {
	executed.result.events.last().unwrap().logs.last().unwrap().message.clone()
}

#[test]
fn a_projects_sql_database_lives_like_its_state() {
	let fixture = Fixture::with_applet("sql");
	let (executor, device) = (&fixture.executor, &fixture.device);
	let project = fixture.project();
	let dir = tempfile::tempdir().unwrap();
	let (state_path, sql_path) =
		(dir.path().join("project-1.state"), dir.path().join("project-1.sql"));
	let mut state = ProjectState::default();
	let mut sql = ProjectSql::open(&sql_path).unwrap();
	let batches: Vec<_> = (0..4u64)
		.map(|seq| batch(seq, (1..=2).map(|i| device.stored(seq * 2 + i)).collect()))
		.collect();
	let run = |state: &mut ProjectState, sql: &mut ProjectSql, seq: usize| {
		let (header, body) = &batches[seq];
		let executed = execute_batch(executor, &project, header, body, state, Some(sql)).unwrap();
		assert!(
			executed.result.events.iter().all(|e| e.succeeded()),
			"{:?}",
			executed.result.events
		);
		executed
	};

	// Batch 1 runs on batch 0's pending rows; its statements are its SQL result.
	let first = run(&mut state, &mut sql, 0);
	assert_eq!(rows(&first), r#"[{"n":2}]"#);
	assert_eq!(first.result.sql_statements.len(), 4, "CREATE and INSERT per message");
	let second = run(&mut state, &mut sql, 1);
	assert_eq!(rows(&second), r#"[{"n":4}]"#);

	// Batch 0 final: the state is saved, then its statements go to the final database.
	assert!(state.finalize(0));
	state.save(&state_path).unwrap();
	sql.catch_up(&mut state).unwrap();
	assert_eq!(sql.final_through().unwrap(), Some(0));
	// Batch 1 expires: it runs again on batch 0's rows only, to the same result.
	assert!(state.expire(1).is_empty());
	let again = run(&mut state, &mut sql, 1);
	assert_eq!(rows(&again), r#"[{"n":4}]"#);
	assert_eq!(again.result.output_root, second.result.output_root);
	assert!(state.finalize(1));
	state.save(&state_path).unwrap();

	// A crash after the state was saved and before the database caught up: after a
	// restart the statements are replayed from the state file, once.
	drop(sql);
	let mut state = ProjectState::load(&state_path).unwrap();
	let mut sql = ProjectSql::open(&sql_path).unwrap();
	assert_eq!(sql.final_through().unwrap(), Some(0));
	let third = run(&mut state, &mut sql, 2);
	assert_eq!(rows(&third), r#"[{"n":6}]"#);
	assert_eq!(sql.final_through().unwrap(), Some(1));
	sql.catch_up(&mut state).unwrap();
	assert_eq!(sql.final_through().unwrap(), Some(1), "nothing replayed twice");

	// A node that lost batch 2's result (a reorganisation) and runs it again, and a node
	// that never ran anything (fresh database, same finalized batches): the same roots.
	state.discard_from(2);
	assert_eq!(run(&mut state, &mut sql, 2).result.output_root, third.result.output_root);
	let fresh_dir = tempfile::tempdir().unwrap();
	let mut fresh = ProjectState::default();
	let mut fresh_sql = ProjectSql::open(&fresh_dir.path().join("project-1.sql")).unwrap();
	for seq in 0..3 {
		let executed = run(&mut fresh, &mut fresh_sql, seq);
		assert!(fresh.finalize(seq as u64));
		if seq == 2 {
			assert_eq!(executed.result.output_root, third.result.output_root);
		}
	}
}

/// What a run of one project's batches left: each batch's output and state roots, the
/// events that failed, and the rows of its SQL database.
#[derive(Debug, PartialEq)]
struct Trace {
	roots: Vec<(sp_core::H256, sp_core::H256)>,
	failed: Vec<usize>,
	refused: Vec<usize>,
	sql_statements: usize,
}

impl Trace {
	fn of(executed: &[Executed]) -> Self {
		Trace {
			roots: executed.iter().map(|e| (e.result.output_root, e.result.state_root)).collect(),
			failed: executed
				.iter()
				.map(|e| e.result.events.iter().filter(|ev| !ev.succeeded()).count())
				.collect(),
			refused: executed.iter().map(|e| e.verdicts.refused.len()).collect(),
			sql_statements: executed.iter().map(|e| e.result.sql_statements.len()).sum(),
		}
	}
}

#[test]
fn projects_run_in_parallel_to_the_results_of_running_them_one_after_another() {
	// Six projects, each with its own applets: a key-value counter, an applet whose
	// events write and then trap (their writes discarded), one that tries refused
	// calls, and (every other project) the SQL applet on its own database. Six batches
	// each, of different sizes, with replays that do not count.
	let executor = Arc::new(Executor::new(EngineConfig::default()).unwrap());
	let (counter, hostile, sql) = (
		applets::load(&executor, "counter"),
		applets::load(&executor, "hostile"),
		applets::load(&executor, "sql"),
	);
	let device = Device(ed25519::Pair::from_seed(&[3; 32]));
	let devices = Arc::new(HashMap::from([(device.record().key.device_id(), device.record())]));
	let projects: Vec<u64> = (1..=6).collect();
	let applets_of = |project: u64| {
		let mut list = vec![
			applets::applet(0, counter, &[("DEFAULT", "start")]),
			applets::applet(
				1,
				hostile,
				&[("FAIL", "write_then_panic"), ("REFUSED", "nondeterministic")],
			),
		];
		if project % 2 == 0 {
			list.push(applets::applet(2, sql, &[("DEFAULT", "start")]));
		}
		list
	};
	let applets: HashMap<u64, Arc<Vec<_>>> =
		projects.iter().map(|p| (*p, Arc::new(applets_of(*p)))).collect();
	let batches: HashMap<u64, Arc<Vec<_>>> = projects
		.iter()
		.map(|&project| {
			let mut seq = 0u64;
			let list = (0..6u64)
				.map(|b| {
					let size = 5 + (project as u64 * 7 + b * 3) % 20;
					let mut messages: Vec<_> = (0..size)
						.map(|i| {
							seq += 1;
							let ty = ["DEFAULT", "DEFAULT", "FAIL", "REFUSED"][(i % 4) as usize];
							device.stored_for(project, seq, ty)
						})
						.collect();
					// A replay of the batch's first message: refused, in every run alike.
					messages.push(messages[0].clone());
					batch_of(project, b, messages)
				})
				.collect();
			(project, Arc::new(list))
		})
		.collect();
	let context = |project: u64| ProjectContext {
		commitment: Context { project, committed_at: 10, committed_at_ms: NOW },
		env: Arc::new(Vec::new()),
		fuel_per_batch: 1_000_000_000,
		applets: &applets[&project],
		devices: &devices,
		made_on_chain: false,
	};

	// One after another, with execute_batch alone: the reference.
	let dir = tempfile::tempdir().unwrap();
	let open_sql = |run: &str, project: u64| {
		(project % 2 == 0)
			.then(|| ProjectSql::open(&dir.path().join(format!("{run}-{project}.sql"))).unwrap())
	};
	let mut serial = Vec::new();
	for &project in &projects {
		let mut state = ProjectState::default();
		let mut sql = open_sql("serial", project);
		let executed: Vec<Executed> = batches[&project]
			.iter()
			.map(|(header, body)| {
				execute_batch(&executor, &context(project), header, body, &mut state, sql.as_mut())
					.unwrap()
			})
			.collect();
		serial.push(Trace::of(&executed));
	}
	let trace = &serial[1];
	assert!(trace.failed.iter().all(|f| *f > 0), "the trapping events failed: {trace:?}");
	assert!(trace.refused.iter().all(|r| *r == 1), "each replay refused: {trace:?}");
	assert!(trace.sql_statements > 0, "project 2 wrote SQL: {trace:?}");

	// The same with execute_projects, on one thread and on more threads than cores.
	for threads in [1, 2, 4] {
		let jobs: Vec<Job> = projects
			.iter()
			.map(|&project| Job {
				project,
				state: ProjectState::default(),
				sql: open_sql(&format!("threads{threads}"), project),
				batches: batches[&project].clone(),
				applets: applets[&project].clone(),
				devices: devices.clone(),
				gate: None,
			})
			.collect();
		let (jobs, results): (Vec<Job>, Vec<JobResults>) =
			run_jobs(&executor, jobs, threads).into_iter().unzip();
		let traces: Vec<Trace> = results
			.into_iter()
			.map(|project| {
				let executed: Vec<Executed> = project.into_iter().map(Result::unwrap).collect();
				Trace::of(&executed)
			})
			.collect();
		assert_eq!(traces, serial, "{threads} threads");
		// The states hold the same pending roots for every batch.
		for (job, trace) in jobs.iter().zip(&serial) {
			for (seq, (_, state_root)) in trace.roots.iter().enumerate() {
				assert_eq!(job.state.changes(seq as u64).map(|c| c.state_root), Some(*state_root));
			}
		}
	}
}

#[test]
fn a_failed_batch_ends_its_projects_run_and_not_the_others() {
	let fixture = Fixture::new();
	// The second project's applet runs code that is not loaded: its first batch fails.
	let missing = vec![applets::applet(0, sp_core::H256::repeat_byte(0xee), &[])];
	let jobs = vec![fixture.job(1, fixture.applets.to_vec()), fixture.job(2, missing)];
	let done = run_jobs(&fixture.executor, jobs, 2);
	let ((good, good_results), (bad, bad_results)) = (&done[0], &done[1]);
	assert_eq!(good_results.len(), 3);
	assert!(good_results.iter().all(Result::is_ok));
	assert_eq!(bad_results.len(), 1, "nothing runs after the failed batch");
	assert!(matches!(bad_results[0], Err(w3b_executor::ExecutorError::UnknownCode(_))));
	assert!(bad.state.changes(0).is_none(), "the failed batch left no result");
	assert_eq!(
		good.state.changes(2).map(|c| c.state_root),
		Some(good_results[2].as_ref().unwrap().result.state_root)
	);
}

#[test]
fn a_projects_results_come_back_while_a_slower_project_still_runs() {
	// The first project cannot finish before the second's results are back (it waits
	// for the test to hear of them): handing results back only once every project is
	// done would leave the test waiting, and it fails after a minute.
	let fixture = Fixture::new();
	let (open, gate) = std::sync::mpsc::channel();
	let slow = Job { gate: Some(gate), ..fixture.job(1, fixture.applets.to_vec()) };
	let fast = fixture.job(2, fixture.applets.to_vec());
	let (sender, finished) = std::sync::mpsc::channel();
	execute_projects(fixture.executor.clone(), vec![slow, fast], 2, move |job, results, ran| {
		let _ = sender.send((job.project, results, ran));
	});
	let wait = std::time::Duration::from_secs(60);
	let (first, results, _) = finished
		.recv_timeout(wait)
		.expect("the second project's results came back while the first still ran");
	assert_eq!(first, 2);
	assert_eq!(results.len(), 3);
	// The first project runs on for as long as its gate stays shut: what it cost is told.
	let held = std::time::Duration::from_millis(200);
	std::thread::sleep(held);
	open.send(()).unwrap();
	let (second, results, ran) = finished.recv_timeout(wait).expect("the first project finished");
	assert_eq!(second, 1);
	assert!(results.iter().all(Result::is_ok));
	assert_eq!(results.len(), 3);
	assert!(ran >= held, "the job ran {ran:?}, held {held:?} of it");
}
