//! The PostgreSQL backend against a real server: Debian's PostgreSQL, initialized and
//! started by the test as the `postgres` user on a loopback port.

mod common;

use std::{
	path::PathBuf,
	process::{Command, Stdio},
};

use common::{backend_suite, stored};
use w3b_storage::{MessageStore, PgStore};

/// A PostgreSQL server in a temporary directory, stopped on drop.
struct Postgres {
	data: PathBuf,
	port: u16,
	_dir: tempfile::TempDir,
}

/// The directory of PostgreSQL's programs (Debian installs them outside PATH).
fn pg_bin() -> PathBuf {
	let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
		.expect("PostgreSQL is installed (scripts/setup.sh)")
		.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
		.filter(|p| p.join("initdb").exists())
		.collect();
	versions.sort();
	versions.pop().expect("a PostgreSQL version with initdb")
}

fn as_postgres(program: PathBuf, args: &[&str]) {
	let status = Command::new("runuser")
		.args(["-u", "postgres", "--"])
		.arg(&program)
		.args(args)
		.stdout(Stdio::null())
		.status()
		.expect("runuser runs");
	assert!(status.success(), "{} {args:?} failed", program.display());
}

impl Postgres {
	fn start() -> Postgres {
		let dir = tempfile::tempdir().unwrap();
		let status =
			Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().unwrap();
		assert!(status.success());
		let data = dir.path().join("data");
		let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let bin = pg_bin();
		as_postgres(
			bin.join("initdb"),
			&["-D", data.to_str().unwrap(), "--auth=trust", "-U", "postgres"],
		);
		let options =
			format!("-p {port} -k {} -c listen_addresses=127.0.0.1", dir.path().display());
		as_postgres(
			bin.join("pg_ctl"),
			&["-D", data.to_str().unwrap(), "-o", &options, "-w", "-l", "/dev/null", "start"],
		);
		Postgres { data, port, _dir: dir }
	}

	fn params(&self) -> String {
		format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
	}
}

impl Drop for Postgres {
	fn drop(&mut self) {
		let _ = Command::new("runuser")
			.args(["-u", "postgres", "--"])
			.arg(pg_bin().join("pg_ctl"))
			.args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
			.stdout(Stdio::null())
			.status();
	}
}

#[test]
fn postgres_backend_behaves_and_keeps_everything_across_reconnects() {
	let server = Postgres::start();
	let store = PgStore::connect(&server.params()).unwrap();
	backend_suite(&store);
	drop(store);
	// A new connection (a restarted node) sees the same state.
	let store = PgStore::connect(&server.params()).unwrap();
	assert_eq!(store.last_seq(1, sp_core::H256::repeat_byte(1)).unwrap(), Some(2));
	assert_eq!(store.pending(1).unwrap().len(), 1);
	assert!(store.append(vec![stored(1, 1, 3, b"after reconnect")]).unwrap()[0].is_ok());
	// A stopped server is an error, not a panic.
	drop(server);
	assert!(store.append(vec![stored(1, 1, 4, b"server gone")]).is_err());
}
