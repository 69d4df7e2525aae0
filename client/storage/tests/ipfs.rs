//! The IPFS VFS against a real Kubo-compatible daemon when one is available (its RPC API
//! at `W3B_IPFS_API`, default `http://127.0.0.1:5001`); otherwise the test says so and
//! checks nothing: a daemon is never faked.

use w3b_storage::{ipfs::IpfsVfs, Cid, Vfs};

#[test]
fn ipfs_vfs_against_a_kubo_daemon() {
	let api = std::env::var("W3B_IPFS_API").unwrap_or_else(|_| "http://127.0.0.1:5001".into());
	let reachable = ureq::post(&format!("{api}/api/v0/version")).call().is_ok();
	if !reachable {
		println!("SKIPPED: no Kubo RPC API at {api} (set W3B_IPFS_API to a running daemon to run this test)");
		return;
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
