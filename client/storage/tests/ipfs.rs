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
	vfs.pin(&cid).unwrap();
	assert!(vfs.is_pinned(&cid).unwrap());
	vfs.unpin(&cid).unwrap();
	assert!(!vfs.is_pinned(&cid).unwrap());
}
