//! The IPFS VFS against a real Kubo-compatible daemon (its RPC API at `W3B_IPFS_API`,
//! default `http://127.0.0.1:5001`). A daemon is never faked, and none can be installed
//! from the package registries, so the test is ignored unless asked for:
//! `cargo test -p w3b-storage --test ipfs -- --ignored` with a daemon running.

use w3b_storage::{ipfs::IpfsVfs, Cid, Vfs};

#[test]
#[ignore = "needs a running Kubo daemon (W3B_IPFS_API); run with --ignored"]
fn ipfs_vfs_against_a_kubo_daemon() {
	let api = std::env::var("W3B_IPFS_API").unwrap_or_else(|_| "http://127.0.0.1:5001".into());
	if let Err(e) = ureq::post(&format!("{api}/api/v0/version")).call() {
		panic!("no Kubo RPC API at {api} ({e}): start a daemon or set W3B_IPFS_API");
	}
	let vfs = IpfsVfs::new(&api);
	let data = b"a W3bstream batch body";
	let cid = vfs.put(data).unwrap();
	assert_eq!(cid, Cid::of(data), "the daemon's CID is the embedded VFS's");
	assert_eq!(vfs.get(&cid).unwrap().as_deref(), Some(&data[..]));
	// A blob the daemon does not hold is answered as such (offline), not searched for on
	// the network until the call times out (an error).
	assert_eq!(vfs.get(&Cid::of(b"a body no one added")).unwrap(), None);
	vfs.pin(&cid).unwrap();
	assert!(vfs.is_pinned(&cid).unwrap());
	vfs.unpin(&cid).unwrap();
	assert!(!vfs.is_pinned(&cid).unwrap());
}

/// A daemon that cannot be reached is an error, never "the blob is not held" or "not
/// pinned": the worker would otherwise fetch from peers what it holds, or take a pin as
/// gone. (Before, any error whose text held "500", as the URL of the usual port 5001
/// does, was read as the daemon's refusal.)
#[test]
fn an_unreachable_daemon_is_an_error_not_a_missing_blob() {
	// Nothing listens on the port a listener just left; the path holds "500" as a URL
	// with the daemon's usual port 5001 does.
	let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let vfs = IpfsVfs::new(&format!("http://127.0.0.1:{port}/kubo-5001"));
	let cid = Cid::of(b"a body");
	assert!(vfs.get(&cid).is_err(), "get");
	assert!(vfs.is_pinned(&cid).is_err(), "is_pinned");
	assert!(vfs.unpin(&cid).is_err(), "unpin");
}
