//! A project's SQL database (SQLite), reached by applets through `ws_set_sql_db` and
//! `ws_get_sql_db`.
//!
//! Requests are W3bstream's JSON form, `{"statement": "...", "params": [{"int32": 1},
//! {"string": "a"}, ...]}` (param types `int32`, `int64`, `float32`, `float64`,
//! `string`, `time`, `bool`, `bytes` as base64), or a bare SQL string. Queries answer a
//! JSON array of rows, each an object from column name to value (blobs as `0x` hex).
//!
//! Everything an operator could answer differently is refused by an authorizer:
//! `random()`, `randomblob()`, the date and time functions (`'now'`,
//! `CURRENT_TIMESTAMP`), what depends on the connection's history (`changes()`,
//! `last_insert_rowid()`, `total_changes()`), `ATTACH` (files) and `PRAGMA`; so are
//! transaction statements (`BEGIN`, `COMMIT`, `SAVEPOINT`...), which belong to the host.
//! The functions among them are also shadowed by ones that fail, because SQLite runs a
//! schema's expressions (`DEFAULT`, `CHECK`) without asking the authorizer.
//! A query (`ws_get_sql_db`) must be read-only: only `ws_set_sql_db` statements change
//! the database, so that replaying them ([`SqlDb::replay`]) rebuilds it exactly. A batch
//! runs inside a savepoint that the caller releases when its proof is finalized or rolls
//! back when it expires; each event runs in a nested savepoint undone if the event fails.
//!
//! What a request may cost is bounded the same way on every operator: SQLite's virtual
//! machine is metered in steps of [`SQL_STEP_OPS`] instructions ([`SqlDb::metered`]),
//! strings and blobs are at most [`MAX_SQL_VALUE_LEN`], a query's answer at most
//! [`MAX_SQL_RESULT_LEN`] and the database at most [`MAX_SQL_DB_BYTES`].

use std::{
	path::Path,
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc,
	},
};

use rusqlite::{
	functions::FunctionFlags,
	hooks::{AuthAction, AuthContext, Authorization},
	limits::Limit,
	types::{Value as SqlValue, ValueRef},
	Connection,
};
use serde_json::{Map, Value};

/// Why a SQL request failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
	/// The request is not valid JSON of the expected shape, or not UTF-8.
	#[error("malformed SQL request: {0}")]
	Malformed(String),
	/// SQLite refused or failed the statement.
	#[error("SQL error: {0}")]
	Sqlite(#[from] rusqlite::Error),
	/// A query's answer is larger than [`MAX_SQL_RESULT_LEN`].
	#[error("SQL result over {} bytes", MAX_SQL_RESULT_LEN)]
	ResultTooLarge,
	/// A query (`ws_get_sql_db`) would change the database.
	#[error("a query must not change the database; use ws_set_sql_db")]
	NotReadOnly,
}

/// SQLite virtual-machine instructions in one metering step.
pub const SQL_STEP_OPS: i32 = 100;
/// Longest string or blob a statement may make (`SQLITE_LIMIT_LENGTH`), a device's
/// largest payload: `zeroblob(1e9)` must not allocate a gigabyte, and what one SQLite
/// instruction does stays small.
pub const MAX_SQL_VALUE_LEN: i32 = 64 << 10;
/// Most columns of a table, index or result (`SQLITE_LIMIT_COLUMN`).
pub const MAX_SQL_COLUMNS: i32 = 64;
/// Largest answer of a query (JSON), in bytes.
pub const MAX_SQL_RESULT_LEN: usize = 4 << 20;
/// Largest database, in bytes (a statement that would grow it further fails).
pub const MAX_SQL_DB_BYTES: u64 = 256 << 20;

/// The functions applets may call: deterministic (no clock, randomness, connection
/// history or platform maths library) and at most linear in their input, so that the
/// instructions SQLite counts bound the work (`instr`, `replace`, `trim(X, Y)`, `LIKE`
/// and `GLOB` can take the product of two 64 KiB strings in one instruction).
const ALLOWED_FUNCTIONS: [&str; 49] = [
	"abs",
	"avg",
	"char",
	"coalesce",
	"concat",
	"concat_ws",
	"count",
	"format",
	"group_concat",
	"hex",
	"ifnull",
	"iif",
	"json",
	"json_array",
	"json_array_length",
	"json_extract",
	"json_group_array",
	"json_group_object",
	"json_insert",
	"json_object",
	"json_quote",
	"json_remove",
	"json_replace",
	"json_set",
	"json_type",
	"json_valid",
	"->",
	"->>",
	"length",
	"likelihood",
	"likely",
	"lower",
	"max",
	"min",
	"nullif",
	"octet_length",
	"printf",
	"quote",
	"round",
	"sign",
	"string_agg",
	"substr",
	"substring",
	"sum",
	"total",
	"typeof",
	"unhex",
	"upper",
	"zeroblob",
];

/// A project's SQL database.
pub struct SqlDb {
	conn: Connection,
	meter: Arc<Meter>,
	/// Set while the host runs its own statements (PRAGMA, transactions), which the
	/// authorizer refuses to applets.
	host: Arc<std::sync::atomic::AtomicBool>,
	/// A batch's savepoint is open (opened with its first event that uses SQL, so that a
	/// project that never does pays nothing).
	in_batch: std::sync::atomic::AtomicBool,
	/// An event's savepoint is open.
	in_event: std::sync::atomic::AtomicBool,
}

/// Counts metering steps and interrupts a statement past its limit.
struct Meter {
	limit: AtomicU64,
	taken: AtomicU64,
}

impl SqlDb {
	/// Opens (creating it if needed) the database file at `path`.
	pub fn open(path: &Path) -> Result<Self, SqlError> {
		Self::with(Connection::open(path)?)
	}

	/// A database that lives in memory only.
	pub fn in_memory() -> Result<Self, SqlError> {
		Self::with(Connection::open_in_memory()?)
	}

	fn with(conn: Connection) -> Result<Self, SqlError> {
		// The schema is read now, unmetered: read by an applet's first statement, its
		// instructions would cost that statement fuel only on a fresh connection (after a
		// restart), not on one that had read it before.
		conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
		// Before the authorizer, which refuses PRAGMA to applets.
		let page_size: u64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
		refuse_builtin_functions(&conn)?;
		conn.pragma_update(None, "max_page_count", MAX_SQL_DB_BYTES / page_size)?;
		conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_SQL_VALUE_LEN)?;
		conn.set_limit(Limit::SQLITE_LIMIT_COLUMN, MAX_SQL_COLUMNS)?;
		conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, crate::host::MAX_SQL_REQUEST_LEN as i32)?;
		let meter = Arc::new(Meter { limit: AtomicU64::new(u64::MAX), taken: AtomicU64::new(0) });
		let counter = meter.clone();
		conn.progress_handler(
			SQL_STEP_OPS,
			Some(move || {
				let taken = counter.taken.fetch_add(1, Ordering::Relaxed) + 1;
				taken > counter.limit.load(Ordering::Relaxed)
			}),
		);
		let host = Arc::new(std::sync::atomic::AtomicBool::new(false));
		let by_host = host.clone();
		conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
			_ if by_host.load(Ordering::Relaxed) => Authorization::Allow,
			AuthAction::Function { function_name }
				if !ALLOWED_FUNCTIONS.contains(&function_name.to_ascii_lowercase().as_str()) =>
			{
				Authorization::Deny
			}
			// Temporary objects live in one connection: gone after a restart or a rebuild
			// of the working copy, so another operator would not see them.
			AuthAction::CreateTempIndex { .. }
			| AuthAction::CreateTempTable { .. }
			| AuthAction::CreateTempTrigger { .. }
			| AuthAction::CreateTempView { .. } => Authorization::Deny,
			// Page layout, which differs between a database and its replay, whether read
			// as `dbstat` or through a virtual table of that module under another name
			// (no virtual table is needed by applets: none may be made).
			AuthAction::Read { table_name, .. } if table_name.eq_ignore_ascii_case("dbstat") => {
				Authorization::Deny
			}
			AuthAction::CreateVtable { .. } | AuthAction::DropVtable { .. } => Authorization::Deny,
			AuthAction::Attach { .. }
			| AuthAction::Detach { .. }
			| AuthAction::Pragma { .. }
			| AuthAction::Transaction { .. }
			| AuthAction::Savepoint { .. } => Authorization::Deny,
			_ => Authorization::Allow,
		}));
		Ok(SqlDb { conn, meter, host, in_batch: false.into(), in_event: false.into() })
	}

	/// Runs the host's own `sql` (savepoints, pragmas), which applets may not.
	fn host_batch(&self, sql: &str) -> Result<(), SqlError> {
		self.host.store(true, Ordering::Relaxed);
		let result = self.conn.execute_batch(sql);
		self.host.store(false, Ordering::Relaxed);
		Ok(result?)
	}

	/// The last batch whose statements this database holds as final
	/// ([`SqlDb::replay`]), if any.
	pub fn final_through(&self) -> Result<Option<u64>, SqlError> {
		self.host.store(true, Ordering::Relaxed);
		let version = self.conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0));
		self.host.store(false, Ordering::Relaxed);
		// `user_version` holds the batch plus one (0: none).
		Ok(u64::try_from(version?).ok().and_then(|v| v.checked_sub(1)))
	}

	/// Runs the `statements` that batch `through` (and the batches before it not yet
	/// here) executed, in order, in one durable transaction that also records `through`
	/// ([`SqlDb::final_through`]): the database becomes what the applets made of it. The
	/// statements passed the authorizer and limits when the applets ran them on the same
	/// state, so they run the same here.
	pub fn replay<'a>(
		&self,
		statements: impl IntoIterator<Item = &'a [u8]>,
		through: u64,
	) -> Result<(), SqlError> {
		let version = i32::try_from(through + 1).map_err(|_| {
			SqlError::Malformed(format!("batch {through} is past SQLite's counter"))
		})?;
		self.host_batch("BEGIN IMMEDIATE")?;
		let result = statements
			.into_iter()
			.try_for_each(|statement| self.exec(statement).map(drop))
			.and_then(|()| self.host_batch(&format!("PRAGMA user_version = {version}; COMMIT")));
		if result.is_err() {
			let _ = self.host_batch("ROLLBACK");
		}
		result
	}

	/// Runs `work` with at most `limit` metering steps; answers its result and the steps
	/// it took, `limit + 1` when it was interrupted for taking more.
	pub fn metered<T>(
		&self,
		limit: u64,
		work: impl FnOnce(&Self) -> Result<T, SqlError>,
	) -> (Result<T, SqlError>, u64) {
		self.meter.taken.store(0, Ordering::Relaxed);
		self.meter.limit.store(limit, Ordering::Relaxed);
		let result = work(self);
		self.meter.limit.store(u64::MAX, Ordering::Relaxed);
		(result, self.meter.taken.load(Ordering::Relaxed).min(limit.saturating_add(1)))
	}

	/// Keeps the changes of the batch run last ([`crate::Executor::run_batch`]).
	pub fn commit_batch(&self) -> Result<(), SqlError> {
		match self.in_batch.swap(false, Ordering::Relaxed) {
			true => self.host_batch("RELEASE w3b_batch"),
			false => Ok(()),
		}
	}

	/// Undoes the changes of the batch run last.
	pub fn rollback_batch(&self) -> Result<(), SqlError> {
		self.in_event.store(false, Ordering::Relaxed);
		match self.in_batch.swap(false, Ordering::Relaxed) {
			true => self.host_batch("ROLLBACK TO w3b_batch; RELEASE w3b_batch"),
			false => Ok(()),
		}
	}

	/// Before an event's first statement: opens the event's savepoint (and the batch's).
	pub(crate) fn enter_event(&self) -> Result<(), SqlError> {
		if !self.in_batch.swap(true, Ordering::Relaxed) {
			self.host_batch("SAVEPOINT w3b_batch")?;
		}
		if !self.in_event.swap(true, Ordering::Relaxed) {
			self.host_batch("SAVEPOINT w3b_event")?;
		}
		Ok(())
	}

	/// After an event: keeps or undoes what it did, if it used the database.
	pub(crate) fn end_event(&self, keep: bool) -> Result<(), SqlError> {
		if !self.in_event.swap(false, Ordering::Relaxed) {
			return Ok(());
		}
		let sql =
			if keep { "RELEASE w3b_event" } else { "ROLLBACK TO w3b_event; RELEASE w3b_event" };
		self.host_batch(sql)
	}

	/// Runs a statement that changes the database (one that answers rows, such as
	/// `INSERT ... RETURNING`, is refused before it runs: a query is `ws_get_sql_db`'s).
	pub fn exec(&self, request: &[u8]) -> Result<usize, SqlError> {
		let (statement, params) = parse_request(request)?;
		let mut stmt = self.conn.prepare(&statement)?;
		if stmt.column_count() > 0 {
			return Err(SqlError::Malformed("a statement that answers rows is a query".into()));
		}
		Ok(stmt.execute(rusqlite::params_from_iter(params))?)
	}

	/// Whether SQLite ended the host's transaction on its own (an interrupted or failed
	/// write rolls everything back): the batch's savepoint is gone.
	pub(crate) fn lost_batch(&self) -> bool {
		self.in_batch.load(Ordering::Relaxed) && self.conn.is_autocommit()
	}

	/// After [`SqlDb::lost_batch`]: the batch's savepoint again, with the statements of
	/// its events that succeeded so far.
	pub(crate) fn restore_batch(&self, statements: &[Vec<u8>]) -> Result<(), SqlError> {
		self.in_event.store(false, Ordering::Relaxed);
		self.host_batch("SAVEPOINT w3b_batch")?;
		self.in_batch.store(true, Ordering::Relaxed);
		statements.iter().try_for_each(|statement| self.exec(statement).map(drop))
	}

	/// Runs a read-only query; answers its rows as JSON.
	pub fn query(&self, request: &[u8]) -> Result<Vec<u8>, SqlError> {
		let (statement, params) = parse_request(request)?;
		let mut stmt = self.conn.prepare(&statement)?;
		if !stmt.readonly() {
			return Err(SqlError::NotReadOnly);
		}
		let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
		let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
		let mut out = b"[".to_vec();
		while let Some(row) = rows.next()? {
			// Counted before the row is copied: a row of 64 columns of 64 KiB is 4 MiB.
			let mut row_bytes = out.len();
			for i in 0..columns.len() {
				row_bytes += match row.get_ref(i)? {
					ValueRef::Text(t) | ValueRef::Blob(t) => 2 * t.len() + 8,
					_ => 24,
				};
				if row_bytes >= MAX_SQL_RESULT_LEN {
					return Err(SqlError::ResultTooLarge);
				}
			}
			let mut object = Map::new();
			for (i, name) in columns.iter().enumerate() {
				let value = match row.get_ref(i)? {
					ValueRef::Null => Value::Null,
					ValueRef::Integer(v) => Value::from(v),
					ValueRef::Real(v) => Value::from(v),
					ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
					ValueRef::Blob(b) => Value::from(sp_core::bytes::to_hex(b, false)),
				};
				object.insert(name.clone(), value);
			}
			if out.len() > 1 {
				out.push(b',');
			}
			serde_json::to_writer(&mut out, &Value::Object(object)).expect("JSON serializes");
			if out.len() >= MAX_SQL_RESULT_LEN {
				return Err(SqlError::ResultTooLarge);
			}
		}
		out.push(b']');
		Ok(out)
	}
}

/// The statement and its parameters.
/// Shadows every built-in function applets may not call with one that fails. The
/// authorizer is not asked about the expressions of a table's schema (a column's
/// `DEFAULT`, a `CHECK`), which SQLite evaluates at each insert: without this,
/// `DEFAULT (random())` or `DEFAULT CURRENT_TIMESTAMP` would store what no two operators
/// agree on. A function the connection defines wins over SQLite's own of the same name,
/// for every number of arguments when it takes any number.
fn refuse_builtin_functions(conn: &Connection) -> Result<(), SqlError> {
	let names: Vec<String> = conn
		.prepare("SELECT DISTINCT name FROM pragma_function_list")?
		.query_map([], |row| row.get(0))?
		.collect::<Result<_, _>>()?;
	for name in names {
		if ALLOWED_FUNCTIONS.contains(&name.to_ascii_lowercase().as_str()) {
			continue;
		}
		let refusal = format!("{name}() is not deterministic across operators");
		conn.create_scalar_function(name.as_str(), -1, FunctionFlags::SQLITE_UTF8, move |_| {
			Err::<i64, _>(rusqlite::Error::UserFunctionError(refusal.clone().into()))
		})?;
	}
	Ok(())
}

fn parse_request(request: &[u8]) -> Result<(String, Vec<SqlValue>), SqlError> {
	let text = std::str::from_utf8(request).map_err(|_| SqlError::Malformed("not UTF-8".into()))?;
	let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
		return Ok((text.to_owned(), Vec::new()));
	};
	let statement = object
		.get("statement")
		.and_then(Value::as_str)
		.ok_or_else(|| SqlError::Malformed("no \"statement\"".into()))?
		.to_owned();
	let params = match object.get("params") {
		None | Some(Value::Null) => Vec::new(),
		Some(Value::Array(params)) => params.iter().map(param).collect::<Result<_, _>>()?,
		Some(_) => return Err(SqlError::Malformed("\"params\" is not an array".into())),
	};
	Ok((statement, params))
}

fn param(value: &Value) -> Result<SqlValue, SqlError> {
	let malformed = || SqlError::Malformed(format!("bad parameter {value}"));
	let object = value.as_object().filter(|o| o.len() == 1).ok_or_else(malformed)?;
	let (ty, v) = object.iter().next().ok_or_else(malformed)?;
	Ok(match (ty.as_str(), v) {
		("int32" | "int64", v) => SqlValue::Integer(v.as_i64().ok_or_else(malformed)?),
		("float32" | "float64", v) => SqlValue::Real(v.as_f64().ok_or_else(malformed)?),
		("string" | "time", Value::String(s)) => SqlValue::Text(s.clone()),
		("bool", Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
		("bytes", Value::String(s)) => SqlValue::Blob(base64_decode(s).ok_or_else(malformed)?),
		_ => return Err(malformed()),
	})
}

/// Standard base64 with optional padding.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
	let mut out = Vec::with_capacity(text.len() * 3 / 4);
	let (mut acc, mut bits) = (0u32, 0u32);
	for c in text.bytes().filter(|c| *c != b'=') {
		let v = match c {
			b'A'..=b'Z' => c - b'A',
			b'a'..=b'z' => c - b'a' + 26,
			b'0'..=b'9' => c - b'0' + 52,
			b'+' => 62,
			b'/' => 63,
			_ => return None,
		};
		acc = (acc << 6) | u32::from(v);
		bits += 6;
		if bits >= 8 {
			bits -= 8;
			out.push((acc >> bits) as u8);
		}
	}
	Some(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn exec_and_query_with_w3bstream_params() {
		let db = SqlDb::in_memory().unwrap();
		db.exec(b"CREATE TABLE t (id INTEGER, name TEXT, ok INTEGER, raw BLOB, v REAL)").unwrap();
		let insert = br#"{"statement":"INSERT INTO t VALUES (?,?,?,?,?)","params":[{"int32":1},{"string":"a"},{"bool":true},{"bytes":"AQID"},{"float64":1.5}]}"#;
		assert_eq!(db.exec(insert).unwrap(), 1);
		let rows: Value = serde_json::from_slice(&db.query(b"SELECT * FROM t").unwrap()).unwrap();
		assert_eq!(
			rows,
			serde_json::json!([{"id": 1, "name": "a", "ok": 1, "raw": "0x010203", "v": 1.5}])
		);
	}

	#[test]
	fn nondeterminism_and_files_are_refused() {
		let db = SqlDb::in_memory().unwrap();
		db.exec(b"CREATE TABLE t (v INTEGER)").unwrap();
		for sql in [
			"SELECT random()",
			"SELECT datetime('now')",
			"SELECT RANDOMBLOB(4)",
			"SELECT CURRENT_TIMESTAMP",
			"SELECT current_date",
			"SELECT changes()",
			"SELECT last_insert_rowid()",
			"SELECT total_changes()",
			"ATTACH DATABASE '/tmp/x.db' AS x",
			"PRAGMA journal_mode",
			"PRAGMA user_version = 7",
		] {
			assert!(db.query(sql.as_bytes()).is_err(), "{sql} should be refused");
		}
		// The host's transactions are not the applets' to end.
		for sql in ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT x", "RELEASE w3b_event", "END"] {
			assert!(db.exec(sql.as_bytes()).is_err(), "{sql} should be refused");
		}
		// A query that writes is refused (it would escape the statement log), and so is
		// a statement that answers rows, before it runs.
		assert!(matches!(
			db.query(b"INSERT INTO t VALUES (1) RETURNING v"),
			Err(SqlError::NotReadOnly)
		));
		assert!(db.exec(b"INSERT INTO t VALUES (1) RETURNING v").is_err());
		// Temporary objects (one connection's), the page layout, and functions whose cost
		// is the product of their arguments or whose result is the platform's.
		for sql in [
			"CREATE TEMP TABLE x (v)",
			"CREATE TEMPORARY VIEW w AS SELECT 1",
			"SELECT * FROM dbstat",
			"CREATE VIRTUAL TABLE s USING dbstat(main)",
			"SELECT instr('abc', 'b')",
			"SELECT replace('abc', 'b', 'c')",
			"SELECT 'abc' LIKE 'a%'",
			"SELECT 'abc' GLOB 'a*'",
			"SELECT trim('abc', 'a')",
			"SELECT sqrt(2)",
			"SELECT zeroblob(100000)",
		] {
			let refused = db.query(sql.as_bytes()).is_err() && db.exec(sql.as_bytes()).is_err();
			assert!(refused, "{sql} should be refused");
		}
		assert_eq!(db.query(b"SELECT count(*) AS n FROM t").unwrap(), br#"[{"n":0}]"#);
		assert!(db.query(b"SELECT abs(-1)").is_ok());
	}

	#[test]
	fn schema_expressions_cannot_reach_a_refused_function() {
		// SQLite evaluates DEFAULT and CHECK expressions without asking the authorizer:
		// each pair is refused at the schema or at the insert, or two operators would
		// store different rows.
		let db = SqlDb::in_memory().unwrap();
		for (i, (column, insert)) in [
			("b DEFAULT (random())", "(a) VALUES (1)"),
			("b DEFAULT CURRENT_TIMESTAMP", "(a) VALUES (1)"),
			("b DEFAULT (datetime('now'))", "(a) VALUES (1)"),
			("b DEFAULT (changes())", "(a) VALUES (1)"),
			("b DEFAULT (last_insert_rowid())", "(a) VALUES (1)"),
			("b DEFAULT (sqlite_version())", "(a) VALUES (1)"),
			("b CHECK (b < random())", "VALUES (1, 1)"),
			("b CHECK (b <> julianday('now'))", "VALUES (1, 1)"),
		]
		.into_iter()
		.enumerate()
		{
			let schema = format!("CREATE TABLE t{i} (a, {column})");
			let insert = format!("INSERT INTO t{i} {insert}");
			let stored = db.exec(schema.as_bytes()).is_ok() && db.exec(insert.as_bytes()).is_ok();
			assert!(!stored, "{schema}; {insert}: a value no two operators agree on was stored");
		}
		// Allowed functions still work there.
		db.exec(b"CREATE TABLE ok (a, b DEFAULT (upper('x')) CHECK (length(b) = 1))").unwrap();
		db.exec(b"INSERT INTO ok (a) VALUES (1)").unwrap();
		assert_eq!(db.query(b"SELECT b FROM ok").unwrap(), br#"[{"b":"X"}]"#);
	}

	#[test]
	fn replaying_the_statements_rebuilds_the_database_durably() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("final.sql");
		let db = SqlDb::open(&path).unwrap();
		assert_eq!(db.final_through().unwrap(), None);
		let statements: [&[u8]; 2] = [
			b"CREATE TABLE t (v INTEGER)",
			br#"{"statement":"INSERT INTO t VALUES (?)","params":[{"int64":5}]}"#,
		];
		db.replay(statements, 0).unwrap();
		// A failing statement undoes the whole replay, the batch mark included.
		assert!(db.replay([&b"INSERT INTO t VALUES (6)"[..], b"NOT SQL"], 1).is_err());
		drop(db);
		let db = SqlDb::open(&path).unwrap();
		assert_eq!(db.final_through().unwrap(), Some(0));
		assert_eq!(db.query(b"SELECT v FROM t").unwrap(), br#"[{"v":5}]"#);
	}

	#[test]
	fn malformed_requests_are_errors() {
		let db = SqlDb::in_memory().unwrap();
		for request in [
			&br#"{"params":[]}"#[..],
			br#"{"statement":"SELECT ?","params":[{"int32":"x"}]}"#,
			br#"{"statement":"SELECT ?","params":{"a":1}}"#,
			br#"{"statement":"SELECT ?","params":[{"bytes":"@@"}]}"#,
			b"\xff\xfe",
			b"NOT SQL",
		] {
			assert!(db.query(request).is_err());
		}
	}

	#[test]
	fn savepoints_undo_failed_events_and_expired_batches() {
		let db = SqlDb::in_memory().unwrap();
		db.exec(b"CREATE TABLE t (v INTEGER)").unwrap();
		db.enter_event().unwrap();
		db.exec(b"INSERT INTO t VALUES (1)").unwrap();
		db.end_event(true).unwrap();
		db.end_event(true).unwrap(); // no event open: nothing to do
		db.enter_event().unwrap();
		db.exec(b"INSERT INTO t VALUES (2)").unwrap();
		db.end_event(false).unwrap();
		assert_eq!(db.query(b"SELECT v FROM t").unwrap(), br#"[{"v":1}]"#);
		db.rollback_batch().unwrap();
		assert_eq!(db.query(b"SELECT v FROM t").unwrap(), b"[]");
		db.rollback_batch().unwrap(); // no batch open: nothing to undo
		db.enter_event().unwrap();
		db.exec(b"INSERT INTO t VALUES (3)").unwrap();
		db.end_event(true).unwrap();
		db.commit_batch().unwrap();
		assert_eq!(db.query(b"SELECT v FROM t").unwrap(), br#"[{"v":3}]"#);
	}
}
