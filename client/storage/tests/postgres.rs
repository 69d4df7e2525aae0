//! The PostgreSQL backend against a real server: Debian's PostgreSQL, initialized and
//! started by the test as the `postgres` user on a loopback port.

mod common;
mod pg_server;

use common::{backend_suite, stored};
use pg_server::Postgres;
use w3b_storage::{MessageStore, PgStore};

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
