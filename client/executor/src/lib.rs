//! The W3bstream applet engine: runs a project's applets over a batch of messages with
//! wasmtime, so that every operator computes byte-identical results.
//!
//! - **ABI.** Applets built with W3bstream's AssemblyScript, Rust and Go SDKs run
//!   unchanged: `env.ws_*`, `stat.ws_submit_metrics`, the AssemblyScript `abort`,
//!   `trace` and `seed` hooks, WASI preview 1 (sandboxed, see [`wasi`](crate)), an
//!   exported `memory`, `alloc(size) -> ptr` and handlers `(rid) -> i32`. Return codes
//!   are in [`codes`].
//! - **Determinism.** NaN canonicalization, no threads, no relaxed SIMD; the clock and the
//!   random source come from the batch; SQL refuses time and random functions; network
//!   and contract reads are refused ([`codes::REFUSED`]). Fuel meters every instruction
//!   against the project's per-batch budget, at most [`MAX_FUEL_PER_EVENT`] per event.
//! - **Isolation.** A fresh instance per event (nothing leaks between events), a memory
//!   cap per instance, a wall-clock backstop (epoch interruption) for a module that
//!   somehow escapes fuel. A trapping, looping or memory-hungry applet fails its own
//!   event: its writes and outputs are discarded and the batch goes on.
//! - **Speed.** Modules are compiled once per code hash and pre-linked
//!   ([`wasmtime::InstancePre`]); instances come from the pooling allocator; the
//!   executor is `Sync`, so batches of different projects run in parallel, each on its
//!   own engine (a lane) while there are lanes free.
//! - **Liveness.** Compiled code is bounded in bytes, but never the code a caller holds
//!   a [`LoadedCode`] for: a batch whose applets were loaded runs, however much code
//!   others loaded since.
//!
//! The result of a batch ([`BatchResult`]) holds each event's outcome, logs, outputs and
//! fuel, the state writes, the new state root and the `output_root` operators attest
//! ([`w3b_primitives::proof::output_root`]).

#![deny(missing_docs)]

pub mod codes;
mod exports;
mod host;
pub mod local;
mod meter;
pub mod sql;
pub mod state;
mod wasi;

use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc, Mutex, RwLock, Weak,
	},
	thread,
	time::Duration,
};

use serde::Serialize;
use sp_core::H256;
use w3b_primitives::{
	project::Applet,
	proof::{output_root, MaxOutputs, Output},
	AppletId, Message, ProjectId,
};
use wasmtime::{
	Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
	PoolingAllocationConfig, Store, StoreLimitsBuilder, Trap,
};

pub use host::{
	send_tx, sql_digest, LogLine, FUEL_PER_BYTE, FUEL_PER_PAGE, FUEL_PER_RANDOM_BYTE,
	FUEL_PER_SQL_STEP, FUEL_PER_TABLE_ELEMENT, HOST_CALL_FUEL, MAX_BATCH_SQL_BYTES,
	MAX_BATCH_WRITE_BYTES, MAX_DATA_LEN, MAX_DB_VALUE_LEN, MAX_LOGS_PER_EVENT, MAX_LOG_LEN,
	MAX_METRICS_PER_EVENT, MAX_REPORT_BYTES_PER_BATCH, MAX_SQL_REQUEST_LEN, METER_CALL_FUEL,
};
pub use sql::{SqlDb, SqlError};
pub use state::{state_root, StateView, Transition, Writes};

use exports::Exports;
use host::HostState;

/// How the engine runs applets.
#[derive(Debug, Clone)]
pub struct EngineConfig {
	/// Take instances from a pre-allocated pool (fast) instead of allocating each one.
	pub pooling: bool,
	/// Instances that can be alive at once (pool size; concurrent events).
	pub max_instances: u32,
	/// Largest linear memory of one instance, in bytes.
	pub max_memory_bytes: usize,
	/// Largest WASM stack of one instance, in bytes (deep recursion traps beyond it).
	pub max_wasm_stack: usize,
	/// Wall-clock backstop per event. Fuel stops runaway applets deterministically long
	/// before; this only catches what fuel cannot (a host call that blocks).
	pub event_timeout: Duration,
	/// Most bytes of compiled code kept loaded beyond what callers hold ([`LoadedCode`]);
	/// past it, the code used least recently is dropped (and compiled again when loaded
	/// again). The lanes' copies of it are bounded by as much again, all lanes together.
	pub max_module_cache_bytes: usize,
	/// Bytes at the start of each pooled linear memory that are zeroed with `memset` when
	/// an instance ends, instead of being given back to the kernel (only with `pooling`).
	/// Giving memory back (`madvise`) interrupts every core running the process (a TLB
	/// shootdown), which is what kept events from scaling across cores; zeroing costs
	/// time per byte. A memory no larger than this is reset without a system call.
	pub keep_resident_bytes: usize,
	/// Engines, each with its own instance pool and its own copy of the compiled code,
	/// that batches running at the same time take one each. Batches sharing one engine
	/// contend for its pool's locks (two cores ran fewer events together than one alone).
	/// Code is compiled once and copied into a lane when a batch runs it there.
	pub lanes: usize,
}

impl Default for EngineConfig {
	/// Pooling, 64 concurrent instances of at most 64 MiB, 512 KiB of stack, 2 s, 512 MiB
	/// of compiled code (a project's 16 applets of 1 MiB compile to well under it), memories
	/// up to 256 KiB zeroed in place (AssemblyScript applets use one 64 KiB page, Rust
	/// applets built with the SDK's 32 KiB stack and 16 KiB arena one or two), a lane per
	/// core (at most 8).
	fn default() -> Self {
		EngineConfig {
			pooling: true,
			max_instances: 64,
			// What the chain lets a module's memory start with.
			max_memory_bytes: (w3b_primitives::code::MAX_MEMORY_PAGES as usize) << 16,
			max_wasm_stack: 512 << 10,
			event_timeout: Duration::from_secs(2),
			max_module_cache_bytes: 512 << 20,
			keep_resident_bytes: 256 << 10,
			lanes: thread::available_parallelism().map_or(1, |n| n.get().min(8)),
		}
	}
}

/// What went wrong outside a single event.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
	/// wasmtime refused the configuration.
	#[error("engine configuration: {0}")]
	Config(String),
	/// The code is not applet code, or does not hash to what it claims.
	#[error("code {hash:?} cannot be loaded: {reason}")]
	InvalidCode {
		/// The code's hash.
		hash: H256,
		/// Why.
		reason: String,
	},
	/// An applet runs code that was not loaded with [`Executor::load`], or was dropped
	/// since (nobody held it).
	#[error("code {0:?} is not loaded")]
	UnknownCode(H256),
	/// The project's SQL database failed outside any event.
	#[error(transparent)]
	Sql(#[from] SqlError),
}

/// A batch to execute.
pub struct BatchInput<'a> {
	/// The project.
	pub project: ProjectId,
	/// The batch number.
	pub batch_seq: u64,
	/// The batch's Merkle root (seeds the random source).
	pub merkle_root: H256,
	/// The batch's time, in milliseconds since the epoch (the applets' clock).
	pub timestamp_ms: u64,
	/// Fuel for the whole batch.
	pub fuel: u64,
	/// The project's environment.
	pub env: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
	/// The project's applets.
	pub applets: &'a [(AppletId, Applet)],
	/// The messages that count, in batch order (the caller drops the others).
	pub messages: &'a [Message],
	/// Which of the batch's messages counted
	/// ([`w3b_primitives::validity::verdicts_digest`]), for the state root.
	pub verdicts: H256,
	/// The state root after the previous batch.
	pub prev_state_root: H256,
}

/// How an event ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
	/// The handler returned this code (0 is success; anything else fails the event).
	Returned(i32),
	/// The event could not run to the end: trap, abort, out of fuel, timeout, missing
	/// handler, failed instantiation.
	Failed(String),
}

/// The result of running one applet's handler on one message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventResult {
	/// Index of the message in the batch (also the `rid` the handler got).
	pub message: u32,
	/// The applet.
	pub applet: AppletId,
	/// The handler called.
	pub handler: String,
	/// How it ended.
	pub outcome: Outcome,
	/// What it logged.
	pub logs: Vec<LogLine>,
	/// Lines it logged that were not kept ([`MAX_LOGS_PER_EVENT`] per event,
	/// [`MAX_REPORT_BYTES_PER_BATCH`] per batch).
	pub logs_dropped: u32,
	/// Outputs it produced (kept only when it succeeded), hex.
	pub outputs: Vec<String>,
	/// Keys it wrote (kept only when it succeeded), hex.
	pub writes: Vec<String>,
	/// What it set with `ws_set_data`, hex.
	pub data: Option<String>,
	/// Metrics it submitted.
	pub metrics: Vec<String>,
	/// Fuel it burnt.
	pub fuel: u64,
}

impl EventResult {
	/// Whether the event succeeded (its writes and outputs count).
	pub fn succeeded(&self) -> bool {
		self.outcome == Outcome::Returned(0)
	}

	/// Whether the wall-clock backstop stopped the event (not its code, not fuel): its
	/// failure depends on how fast this machine ran it, so another operator may well have
	/// seen it succeed.
	pub fn hit_wall_clock(&self) -> bool {
		matches!(&self.outcome, Outcome::Failed(reason) if reason == WALL_CLOCK_TIMEOUT)
	}
}

/// Why an event the wall-clock backstop stopped failed.
pub const WALL_CLOCK_TIMEOUT: &str = "timed out (wall-clock backstop)";

/// The result of a batch.
#[derive(Debug, Clone)]
pub struct BatchResult {
	/// One per (message, applet routing it), in execution order.
	pub events: Vec<EventResult>,
	/// The state writes of the successful events, to apply when the proof is final.
	pub writes: Writes,
	/// The outputs of the successful events, in order.
	pub outputs: Vec<Output>,
	/// The SQL statements the successful events executed, in order (replaying them on
	/// the database as it was rebuilds it as it is: [`SqlDb::replay`]).
	pub sql_statements: Vec<Vec<u8>>,
	/// Their digest ([`sql_digest`]).
	pub sql_digest: H256,
	/// The state root after the batch.
	pub state_root: H256,
	/// What operators attest: [`output_root`] of the state root and outputs.
	pub output_root: H256,
	/// Fuel burnt by the whole batch.
	pub fuel_used: u64,
}

/// Ticks the engines' epochs so that a stuck event hits its wall-clock deadline.
struct EpochTicker {
	stop: Arc<AtomicBool>,
	thread: Option<thread::JoinHandle<()>>,
}

/// Most fuel one event may burn, whatever the batch has left: a runaway applet fails its
/// own event without starving the events after it. Part of consensus (every operator
/// must use the same value).
pub const MAX_FUEL_PER_EVENT: u64 = 100_000_000;

/// Length of an epoch.
const EPOCH: Duration = Duration::from_millis(10);
/// Bytes of reasons for refused code kept ([`CodeStore::refused`]).
const MAX_REFUSED_BYTES: usize = 64 << 10;

impl EpochTicker {
	fn start(engines: Vec<Engine>) -> Self {
		let stop = Arc::new(AtomicBool::new(false));
		let flag = stop.clone();
		let thread = thread::Builder::new()
			.name("w3b-epoch".into())
			.spawn(move || {
				while !flag.load(Ordering::Relaxed) {
					thread::sleep(EPOCH);
					engines.iter().for_each(Engine::increment_epoch);
				}
			})
			.expect("spawning the epoch thread");
		EpochTicker { stop, thread: Some(thread) }
	}
}

impl Drop for EpochTicker {
	fn drop(&mut self) {
		self.stop.store(true, Ordering::Relaxed);
		if let Some(thread) = self.thread.take() {
			let _ = thread.join();
		}
	}
}

/// A value kept for a code hash, with its size and last use.
struct Cached<V> {
	value: V,
	bytes: usize,
	/// When it was last used ([`Executor::clock`]).
	used: AtomicU64,
}

/// Values by code hash, bounded in bytes, least recently used dropped first.
struct BoundedCache<V> {
	entries: HashMap<H256, Cached<V>>,
	bytes: usize,
}

impl<V> Default for BoundedCache<V> {
	fn default() -> Self {
		BoundedCache { entries: HashMap::new(), bytes: 0 }
	}
}

impl<V> BoundedCache<V> {
	fn get(&self, hash: &H256) -> Option<&V> {
		self.entries.get(hash).map(|entry| &entry.value)
	}

	/// Marks `hash` used at `tick`, if it is here.
	fn touch(&self, hash: &H256, tick: u64) {
		if let Some(entry) = self.entries.get(hash) {
			entry.used.fetch_max(tick, Ordering::Relaxed);
		}
	}

	/// Inserts `value` (used at `tick`), dropping the least recently used entries until it
	/// fits in `max` bytes (a value larger than `max` alone is still kept: it is needed
	/// now).
	fn insert(&mut self, hash: H256, value: V, bytes: usize, max: usize, tick: u64) {
		if let Some(earlier) = self.entries.remove(&hash) {
			self.bytes -= earlier.bytes;
		}
		while self.bytes + bytes > max {
			let Some(oldest) = self
				.entries
				.iter()
				.min_by_key(|(_, entry)| entry.used.load(Ordering::Relaxed))
				.map(|(hash, _)| *hash)
			else {
				break;
			};
			let dropped = self.entries.remove(&oldest).expect("just found");
			self.bytes -= dropped.bytes;
			tracing::debug!(target: "w3b::executor", code = ?oldest, "compiled code dropped");
		}
		let used = AtomicU64::new(tick);
		self.bytes += bytes;
		self.entries.insert(hash, Cached { value, bytes, used });
	}
}

/// Code compiled by [`Executor::load`]: the executor keeps it while a handle lives, and
/// after that while the bound on compiled code
/// ([`EngineConfig::max_module_cache_bytes`]) leaves room. Hold one for each applet of
/// a batch from loading its code until the batch ran.
#[derive(Clone)]
pub struct LoadedCode(Arc<Artifact>);

impl LoadedCode {
	/// The code hash.
	pub fn hash(&self) -> H256 {
		self.0.hash
	}

	/// Bytes of its compiled form.
	pub fn bytes(&self) -> usize {
		self.0.compiled.len()
	}
}

impl std::fmt::Debug for LoadedCode {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_tuple("LoadedCode").field(&self.0.hash).finish()
	}
}

/// Compiled code, as [`Engine::precompile_module`] wrote it.
struct Artifact {
	hash: H256,
	compiled: Vec<u8>,
	/// Fuel each instantiation costs: its memory's pages and the bytes of the active data
	/// segments it copies.
	instantiation_fuel: u64,
}

/// Code linked in a lane's engine, with where its exports are and the fuel each
/// instantiation costs.
#[derive(Clone)]
struct Linked {
	pre: InstancePre<HostState>,
	exports: Arc<Exports>,
	instantiation_fuel: u64,
}

/// The executor's compiled code by code hash.
#[derive(Default)]
struct CodeStore {
	/// Every artifact a handle or `kept` may still hold (dead entries are swept when code
	/// is compiled).
	live: HashMap<H256, Weak<Artifact>>,
	/// Artifacts kept without a handle, within the bound.
	kept: BoundedCache<Arc<Artifact>>,
	/// Why code failed to load, within [`MAX_REFUSED_BYTES`]: code the chain holds but
	/// this engine cannot compile (accepted under older limits, say) would otherwise be
	/// compiled again, for up to seconds, for every batch that runs it.
	refused: BoundedCache<String>,
}

/// One engine of the executor, with its instance pool and its copies of compiled code.
struct Lane {
	engine: Engine,
	linker: Linker<HostState>,
	modules: RwLock<BoundedCache<Linked>>,
	/// Whether a batch runs on this lane.
	busy: AtomicBool,
}

impl Lane {
	fn new(wasm: &Config) -> Result<Self, ExecutorError> {
		let engine = Engine::new(wasm).map_err(|e| ExecutorError::Config(e.to_string()))?;
		let mut linker = Linker::new(&engine);
		host::link(&mut linker).map_err(|e| ExecutorError::Config(e.to_string()))?;
		wasi::link(&mut linker).map_err(|e| ExecutorError::Config(e.to_string()))?;
		Ok(Lane {
			engine,
			linker,
			modules: RwLock::new(BoundedCache::default()),
			busy: AtomicBool::new(false),
		})
	}

	/// Copies `artifact` into this lane's engine, linked; keeps the copy within `max`
	/// bytes of copies.
	fn copy(&self, artifact: &Artifact, max: usize, tick: u64) -> Result<Linked, ExecutorError> {
		let invalid = |reason: String| ExecutorError::InvalidCode { hash: artifact.hash, reason };
		// SAFETY: `compiled` was written by `precompile_module` of an engine of this
		// process with this engine's configuration (all lanes share one) and is never
		// changed after.
		let module = unsafe { Module::deserialize(&self.engine, &artifact.compiled) }
			.map_err(|e| invalid(e.to_string()))?;
		let pre = self.linker.instantiate_pre(&module).map_err(|e| invalid(format!("{e:#}")))?;
		let image = module.image_range();
		let bytes = (image.end as usize).saturating_sub(image.start as usize);
		let exports = Arc::new(Exports::of(&module));
		let linked = Linked { pre, exports, instantiation_fuel: artifact.instantiation_fuel };
		let mut modules = self.modules.write().expect("module cache lock");
		modules.insert(artifact.hash, linked.clone(), bytes, max, tick);
		Ok(linked)
	}
}

/// A lane taken by one batch, given back when dropped.
struct LaneGuard<'a> {
	lane: &'a Lane,
	taken: bool,
}

impl Drop for LaneGuard<'_> {
	fn drop(&mut self) {
		if self.taken {
			self.lane.busy.store(false, Ordering::Release);
		}
	}
}

/// The applet engine. Load code with [`Executor::load`], then run batches.
pub struct Executor {
	lanes: Vec<Lane>,
	code: Mutex<CodeStore>,
	/// Counts uses of code, so that the code store and every lane drop the same code
	/// first (a use is marked once per batch rather than per event).
	clock: AtomicU64,
	config: EngineConfig,
	_ticker: EpochTicker,
}

impl Executor {
	/// An engine with `config`.
	pub fn new(config: EngineConfig) -> Result<Self, ExecutorError> {
		let mut wasm = Config::new();
		wasm.consume_fuel(true)
			.epoch_interruption(true)
			.cranelift_nan_canonicalization(true)
			.wasm_threads(false)
			.wasm_relaxed_simd(false)
			.wasm_simd(true)
			.wasm_bulk_memory(true)
			.wasm_multi_value(true)
			.wasm_multi_memory(false)
			.wasm_memory64(false)
			.wasm_tail_call(false)
			.max_wasm_stack(config.max_wasm_stack)
			// Copy data segments instead of mapping a copy-on-write image per instance:
			// applets' data is small, and an mmap per instantiation serializes threads on
			// the process's memory map.
			.memory_init_cow(false);
		if config.pooling {
			let mut pool = PoolingAllocationConfig::new();
			pool.total_core_instances(config.max_instances)
				.total_memories(config.max_instances)
				.total_tables(config.max_instances)
				.max_memories_per_module(1)
				.max_tables_per_module(1)
				.max_memory_size(config.max_memory_bytes)
				// What the chain lets a module's table start with.
				.table_elements(w3b_primitives::code::MAX_TABLE_ELEMENTS as usize)
				// Give memory back to the kernel in batches: each decommit (madvise) of a
				// slot interrupts every core running the process, which is what limits
				// scaling across cores when instances are short-lived.
				.decommit_batch_size(32)
				.linear_memory_keep_resident(config.keep_resident_bytes)
				.table_keep_resident(config.keep_resident_bytes);
			wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
		}
		let lanes: Vec<Lane> =
			(0..config.lanes.max(1)).map(|_| Lane::new(&wasm)).collect::<Result<_, _>>()?;
		let ticker = EpochTicker::start(lanes.iter().map(|lane| lane.engine.clone()).collect());
		Ok(Executor {
			lanes,
			code: Mutex::default(),
			clock: AtomicU64::new(0),
			config,
			_ticker: ticker,
		})
	}

	/// A lane no other batch runs on, or, when every lane is busy, one shared by the
	/// calling thread's batches.
	fn take_lane(&self) -> LaneGuard<'_> {
		for lane in &self.lanes {
			if lane.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
			{
				return LaneGuard { lane, taken: true };
			}
		}
		let mut hasher = std::collections::hash_map::DefaultHasher::new();
		std::hash::Hash::hash(&thread::current().id(), &mut hasher);
		let index = std::hash::Hasher::finish(&hasher) as usize % self.lanes.len();
		LaneGuard { lane: &self.lanes[index], taken: false }
	}

	/// Compiles and links `wasm` unless code `hash` is loaded: it must be what the chain
	/// accepts as applet code, hash to `hash`, and import nothing the engine does not
	/// provide. The code stays loaded while the handle returned lives.
	pub fn load(&self, hash: H256, wasm: &[u8]) -> Result<LoadedCode, ExecutorError> {
		if let Some(loaded) = self.loaded(&hash) {
			return Ok(loaded);
		}
		if w3b_primitives::project::code_hash(wasm) != hash {
			let reason = "the code does not hash to this code hash".into();
			return Err(ExecutorError::InvalidCode { hash, reason });
		}
		if let Some(reason) = self.refused(&hash) {
			return Err(ExecutorError::InvalidCode { hash, reason });
		}
		let tick = self.clock.fetch_add(1, Ordering::Relaxed);
		let artifact = match self.compile(hash, wasm) {
			Ok(artifact) => artifact,
			Err(reason) => {
				let mut code = self.code.lock().expect("code store lock");
				let bytes = reason.len() + size_of::<H256>();
				code.refused.insert(hash, reason.clone(), bytes, MAX_REFUSED_BYTES, tick);
				return Err(ExecutorError::InvalidCode { hash, reason });
			}
		};
		// The first lane takes a copy now, which links it. Not remembered if it fails: it
		// may fail for this machine's reasons of the moment (memory, mappings).
		self.lanes[0].copy(&artifact, self.lane_share(), tick)?;
		let mut code = self.code.lock().expect("code store lock");
		// Loaded by another thread meanwhile: its artifact is the one batches look up by
		// hash, so it stays (replacing it would leave its holders' code unknown).
		if let Some(live) = code.live.get(&hash).and_then(Weak::upgrade) {
			return Ok(LoadedCode(live));
		}
		code.live.retain(|_, artifact| artifact.strong_count() > 0);
		code.live.insert(hash, Arc::downgrade(&artifact));
		let bytes = artifact.compiled.len();
		code.kept.insert(hash, artifact.clone(), bytes, self.config.max_module_cache_bytes, tick);
		Ok(LoadedCode(artifact))
	}

	/// Checks, meters and compiles `wasm`; why not otherwise (the same on every operator:
	/// the chain's rules, the rewriting and the compiler's verdict on the code).
	fn compile(&self, hash: H256, wasm: &[u8]) -> Result<Arc<Artifact>, String> {
		w3b_primitives::code::inspect_module(wasm).map_err(|e| e.to_string())?;
		let metered = meter::meter(wasm)?;
		// Compiled once: the lanes' engines share one configuration, so each can take a
		// copy of the same artifact.
		let compiled =
			self.lanes[0].engine.precompile_module(&metered.wasm).map_err(|e| e.to_string())?;
		let instantiation_fuel = metered.instantiation_fuel;
		Ok(Arc::new(Artifact { hash, compiled, instantiation_fuel }))
	}

	/// Why code `hash` failed to load, if it did lately: it is not compiled again.
	pub fn refused(&self, hash: &H256) -> Option<String> {
		self.code.lock().expect("code store lock").refused.get(hash).cloned()
	}

	/// Code `hash`, if it is loaded (held or kept); marks it used.
	pub fn loaded(&self, hash: &H256) -> Option<LoadedCode> {
		let tick = self.clock.fetch_add(1, Ordering::Relaxed);
		let mut code = self.code.lock().expect("code store lock");
		let artifact = code.live.get(hash).and_then(Weak::upgrade)?;
		if code.kept.get(hash).is_some() {
			code.kept.touch(hash, tick);
		} else {
			// Held (by a batch) but dropped from what is kept: in use, so kept again.
			let bytes = artifact.compiled.len();
			code.kept.insert(
				*hash,
				artifact.clone(),
				bytes,
				self.config.max_module_cache_bytes,
				tick,
			);
		}
		Some(LoadedCode(artifact))
	}

	/// Whether code `hash` is loaded (held or kept), without marking it used.
	pub fn is_loaded(&self, hash: &H256) -> bool {
		let code = self.code.lock().expect("code store lock");
		code.live.get(hash).is_some_and(|artifact| artifact.strong_count() > 0)
	}

	/// Bytes of compiled code kept beyond what callers hold (at most
	/// [`EngineConfig::max_module_cache_bytes`], unless one module alone is larger).
	pub fn cached_code_bytes(&self) -> usize {
		self.code.lock().expect("code store lock").kept.bytes
	}

	/// Bytes of compiled code each lane keeps copies of.
	fn lane_share(&self) -> usize {
		self.config.max_module_cache_bytes / self.lanes.len()
	}

	/// Code `hash` linked in `lane`: its copy there, or a new copy of the loaded code.
	fn linked(&self, lane: &Lane, hash: &H256, tick: u64) -> Result<Linked, ExecutorError> {
		if let Some(linked) = lane.modules.read().expect("module cache lock").get(hash) {
			return Ok(linked.clone());
		}
		let artifact = {
			let code = self.code.lock().expect("code store lock");
			code.live.get(hash).and_then(Weak::upgrade)
		};
		let artifact = artifact.ok_or(ExecutorError::UnknownCode(*hash))?;
		lane.copy(&artifact, self.lane_share(), tick)
	}

	/// Runs `batch` over the state `base`; SQL goes to `sql` when the project has a
	/// database. The SQL changes stay inside a savepoint the caller releases
	/// ([`SqlDb::commit_batch`]) to build on them, or undoes ([`SqlDb::rollback_batch`]);
	/// [`BatchResult::sql_statements`] replays them elsewhere ([`SqlDb::replay`]).
	pub fn run_batch(
		&self,
		batch: &BatchInput<'_>,
		base: Arc<dyn StateView>,
		sql: Option<Arc<Mutex<SqlDb>>>,
	) -> Result<BatchResult, ExecutorError> {
		let tick = self.clock.fetch_add(1, Ordering::Relaxed);
		{
			let code = self.code.lock().expect("code store lock");
			for (_, applet) in batch.applets {
				code.kept.touch(&applet.code_hash, tick);
			}
		}
		for lane in &self.lanes {
			let modules = lane.modules.read().expect("module cache lock");
			for (_, applet) in batch.applets {
				modules.touch(&applet.code_hash, tick);
			}
		}
		let taken = self.take_lane();
		let lane = taken.lane;
		// The batch holds its own links: other batches' code copied into the lane while it
		// runs cannot take them away.
		let linked: Vec<Linked> = batch
			.applets
			.iter()
			.map(|(_, applet)| self.linked(lane, &applet.code_hash, tick))
			.collect::<Result<_, _>>()?;
		let max_outputs = <MaxOutputs as sp_core::Get<u32>>::get() as usize;
		let mut events = Vec::new();
		let mut writes = Writes::new();
		let mut write_bytes = 0usize;
		let mut report_room = MAX_REPORT_BYTES_PER_BATCH;
		let mut sql_statements: Vec<Vec<u8>> = Vec::new();
		let mut sql_bytes = 0usize;
		let mut outputs: Vec<Output> = Vec::new();
		let mut sql_digest = H256::zero();
		let mut fuel_used = 0u64;
		let mut event_index = 0u32;
		for (index, message) in batch.messages.iter().enumerate() {
			let payload: Arc<[u8]> = message.payload.clone().into();
			for ((applet_id, applet), code) in batch.applets.iter().zip(&linked) {
				let Some(handler) = applet.handler_for(&message.event_type) else { continue };
				let handler = String::from_utf8_lossy(handler).into_owned();
				let fuel = batch.fuel.saturating_sub(fuel_used).min(MAX_FUEL_PER_EVENT);
				let state = HostState {
					limits: StoreLimitsBuilder::new()
						.memory_size(self.config.max_memory_bytes)
						.instances(1)
						.memories(1)
						.tables(1)
						.build(),
					memory: None,
					alloc: None,
					rid: index as i32,
					payload: payload.clone(),
					env: batch.env.clone(),
					base: base.clone(),
					batch_writes: std::mem::take(&mut writes),
					writes: Writes::new(),
					sql: sql.clone(),
					sql_digest,
					sql_statements: Vec::new(),
					sql_room: MAX_BATCH_SQL_BYTES - sql_bytes,
					logs: Vec::new(),
					logs_dropped: 0,
					report_room,
					write_room: MAX_BATCH_WRITE_BYTES - write_bytes,
					outputs: Vec::new(),
					outputs_room: max_outputs - outputs.len(),
					data: None,
					metrics: Vec::new(),
					random: host::RandomSource::new(batch.merkle_root, event_index),
					clock_ns: batch.timestamp_ms.saturating_mul(1_000_000),
				};
				event_index += 1;
				let (outcome, state, burnt) = self.run_event(lane, code, state, &handler, fuel);
				fuel_used += burnt;
				writes = state.batch_writes;
				report_room = state.report_room;
				let succeeded = outcome == Outcome::Returned(0);
				if let Some(sql) = &sql {
					let db = sql.lock().expect("SQL lock");
					if db.lost_batch() {
						// The event failed (see `host::metered_sql`); the batch's earlier
						// events' statements come back.
						db.restore_batch(&sql_statements)?;
					}
					db.end_event(succeeded)?;
				}
				let mut result = EventResult {
					message: index as u32,
					applet: *applet_id,
					handler,
					outcome,
					logs: state.logs,
					logs_dropped: state.logs_dropped,
					outputs: Vec::new(),
					writes: Vec::new(),
					data: state.data.map(|d| sp_core::bytes::to_hex(&d, false)),
					metrics: state.metrics,
					fuel: burnt,
				};
				if succeeded {
					result.writes =
						state.writes.keys().map(|k| sp_core::bytes::to_hex(k, false)).collect();
					// What the batch's writes hold: an overwrite replaces the earlier value.
					for (key, value) in state.writes {
						let key_len = key.len();
						write_bytes += key_len + value.len();
						if let Some(earlier) = writes.insert(key, value) {
							write_bytes -= key_len + earlier.len();
						}
					}
					for output in state.outputs {
						result.outputs.push(sp_core::bytes::to_hex(&output, false));
						outputs.push(Output::truncate_from(output));
					}
					sql_digest = state.sql_digest;
					sql_bytes += state.sql_statements.iter().map(Vec::len).sum::<usize>();
					sql_statements.extend(state.sql_statements);
				}
				events.push(result);
			}
		}
		let state_root = state_root(&Transition {
			previous: &batch.prev_state_root,
			merkle_root: &batch.merkle_root,
			verdicts: &batch.verdicts,
			writes: &writes,
			sql_digest: &sql_digest,
		});
		let output_root = output_root(&state_root, &outputs);
		tracing::debug!(
			target: "w3b::executor",
			project = batch.project,
			batch = batch.batch_seq,
			events = events.len(),
			fuel_used,
			?output_root,
			"batch executed"
		);
		Ok(BatchResult {
			events,
			writes,
			outputs,
			sql_statements,
			sql_digest,
			state_root,
			output_root,
			fuel_used,
		})
	}

	/// Runs one handler in a fresh instance. Returns the outcome, the state back and the
	/// fuel burnt.
	fn run_event(
		&self,
		lane: &Lane,
		linked: &Linked,
		state: HostState,
		handler: &str,
		fuel: u64,
	) -> (Outcome, HostState, u64) {
		let mut store = Store::new(&lane.engine, state);
		store.limiter(|state| &mut state.limits);
		// The instantiation is paid before it runs.
		let fuel_set = store.set_fuel(fuel.saturating_sub(linked.instantiation_fuel)).is_ok();
		store.set_epoch_deadline(
			(self.config.event_timeout.as_millis() / EPOCH.as_millis()).max(1) as u64,
		);
		let outcome = if !fuel_set || fuel == 0 {
			Outcome::Failed("out of fuel: the batch's fuel is used up".into())
		} else if fuel < linked.instantiation_fuel {
			Outcome::Failed("out of fuel".into())
		} else {
			self.call(linked, &mut store, handler)
		};
		let burnt = fuel - store.get_fuel().unwrap_or(0);
		(outcome, store.into_data(), burnt)
	}

	fn call(&self, linked: &Linked, store: &mut Store<HostState>, handler: &str) -> Outcome {
		let instance = match linked.pre.instantiate(&mut *store) {
			Ok(instance) => instance,
			Err(e) => return Outcome::Failed(format!("instantiation failed: {}", describe(e))),
		};
		let exports = &linked.exports;
		store.data_mut().memory = exports.memory(&instance, &mut *store);
		store.data_mut().alloc = exports.alloc(&instance, &mut *store);
		// WASI reactors (Rust and C applets for wasm32-wasip1) initialize their runtime here.
		if let Some(Err(e)) = exports.initialize(&instance, &mut *store) {
			return Outcome::Failed(format!("_initialize: {}", describe(e)));
		}
		let Some(func) = exports.handler(&instance, &mut *store, handler) else {
			return Outcome::Failed(format!(
				"handler `{handler}` is not an exported function (i32) -> i32"
			));
		};
		let rid = store.data().rid;
		match func.call(&mut *store, rid) {
			Ok(code) => Outcome::Returned(code),
			Err(e) => Outcome::Failed(describe(e)),
		}
	}
}

/// A short, operator-independent description of an event failure (no backtrace).
fn describe(error: wasmtime::Error) -> String {
	match error.downcast_ref::<Trap>() {
		Some(Trap::OutOfFuel) => "out of fuel".into(),
		Some(Trap::Interrupt) => WALL_CLOCK_TIMEOUT.into(),
		Some(Trap::StackOverflow) => "stack overflow".into(),
		Some(trap) => trap.to_string(),
		// Host errors (abort, proc_exit, instantiation) under wasmtime's context.
		None => error.root_cause().to_string(),
	}
}
