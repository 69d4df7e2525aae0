//! The message store: every message a device was told is stored, durably, before it is
//! acknowledged.
//!
//! The embedded backend is one append-only write-ahead log. Each record is framed as
//! `len (u32 LE) ++ crc32 (u32 LE) ++ SCALE(record)`; appends go through one writer
//! thread that writes a group of records, fsyncs once and only then answers every
//! caller in the group (group commit: many devices, one fsync). On open the log is
//! replayed into the in-memory indexes; a torn record at the tail (a crash mid-write,
//! never acknowledged) is cut off.
//!
//! Indexes: message hash -> log position; per project the messages not yet in a batch,
//! in arrival order; the batches (project, seq) -> message hashes; per device the
//! highest `seq` stored (so a replayed or old `seq` is refused atomically with the
//! append). Pruning drops sealed batches (never unsealed messages); once enough of the
//! log is dead ([`StoreOptions`]) the writer rewrites it without them
//! ([`EmbeddedStore::compact`]), keeping each device's highest `seq` in the new log so
//! that replay protection outlives the messages.

use std::{
	collections::{BTreeMap, HashMap, HashSet},
	fs::{self, File, OpenOptions},
	io::{self, BufReader, Read, Seek, Write},
	os::unix::fs::FileExt,
	path::{Path, PathBuf},
	sync::{
		mpsc::{self, Receiver, Sender},
		Arc, RwLock,
	},
	thread,
};

use codec::{Decode, Encode};
use sp_core::H256;
use w3b_primitives::{DeviceId, DeviceSignature, Message, ProjectId};

/// Most records written per fsync.
const MAX_GROUP: usize = 4096;

/// Devices per [`Record::LastSeqs`] record a compaction writes.
const LAST_SEQS_PER_RECORD: usize = 10_000;

/// How the embedded store manages its log.
#[derive(Debug, Clone)]
pub struct StoreOptions {
	/// Compact once this many bytes of the log are dead (pruned) and they are at least
	/// as many as the live ones.
	pub compact_min_dead_bytes: u64,
}

impl Default for StoreOptions {
	/// Compact past 64 MiB of dead records.
	fn default() -> Self {
		StoreOptions { compact_min_dead_bytes: 64 << 20 }
	}
}

/// A message as the node received it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StoredMessage {
	/// The message.
	pub message: Message,
	/// The device's signature over [`Message::hash`].
	pub signature: DeviceSignature,
	/// When the node received it, in milliseconds since the epoch.
	pub received_ms: u64,
}

impl StoredMessage {
	/// The message hash bound to its signature: its item in a batch's Merkle tree.
	pub fn signed_hash(&self) -> H256 {
		w3b_primitives::message::signed_message_hash(&self.message.hash(), &self.signature)
	}
}

/// A record of the log.
#[derive(Clone, Debug, Encode, Decode)]
enum Record {
	Message(StoredMessage),
	Sealed {
		project: ProjectId,
		seq: u64,
		messages: Vec<H256>,
	},
	Pruned {
		project: ProjectId,
		through_seq: u64,
	},
	/// Devices' highest `seq`s, written by a compaction (their messages may be gone).
	LastSeqs(Vec<(ProjectId, DeviceId, u64)>),
}

/// Why a message was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
	/// The same message (same hash) is already stored.
	#[error("duplicate message {0:?}")]
	Duplicate(H256),
	/// The device already stored a message with this `seq` or a higher one.
	#[error("seq {seq} is not above the device's last stored seq {last}")]
	StaleSeq {
		/// The message's seq.
		seq: u64,
		/// The highest seq stored for the device.
		last: u64,
	},
}

/// Failures of the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// The disk failed.
	#[error("message store I/O: {0}")]
	Io(#[from] io::Error),
	/// The writer thread is gone (the store is shutting down or failed before).
	#[error("message store writer stopped")]
	Stopped,
	/// A write failed and the log could not be cut back to its last good record: the
	/// store takes nothing more until the node restarts (and replays the log).
	#[error("message store failed ({0}); it takes nothing until the node restarts")]
	Failed(String),
	/// The database backend failed.
	#[error("message store database: {0}")]
	Database(String),
	/// A batch refers to a message the store does not have, or is sealed twice.
	#[error("invalid batch: {0}")]
	InvalidBatch(String),
}

/// Where acknowledged messages live until their batch is final and retention lets them
/// go. Every method that changes the store is durable when it returns.
pub trait MessageStore: Send + Sync {
	/// Stores `messages`, each unless it is a duplicate or replays its device's `seq`;
	/// answers per message, in order.
	fn append(
		&self,
		messages: Vec<StoredMessage>,
	) -> Result<Vec<Result<H256, Rejection>>, StoreError>;
	/// A stored message.
	fn get(&self, hash: &H256) -> Result<Option<StoredMessage>, StoreError>;
	/// Whether a message is stored.
	fn contains(&self, hash: &H256) -> Result<bool, StoreError>;
	/// The project's messages not yet in a batch, in arrival order.
	fn pending(&self, project: ProjectId) -> Result<Vec<H256>, StoreError>;
	/// The highest `seq` stored for a device.
	fn last_seq(&self, project: ProjectId, device: DeviceId) -> Result<Option<u64>, StoreError>;
	/// Records that batch `seq` of `project` holds `messages` (pending messages of the
	/// project), taking them out of the pending list.
	fn seal(&self, project: ProjectId, seq: u64, messages: Vec<H256>) -> Result<(), StoreError>;
	/// The messages of a sealed batch, unless pruned.
	fn batch(&self, project: ProjectId, seq: u64) -> Result<Option<Vec<H256>>, StoreError>;
	/// The highest batch number of `project` ever sealed, pruned or not.
	fn last_sealed(&self, project: ProjectId) -> Result<Option<u64>, StoreError>;
	/// Drops the sealed batches of `project` up to `through_seq`; never pending messages.
	/// Returns how many messages were dropped.
	fn prune(&self, project: ProjectId, through_seq: u64) -> Result<usize, StoreError>;
}

#[derive(Default)]
struct Index {
	/// Position and size of each message's record payload.
	by_hash: HashMap<H256, (u64, u32)>,
	pending: BTreeMap<ProjectId, Vec<H256>>,
	batches: HashMap<(ProjectId, u64), Vec<H256>>,
	last_seq: HashMap<(ProjectId, DeviceId), u64>,
	pruned_through: HashMap<ProjectId, u64>,
	/// Size of each batch's `Sealed` record, framed.
	sealed_bytes: HashMap<(ProjectId, u64), u64>,
	/// Bytes of the log a compaction would keep (about: one `Pruned` per project).
	live: u64,
	/// End of the log.
	len: u64,
}

impl Index {
	fn apply(&mut self, record: &Record, at: u64, size: u32) {
		let framed = u64::from(size) + 8;
		self.live += framed;
		match record {
			Record::Message(stored) => {
				let m = &stored.message;
				let hash = m.hash();
				self.by_hash.insert(hash, (at, size));
				self.pending.entry(m.project).or_default().push(hash);
				let last = self.last_seq.entry((m.project, m.device)).or_insert(m.seq);
				*last = (*last).max(m.seq);
			}
			Record::Sealed { project, seq, messages } => {
				let sealed: HashSet<&H256> = messages.iter().collect();
				if let Some(pending) = self.pending.get_mut(project) {
					pending.retain(|h| !sealed.contains(h));
				}
				self.batches.insert((*project, *seq), messages.clone());
				self.sealed_bytes.insert((*project, *seq), framed);
			}
			Record::LastSeqs(devices) => {
				for (project, device, seq) in devices {
					let last = self.last_seq.entry((*project, *device)).or_insert(*seq);
					*last = (*last).max(*seq);
				}
			}
			Record::Pruned { project, through_seq } => {
				let seqs: Vec<u64> = self
					.batches
					.keys()
					.filter(|(p, s)| p == project && s <= through_seq)
					.map(|(_, s)| *s)
					.collect();
				for seq in seqs {
					self.live -= self.sealed_bytes.remove(&(*project, seq)).unwrap_or(0);
					for hash in self.batches.remove(&(*project, seq)).unwrap_or_default() {
						if let Some((_, size)) = self.by_hash.remove(&hash) {
							self.live -= u64::from(size) + 8;
						}
					}
				}
				let through = self.pruned_through.entry(*project).or_insert(*through_seq);
				*through = (*through).max(*through_seq);
			}
		}
	}

	/// Whether `record` may be appended now; messages are checked for duplicates and
	/// replayed seqs.
	fn check(&self, record: &Record) -> Result<(), Rejection> {
		if let Record::Message(stored) = record {
			let m = &stored.message;
			let hash = m.hash();
			if self.by_hash.contains_key(&hash) {
				return Err(Rejection::Duplicate(hash));
			}
			if let Some(last) = self.last_seq.get(&(m.project, m.device)) {
				if m.seq <= *last {
					return Err(Rejection::StaleSeq { seq: m.seq, last: *last });
				}
			}
		}
		Ok(())
	}

	/// Whether enough of the log is dead to rewrite it.
	fn wants_compaction(&self, options: &StoreOptions) -> bool {
		let dead = self.len.saturating_sub(self.live);
		dead >= options.compact_min_dead_bytes && dead >= self.live
	}
}

fn frame(record: &Record) -> Vec<u8> {
	let payload = record.encode();
	let mut framed = Vec::with_capacity(payload.len() + 8);
	framed.extend_from_slice(&(payload.len() as u32).to_le_bytes());
	framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
	framed.extend_from_slice(&payload);
	framed
}

/// How far past a record that does not read back the log is searched for good ones: more
/// than the largest record (a sealed batch of 20,000 hashes is about 640 KB).
const DAMAGE_WINDOW: u64 = 8 << 20;

/// The record framed at the start of `bytes`, and its length, if one is (length, CRC and
/// encoding all good).
fn framed_record(bytes: &[u8]) -> Option<(Record, u32)> {
	let header: &[u8; 8] = bytes.get(..8)?.try_into().ok()?;
	let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
	let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
	let payload = bytes.get(8..8 + len as usize)?;
	if crc32fast::hash(payload) != crc {
		return None;
	}
	Record::decode(&mut &payload[..]).ok().map(|record| (record, len))
}

/// Replays the log at `path` into an index; cuts a torn tail. Returns the index.
///
/// Only the end of the log can be torn (a crash during the last write): a record that
/// does not read back with good records after it is damage, not a tear, and cutting
/// there would drop acknowledged messages. Then nothing is cut and the store does not
/// open (`InvalidData`, naming the offset).
fn replay(path: &Path) -> io::Result<Index> {
	let mut index = Index::default();
	let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
	let total = file.metadata()?.len();
	let mut reader = BufReader::new(&file);
	let mut at = 0u64;
	let mut header = [0u8; 8];
	while at + 8 <= total {
		reader.read_exact(&mut header)?;
		let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
		let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
		if at + 8 + u64::from(len) > total {
			break;
		}
		let mut payload = vec![0u8; len as usize];
		reader.read_exact(&mut payload)?;
		if crc32fast::hash(&payload) != crc {
			break;
		}
		let Ok(record) = Record::decode(&mut &payload[..]) else { break };
		index.apply(&record, at + 8, len);
		at += 8 + u64::from(len);
	}
	if at < total {
		// A record that reads back after the bad one, followed by another or by the end
		// of the log, shows the log goes on; looked for within a window larger than any
		// record.
		let mut rest = Vec::new();
		let mut file_at = &file;
		file_at.seek(io::SeekFrom::Start(at))?;
		file_at.take(DAMAGE_WINDOW).read_to_end(&mut rest)?;
		let whole = at + rest.len() as u64 == total;
		let goes_on = |i: usize| match framed_record(&rest[i..]) {
			Some((_, len)) => {
				let end = i + 8 + len as usize;
				(end == rest.len() && whole) || framed_record(&rest[end..]).is_some()
			}
			None => false,
		};
		if let Some(next) = (1..rest.len()).find(|&i| goes_on(i)) {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!(
					"{}: the record at offset {at} is damaged and good records follow (the \
					 next at offset {}): not cut, to lose no acknowledged message; restore \
					 the file or move it aside",
					path.display(),
					at + next as u64
				),
			));
		}
		tracing::warn!(target: "w3b::storage", path = %path.display(), kept = at, cut = total - at, "cutting a torn record off the message log");
		file.set_len(at)?;
		file.sync_all()?;
	}
	index.len = at;
	Ok(index)
}

/// A request to the writer thread.
enum Request {
	Append(Vec<Record>, Sender<Result<Vec<Result<(), Rejection>>, StoreError>>),
	Compact(Sender<Result<u64, StoreError>>),
}

/// The embedded message store.
pub struct EmbeddedStore {
	index: Arc<RwLock<Index>>,
	/// Read at the offsets of `index`: swapped with it (under its write lock) when the
	/// log is compacted, and read under its read lock.
	reader: Arc<RwLock<File>>,
	requests: Option<Sender<Request>>,
	writer: Option<thread::JoinHandle<()>>,
}

impl EmbeddedStore {
	/// Opens (creating it if needed) the store in `dir`, replaying its log, with the
	/// default [`StoreOptions`].
	pub fn open(dir: &Path) -> Result<Self, StoreError> {
		Self::open_with(dir, StoreOptions::default())
	}

	/// Opens (creating it if needed) the store in `dir`, replaying its log.
	pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
		fs::create_dir_all(dir)?;
		let path = dir.join("messages.log");
		// A compaction a crash interrupted: the log it was replacing is whole.
		let _ = fs::remove_file(path.with_extension("compact"));
		let index = Arc::new(RwLock::new(replay(&path)?));
		let file = OpenOptions::new().append(true).open(&path)?;
		let reader = Arc::new(RwLock::new(File::open(&path)?));
		let (requests, receiver) = mpsc::channel();
		let writer = {
			let log = Log { path: path.clone(), index: index.clone(), reader: reader.clone() };
			thread::Builder::new()
				.name("w3b-store-writer".into())
				.spawn(move || write_loop(log, file, receiver, options))?
		};
		Ok(EmbeddedStore { reader, index, requests: Some(requests), writer: Some(writer) })
	}

	fn request<T>(&self, make: impl FnOnce(Sender<T>) -> Request) -> Result<T, StoreError> {
		let (reply, answer) = mpsc::channel();
		self.requests
			.as_ref()
			.ok_or(StoreError::Stopped)?
			.send(make(reply))
			.map_err(|_| StoreError::Stopped)?;
		answer.recv().map_err(|_| StoreError::Stopped)
	}

	/// Rewrites the log with only what is still indexed; returns its new size in bytes.
	/// The writer does this by itself once enough is pruned ([`StoreOptions`]).
	pub fn compact(&self) -> Result<u64, StoreError> {
		self.request(Request::Compact)?
	}

	/// Size of the log in bytes.
	pub fn log_size(&self) -> u64 {
		self.index.read().expect("index lock").len
	}
}

impl MessageStore for EmbeddedStore {
	/// Stores `messages` durably (on disk and fsynced when this returns), each unless it
	/// is a duplicate or replays its device's `seq`. Answers per message, in order.
	fn append(
		&self,
		messages: Vec<StoredMessage>,
	) -> Result<Vec<Result<H256, Rejection>>, StoreError> {
		let hashes: Vec<H256> = messages.iter().map(|m| m.message.hash()).collect();
		let records = messages.into_iter().map(Record::Message).collect();
		let results = self.request(|reply| Request::Append(records, reply))??;
		Ok(results.into_iter().zip(hashes).map(|(r, h)| r.map(|()| h)).collect())
	}

	/// A stored message.
	fn get(&self, hash: &H256) -> Result<Option<StoredMessage>, StoreError> {
		let index = self.index.read().expect("index lock");
		let Some((at, len)) = index.by_hash.get(hash).copied() else { return Ok(None) };
		let mut payload = vec![0u8; len as usize];
		self.reader.read().expect("reader lock").read_exact_at(&mut payload, at)?;
		drop(index);
		match Record::decode(&mut &payload[..]) {
			Ok(Record::Message(stored)) => Ok(Some(stored)),
			_ => Err(io::Error::new(io::ErrorKind::InvalidData, "message record expected").into()),
		}
	}

	/// Whether a message is stored.
	fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
		Ok(self.index.read().expect("index lock").by_hash.contains_key(hash))
	}

	/// The project's messages not yet in a batch, in arrival order.
	fn pending(&self, project: ProjectId) -> Result<Vec<H256>, StoreError> {
		Ok(self
			.index
			.read()
			.expect("index lock")
			.pending
			.get(&project)
			.cloned()
			.unwrap_or_default())
	}

	/// The highest `seq` stored for a device.
	fn last_seq(&self, project: ProjectId, device: DeviceId) -> Result<Option<u64>, StoreError> {
		Ok(self.index.read().expect("index lock").last_seq.get(&(project, device)).copied())
	}

	/// Records durably that batch `seq` of `project` holds `messages` (stored, pending
	/// messages of the project), taking them out of the pending list.
	fn seal(&self, project: ProjectId, seq: u64, messages: Vec<H256>) -> Result<(), StoreError> {
		{
			let index = self.index.read().expect("index lock");
			if index.batches.contains_key(&(project, seq)) {
				return Err(StoreError::InvalidBatch(format!(
					"batch {seq} of {project} is sealed"
				)));
			}
			let pending: HashSet<&H256> =
				index.pending.get(&project).into_iter().flatten().collect();
			if let Some(missing) = messages.iter().find(|h| !pending.contains(h)) {
				return Err(StoreError::InvalidBatch(format!(
					"{missing:?} is not pending in {project}"
				)));
			}
		}
		let results = self.request(|reply| {
			Request::Append(vec![Record::Sealed { project, seq, messages }], reply)
		})??;
		debug_assert!(results.iter().all(Result::is_ok));
		Ok(())
	}

	/// The messages of a sealed batch, unless pruned.
	fn batch(&self, project: ProjectId, seq: u64) -> Result<Option<Vec<H256>>, StoreError> {
		Ok(self.index.read().expect("index lock").batches.get(&(project, seq)).cloned())
	}

	fn last_sealed(&self, project: ProjectId) -> Result<Option<u64>, StoreError> {
		let index = self.index.read().expect("index lock");
		let live = index.batches.keys().filter(|(p, _)| *p == project).map(|(_, s)| *s).max();
		Ok(live.max(index.pruned_through.get(&project).copied()))
	}

	/// Drops the batches of `project` up to `through_seq` (the caller passes batches whose
	/// proofs are settled and which retention lets go). Unsealed messages are never
	/// touched. Returns how many messages were dropped; [`EmbeddedStore::compact`] gives
	/// the space back.
	fn prune(&self, project: ProjectId, through_seq: u64) -> Result<usize, StoreError> {
		let before = self.index.read().expect("index lock").by_hash.len();
		self.request(|reply| {
			Request::Append(vec![Record::Pruned { project, through_seq }], reply)
		})??;
		Ok(before - self.index.read().expect("index lock").by_hash.len())
	}
}

impl Drop for EmbeddedStore {
	fn drop(&mut self) {
		self.requests.take();
		if let Some(writer) = self.writer.take() {
			let _ = writer.join();
		}
	}
}

/// What the writer thread shares with the store.
struct Log {
	path: PathBuf,
	index: Arc<RwLock<Index>>,
	reader: Arc<RwLock<File>>,
}

fn write_loop(log: Log, mut file: File, requests: Receiver<Request>, options: StoreOptions) {
	let index = &log.index;
	// Set when a failed write could not be undone: the log's end is then unknown, and
	// nothing may be acknowledged past it.
	let mut failed: Option<String> = None;
	// The log's length when compacting it last failed.
	let mut compaction_failed_at: Option<u64> = None;
	while let Ok(first) = requests.recv() {
		let mut group = vec![first];
		while group.len() < MAX_GROUP {
			match requests.try_recv() {
				Ok(next) => group.push(next),
				Err(_) => break,
			}
		}
		if let Some(reason) = &failed {
			for request in group {
				let error = || StoreError::Failed(reason.clone());
				match request {
					Request::Append(_, reply) => drop(reply.send(Err(error()))),
					Request::Compact(reply) => drop(reply.send(Err(error()))),
				}
			}
			continue;
		}
		let mut appends = Vec::new();
		for request in group {
			match request {
				Request::Append(records, reply) => appends.push((records, reply)),
				Request::Compact(reply) => {
					// Appends queued before the compaction go first.
					failed = failed.or(write_group(&mut file, index, std::mem::take(&mut appends)));
					let result = match &failed {
						Some(reason) => Err(StoreError::Failed(reason.clone())),
						None => compact(&log).map(|new| {
							file = new.file;
							if !new.directory_synced {
								failed = Some(UNSYNCED_COMPACTION.into());
							}
							index.read().expect("index lock").len
						}),
					};
					let _ = reply.send(result);
				}
			}
		}
		failed = failed.or(write_group(&mut file, index, appends));
		let len = index.read().expect("index lock").len;
		let retry_due = compaction_failed_at
			.is_none_or(|at| len >= at.saturating_add(options.compact_min_dead_bytes));
		if failed.is_none()
			&& retry_due
			&& index.read().expect("index lock").wants_compaction(&options)
		{
			match compact(&log) {
				Ok(new) => {
					file = new.file;
					if !new.directory_synced {
						failed = Some(UNSYNCED_COMPACTION.into());
					}
					compaction_failed_at = None;
					let size = index.read().expect("index lock").len;
					tracing::info!(target: "w3b::storage", bytes = size, "message log compacted");
				}
				// The old log is still whole and in use: try again once it grew by as much
				// as a compaction needs to be worth it (a full disk is not rewritten
				// after every group).
				Err(e) => {
					compaction_failed_at = Some(len);
					tracing::warn!(target: "w3b::storage", error = %e, "compacting the message log failed")
				}
			}
		}
	}
}

type Reply = Sender<Result<Vec<Result<(), Rejection>>, StoreError>>;

/// Writes a group of appends with one fsync, then updates the index and answers. A
/// failed write or fsync is answered with the error (nothing of the group is
/// acknowledged) and cut off the log, so that later records go where the index says and
/// a replay finds no torn record before acknowledged ones. Returns why the store can
/// take nothing more, when even cutting failed.
fn write_group(
	file: &mut File,
	index: &RwLock<Index>,
	appends: Vec<(Vec<Record>, Reply)>,
) -> Option<String> {
	if appends.is_empty() {
		return None;
	}
	let mut buffer = Vec::new();
	let mut accepted: Vec<(Record, u64, u32)> = Vec::new();
	let mut answers = Vec::with_capacity(appends.len());
	{
		let index = index.read().expect("index lock");
		let mut in_group: HashSet<H256> = HashSet::new();
		let mut group_seq: HashMap<(ProjectId, DeviceId), u64> = HashMap::new();
		let mut at = index.len;
		for (records, reply) in appends {
			let mut results = Vec::with_capacity(records.len());
			for record in records {
				let mut verdict = index.check(&record);
				if let (Ok(()), Record::Message(stored)) = (&verdict, &record) {
					let m = &stored.message;
					let hash = m.hash();
					if in_group.contains(&hash) {
						verdict = Err(Rejection::Duplicate(hash));
					} else if let Some(last) = group_seq.get(&(m.project, m.device)) {
						if m.seq <= *last {
							verdict = Err(Rejection::StaleSeq { seq: m.seq, last: *last });
						}
					}
					if verdict.is_ok() {
						in_group.insert(hash);
						group_seq.insert((m.project, m.device), m.seq);
					}
				}
				if verdict.is_ok() {
					let framed = frame(&record);
					let len = (framed.len() - 8) as u32;
					accepted.push((record, at + 8, len));
					at += framed.len() as u64;
					buffer.extend_from_slice(&framed);
				}
				results.push(verdict);
			}
			answers.push((results, reply));
		}
	}
	let written = file.write_all(&buffer).and_then(|()| file.sync_data());
	match written {
		Ok(()) => {
			let mut index = index.write().expect("index lock");
			for (record, at, len) in &accepted {
				index.apply(record, *at, *len);
				index.len = at + u64::from(*len);
			}
			drop(index);
			for (results, reply) in answers {
				let _ = reply.send(Ok(results));
			}
			None
		}
		Err(e) => {
			tracing::error!(target: "w3b::storage", error = %e, "writing the message log failed");
			// Whatever part of the group reached the file (or the page cache, after a
			// failed fsync) goes, before anyone hears of the failure: the good end is
			// where the index stops.
			let good = index.read().expect("index lock").len;
			let cut = file.set_len(good).and_then(|()| file.sync_all());
			for (_, reply) in answers {
				let _ = reply.send(Err(StoreError::Io(io::Error::new(e.kind(), e.to_string()))));
			}
			match cut {
				Ok(()) => None,
				Err(cut) => {
					tracing::error!(target: "w3b::storage", error = %cut, "cutting the failed write off the message log failed: the store stops taking messages");
					Some(format!("{e}; then cutting it off failed: {cut}"))
				}
			}
		}
	}
}

/// Rewrites the log from the index into a new file, swaps it in (with the reader) and
/// returns it (opened for appending).
/// A compacted log in the old one's place.
struct Compacted {
	/// The new log, opened for appends.
	file: File,
	/// Whether the rename is durable: if not, a crash could bring back the old log without
	/// what is appended to the new one, so the store must take nothing more.
	directory_synced: bool,
}

/// Rewrites the log with only what the index still needs; on failure the old log stays
/// whole and in use and the partial new one is removed (it would hold disk space a full
/// disk needs).
fn compact(log: &Log) -> Result<Compacted, StoreError> {
	let tmp = log.path.with_extension("compact");
	let compacted = compact_into(log, &tmp);
	if compacted.is_err() {
		let _ = fs::remove_file(&tmp);
	}
	compacted
}

fn compact_into(log: &Log, tmp: &Path) -> Result<Compacted, StoreError> {
	let path = log.path.as_path();
	let mut index = log.index.write().expect("index lock");
	let old = File::open(path)?;
	let mut out = io::BufWriter::new(File::create(tmp)?);
	let mut fresh = Index::default();
	let mut at = 0u64;
	let mut keep =
		|record: Record, fresh: &mut Index, out: &mut io::BufWriter<File>| -> io::Result<()> {
			let framed = frame(&record);
			out.write_all(&framed)?;
			fresh.apply(&record, at + 8, (framed.len() - 8) as u32);
			at += framed.len() as u64;
			Ok(())
		};
	// Messages in log order (older first), then the surviving batches and prune marks.
	let mut messages: Vec<(u64, u32)> = index.by_hash.values().copied().collect();
	messages.sort_unstable();
	for (offset, len) in messages {
		let mut payload = vec![0u8; len as usize];
		old.read_exact_at(&mut payload, offset)?;
		let record = Record::decode(&mut &payload[..])
			.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
		keep(record, &mut fresh, &mut out)?;
	}
	let mut batches: Vec<_> = index.batches.iter().collect();
	batches.sort_unstable_by_key(|(k, _)| **k);
	for ((project, seq), messages) in batches {
		keep(
			Record::Sealed { project: *project, seq: *seq, messages: messages.clone() },
			&mut fresh,
			&mut out,
		)?;
	}
	for (project, through_seq) in &index.pruned_through {
		keep(
			Record::Pruned { project: *project, through_seq: *through_seq },
			&mut fresh,
			&mut out,
		)?;
	}
	// Replayed seqs must stay refused after their messages are gone.
	let mut last_seqs: Vec<_> = index.last_seq.iter().map(|((p, d), s)| (*p, *d, *s)).collect();
	last_seqs.sort_unstable();
	for chunk in last_seqs.chunks(LAST_SEQS_PER_RECORD) {
		keep(Record::LastSeqs(chunk.to_vec()), &mut fresh, &mut out)?;
	}
	let file = out.into_inner().map_err(|e| e.into_error())?;
	file.sync_all()?;
	// Everything that can fail before the new log takes the old one's name: after the
	// rename the store must use the new file (appends to the old one would be lost).
	let appender = OpenOptions::new().append(true).open(tmp)?;
	let reader = File::open(tmp)?;
	fs::rename(tmp, path)?;
	let directory_synced = match path.parent().map(|dir| File::open(dir).and_then(|d| d.sync_all()))
	{
		Some(Err(e)) => {
			tracing::error!(target: "w3b::storage", error = %e, "syncing the directory after compaction failed");
			false
		}
		_ => true,
	};
	fresh.len = at;
	*log.reader.write().expect("reader lock") = reader;
	*index = fresh;
	Ok(Compacted { file: appender, directory_synced })
}

/// Why the store takes nothing more after a compaction whose rename may not survive a
/// crash.
const UNSYNCED_COMPACTION: &str =
	"the directory could not be synced after the log was compacted: a crash could bring back the old log without later messages";
