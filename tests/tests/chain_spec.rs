//! `chain-spec/local.json` is what `w3b-node build-spec --chain local` generates from the
//! runtime's `local` preset.
//!
//! The runtime code inside the spec is compared by its embedded runtime version only:
//! the WASM bytes embed source paths, so they differ between checkouts of one commit.
//! Regenerate the file with `scripts/build-spec.sh`.

use std::process::Command;

use serde_json::Value;
use w3b_e2e_tests::node_binary;

/// Removes the runtime code from `spec` and returns the runtime version embedded in it,
/// with its API list sorted (the order in which `impl_runtime_apis!` lists the APIs is
/// not stable between compilations of the same source).
fn take_code_version(spec: &mut Value) -> sp_version::RuntimeVersion {
	let code = spec["genesis"]["runtimeGenesis"]["code"].take();
	let code = hex::decode(code.as_str().expect("spec has runtime code").trim_start_matches("0x"))
		.expect("code is hex");
	let blob = sc_executor_common::runtime_blob::RuntimeBlob::uncompress_if_needed(&code)
		.expect("code is WASM");
	let mut version = sc_executor::read_embedded_version(&blob)
		.expect("version section decodes")
		.expect("runtime embeds its version");
	version.apis.to_mut().sort();
	version
}

#[test]
fn local_chain_spec_matches_the_local_preset() {
	let output = Command::new(node_binary())
		.args(["build-spec", "--chain", "local", "--disable-default-bootnode"])
		.output()
		.expect("w3b-node runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let mut generated: Value = serde_json::from_slice(&output.stdout).expect("spec is JSON");

	let path = w3b_e2e_tests::repository_root().join("chain-spec/local.json");
	let committed = std::fs::read(&path).expect("chain-spec/local.json exists");
	let mut committed: Value = serde_json::from_slice(&committed).expect("committed spec is JSON");

	assert_eq!(
		take_code_version(&mut generated),
		take_code_version(&mut committed),
		"chain-spec/local.json holds another runtime version: run scripts/build-spec.sh"
	);
	assert_eq!(
		generated, committed,
		"chain-spec/local.json is out of date: run scripts/build-spec.sh"
	);
}
