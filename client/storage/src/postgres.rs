//! The PostgreSQL backend of the message store, for operators who want a relational
//! database they already run and back up. Each append is one transaction (durable when
//! PostgreSQL commits with its default `synchronous_commit`). The connection lives on a
//! thread of its own: the `postgres` client runs its own async runtime, which may not be
//! entered from a thread already running one (the node's), so callers anywhere hand it
//! their work and wait.

use std::{
	sync::mpsc::{self, Sender},
	thread,
};

use codec::{Decode, Encode};
use postgres::{Client, NoTls};
use sp_core::H256;
use w3b_primitives::{DeviceId, ProjectId};

use crate::store::{MessageStore, Rejection, StoreError, StoredMessage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS w3b_messages (
	hash BYTEA PRIMARY KEY,
	project BIGINT NOT NULL,
	device BYTEA NOT NULL,
	seq BIGINT NOT NULL,
	arrival BIGSERIAL,
	batch_seq BIGINT,
	batch_index BIGINT,
	record BYTEA NOT NULL,
	UNIQUE (project, device, seq)
);
CREATE INDEX IF NOT EXISTS w3b_messages_pending ON w3b_messages (project, arrival) WHERE batch_seq IS NULL;
CREATE INDEX IF NOT EXISTS w3b_messages_batch ON w3b_messages (project, batch_seq);
CREATE TABLE IF NOT EXISTS w3b_device_seq (
	project BIGINT NOT NULL,
	device BYTEA NOT NULL,
	last_seq BIGINT NOT NULL,
	PRIMARY KEY (project, device)
);
CREATE TABLE IF NOT EXISTS w3b_batches (
	project BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	pruned BOOLEAN NOT NULL DEFAULT false,
	PRIMARY KEY (project, seq)
);
";

fn db(error: postgres::Error) -> StoreError {
	StoreError::Database(error.to_string())
}

/// The message store in a PostgreSQL database.
pub struct PgStore {
	jobs: Sender<Job>,
}

/// Work for the connection's thread.
type Job = Box<dyn FnOnce(&mut Client) + Send>;

impl PgStore {
	/// Connects with `params` (`host=127.0.0.1 port=5432 user=w3b dbname=w3b`, or a
	/// `postgres://` URL) and creates the tables if needed.
	pub fn connect(params: &str) -> Result<Self, StoreError> {
		let params = params.to_string();
		let (ready, connected) = mpsc::channel();
		let (jobs, received) = mpsc::channel::<Job>();
		thread::Builder::new().name("w3b-postgres".into()).spawn(move || {
			let opened = Client::connect(&params, NoTls)
				.and_then(|mut client| client.batch_execute(SCHEMA).map(|()| client));
			let mut client = match opened {
				Ok(client) => client,
				Err(e) => {
					let _ = ready.send(Err(db(e)));
					return;
				}
			};
			let _ = ready.send(Ok(()));
			while let Ok(job) = received.recv() {
				job(&mut client);
			}
		})?;
		connected.recv().map_err(|_| StoreError::Stopped)??;
		Ok(PgStore { jobs })
	}

	/// Runs `work` on the connection and waits for its answer.
	fn run<T: Send + 'static>(
		&self,
		work: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
	) -> Result<T, StoreError> {
		let (reply, answer) = mpsc::channel();
		let job: Job = Box::new(move |client| {
			let _ = reply.send(work(client));
		});
		self.jobs.send(job).map_err(|_| StoreError::Stopped)?;
		answer.recv().map_err(|_| StoreError::Stopped)?
	}
}

impl MessageStore for PgStore {
	fn append(
		&self,
		messages: Vec<StoredMessage>,
	) -> Result<Vec<Result<H256, Rejection>>, StoreError> {
		self.run(move |client| {
			let mut tx = client.transaction().map_err(db)?;
			let mut results = Vec::with_capacity(messages.len());
			for stored in messages {
				let m = &stored.message;
				let hash = m.hash();
				let exists = tx
					.query_opt("SELECT 1 FROM w3b_messages WHERE hash = $1", &[&hash.as_bytes()])
					.map_err(db)?
					.is_some();
				if exists {
					results.push(Err(Rejection::Duplicate(hash)));
					continue;
				}
				let last: Option<i64> = tx
					.query_opt(
						"SELECT last_seq FROM w3b_device_seq WHERE project = $1 AND device = $2 FOR UPDATE",
						&[&(m.project as i64), &m.device.as_bytes()],
					)
					.map_err(db)?
					.map(|row| row.get(0));
				if let Some(last) = last.map(|l| l as u64).filter(|last| m.seq <= *last) {
					results.push(Err(Rejection::StaleSeq { seq: m.seq, last }));
					continue;
				}
				tx.execute(
					"INSERT INTO w3b_messages (hash, project, device, seq, record) VALUES ($1, $2, $3, $4, $5)",
					&[&hash.as_bytes(), &(m.project as i64), &m.device.as_bytes(), &(m.seq as i64), &stored.encode()],
				)
				.map_err(db)?;
				tx.execute(
					"INSERT INTO w3b_device_seq (project, device, last_seq) VALUES ($1, $2, $3)
					 ON CONFLICT (project, device) DO UPDATE SET last_seq = GREATEST(w3b_device_seq.last_seq, EXCLUDED.last_seq)",
					&[&(m.project as i64), &m.device.as_bytes(), &(m.seq as i64)],
				)
				.map_err(db)?;
				results.push(Ok(hash));
			}
			tx.commit().map_err(db)?;
			Ok(results)
		})
	}

	fn get(&self, hash: &H256) -> Result<Option<StoredMessage>, StoreError> {
		let hash = *hash;
		self.run(move |client| {
			let row = client
				.query_opt("SELECT record FROM w3b_messages WHERE hash = $1", &[&hash.as_bytes()])
				.map_err(db)?;
			row.map(|row| {
				let bytes: Vec<u8> = row.get(0);
				StoredMessage::decode(&mut &bytes[..])
					.map_err(|e| StoreError::Database(e.to_string()))
			})
			.transpose()
		})
	}

	fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
		let hash = *hash;
		self.run(move |client| {
			Ok(client
				.query_opt("SELECT 1 FROM w3b_messages WHERE hash = $1", &[&hash.as_bytes()])
				.map_err(db)?
				.is_some())
		})
	}

	fn pending(&self, project: ProjectId) -> Result<Vec<H256>, StoreError> {
		self.run(move |client| {
			let rows = client
				.query(
					"SELECT hash FROM w3b_messages WHERE project = $1 AND batch_seq IS NULL ORDER BY arrival",
					&[&(project as i64)],
				)
				.map_err(db)?;
			Ok(rows.iter().map(|row| H256::from_slice(row.get::<_, &[u8]>(0))).collect())
		})
	}

	fn last_seq(&self, project: ProjectId, device: DeviceId) -> Result<Option<u64>, StoreError> {
		self.run(move |client| {
			Ok(client
				.query_opt(
					"SELECT last_seq FROM w3b_device_seq WHERE project = $1 AND device = $2",
					&[&(project as i64), &device.as_bytes()],
				)
				.map_err(db)?
				.map(|row| row.get::<_, i64>(0) as u64))
		})
	}

	fn seal(&self, project: ProjectId, seq: u64, messages: Vec<H256>) -> Result<(), StoreError> {
		self.run(move |client| {
			let mut tx = client.transaction().map_err(db)?;
			let inserted = tx
				.execute(
					"INSERT INTO w3b_batches (project, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
					&[&(project as i64), &(seq as i64)],
				)
				.map_err(db)?;
			if inserted == 0 {
				return Err(StoreError::InvalidBatch(format!(
					"batch {seq} of {project} is sealed"
				)));
			}
			let hashes: Vec<&[u8]> = messages.iter().map(|h| h.as_bytes()).collect();
			let updated = tx
				.execute(
					"UPDATE w3b_messages m SET batch_seq = $1, batch_index = t.i
					 FROM unnest($2::bytea[]) WITH ORDINALITY AS t(h, i)
					 WHERE m.hash = t.h AND m.project = $3 AND m.batch_seq IS NULL",
					&[&(seq as i64), &hashes, &(project as i64)],
				)
				.map_err(db)?;
			if updated as usize != messages.len() {
				// Dropping the transaction rolls it back.
				return Err(StoreError::InvalidBatch(format!(
					"{} of the {} messages are not pending in {project}",
					messages.len() - updated as usize,
					messages.len()
				)));
			}
			tx.commit().map_err(db)
		})
	}

	fn batch(&self, project: ProjectId, seq: u64) -> Result<Option<Vec<H256>>, StoreError> {
		self.run(move |client| {
			let live = client
				.query_opt(
					"SELECT 1 FROM w3b_batches WHERE project = $1 AND seq = $2 AND NOT pruned",
					&[&(project as i64), &(seq as i64)],
				)
				.map_err(db)?
				.is_some();
			if !live {
				return Ok(None);
			}
			let rows = client
				.query(
					"SELECT hash FROM w3b_messages WHERE project = $1 AND batch_seq = $2 ORDER BY batch_index",
					&[&(project as i64), &(seq as i64)],
				)
				.map_err(db)?;
			Ok(Some(rows.iter().map(|row| H256::from_slice(row.get::<_, &[u8]>(0))).collect()))
		})
	}

	fn last_sealed(&self, project: ProjectId) -> Result<Option<u64>, StoreError> {
		self.run(move |client| {
			let row = client
				.query_one(
					"SELECT max(seq) FROM w3b_batches WHERE project = $1",
					&[&(project as i64)],
				)
				.map_err(db)?;
			Ok(row.get::<_, Option<i64>>(0).map(|seq| seq as u64))
		})
	}

	fn prune(&self, project: ProjectId, through_seq: u64) -> Result<usize, StoreError> {
		self.run(move |client| {
			let mut tx = client.transaction().map_err(db)?;
			let dropped = tx
				.execute(
					"DELETE FROM w3b_messages WHERE project = $1 AND batch_seq IS NOT NULL AND batch_seq <= $2",
					&[&(project as i64), &(through_seq as i64)],
				)
				.map_err(db)?;
			tx.execute(
				"UPDATE w3b_batches SET pruned = true WHERE project = $1 AND seq <= $2",
				&[&(project as i64), &(through_seq as i64)],
			)
			.map_err(db)?;
			tx.commit().map_err(db)?;
			Ok(dropped as usize)
		})
	}
}
