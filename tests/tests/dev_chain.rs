//! The `dev` chain: one validator produces and finalizes blocks alone, and unsafe RPC
//! methods are off unless the operator asks for them (and on when asked).

use std::time::Duration;

use serde_json::json;
use w3b_e2e_tests::{dev_node_key, Node, NodeConfig};

#[test]
fn dev_chain_finalizes_alone_and_refuses_unsafe_rpc() {
	let dir = w3b_e2e_tests::test_dir();
	let mut alice = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec![],
		},
		dir.path(),
	)
	.expect("node starts");
	alice.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let rpc = alice.rpc();

	let finalized = alice
		.wait_finalized(2, Duration::from_secs(120))
		.unwrap_or_else(|e| panic!("{e}\n{}", alice.log_tail(30)));
	assert!(rpc.best_number().expect("best") >= finalized);

	let chain = rpc.call("system_chain", json!([])).expect("system_chain");
	assert_eq!(chain, json!("W3bstream Development"));

	let refused = rpc.call("author_rotateKeys", json!([])).expect_err("unsafe method refused");
	assert!(
		refused.to_string().contains("unsafe"),
		"unexpected error for an unsafe method: {refused}"
	);

	// Asked for, the same call answers: fresh session keys (aura and grandpa, 32 bytes
	// each; the bridge's secp256k1 `w3b_` key, 33 bytes compressed).
	alice.restart_with(&["--rpc-methods", "unsafe"]).expect("node restarts");
	alice.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready again");
	let keys = alice.rpc().call("author_rotateKeys", json!([])).expect("unsafe method allowed");
	let keys = keys.as_str().expect("hex session keys");
	assert_eq!(keys.len(), 2 + 2 * (32 + 32 + 33), "three public keys: {keys}");
	assert!(rpc.best_number().expect("best") >= finalized);
}
