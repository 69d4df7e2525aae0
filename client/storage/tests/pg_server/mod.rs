//! A real PostgreSQL server for tests: Debian's PostgreSQL, initialized and started as
//! the `postgres` user (it refuses to run as root) on a loopback port, in a temporary
//! directory, stopped on drop. Shared by the storage tests and the node tests.

#![allow(dead_code)]

use std::{
	path::PathBuf,
	process::{Command, Stdio},
};

/// A PostgreSQL server in a temporary directory, stopped on drop.
pub struct Postgres {
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
	/// Initializes and starts a server on a free loopback port.
	pub fn start() -> Postgres {
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

	/// libpq connection parameters of the server.
	pub fn params(&self) -> String {
		format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
	}

	/// The same as a URL.
	pub fn url(&self) -> String {
		format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
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
