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

/// `w3b-node key generate --scheme SCHEME` as JSON.
fn generate_key(scheme: &str) -> Value {
	let output = Command::new(node_binary())
		.args(["key", "generate", "--scheme", scheme, "--output-type", "json"])
		.output()
		.expect("w3b-node runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	serde_json::from_slice(&output.stdout).expect("key is JSON")
}

/// Runs `scripts/testnet-spec.py` on `ceremony`; returns its exit status, stderr and the
/// raw spec it wrote.
fn testnet_spec(ceremony: &Value) -> (bool, String, Option<Value>) {
	let dir = w3b_e2e_tests::test_dir();
	let ceremony_file = dir.path().join("ceremony.json");
	std::fs::write(&ceremony_file, ceremony.to_string()).unwrap();
	let (plain, raw) = (dir.path().join("testnet.json"), dir.path().join("testnet.raw.json"));
	let output = Command::new("python3")
		.arg(w3b_e2e_tests::repository_root().join("scripts/testnet-spec.py"))
		.args([&ceremony_file, &plain])
		.arg("--raw")
		.arg(&raw)
		.env("W3B_NODE", node_binary())
		.output()
		.expect("python3 runs");
	let spec = std::fs::read(&raw).ok().map(|bytes| serde_json::from_slice(&bytes).unwrap());
	(output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned(), spec)
}

/// The raw genesis value under `key`, SCALE-decoded.
fn genesis_value<T: codec::Decode>(spec: &Value, key: &[u8]) -> Option<T> {
	let hex = spec["genesis"]["raw"]["top"][format!("0x{}", hex::encode(key))].as_str()?;
	let bytes = hex::decode(hex.trim_start_matches("0x")).unwrap();
	Some(T::decode(&mut &bytes[..]).expect("genesis value decodes"))
}

#[test]
fn a_public_testnet_spec_is_built_from_a_key_ceremony() {
	use w3b_runtime::{AccountId, Runtime};
	// Four validators, each with keys only it holds; the ceremony carries public keys.
	let validators: Vec<Value> = (0..4)
		.map(|_| {
			let account = generate_key("sr25519");
			serde_json::json!({
				"account": account["ss58Address"],
				"aura": generate_key("sr25519")["ss58Address"],
				"grandpa": generate_key("ed25519")["ss58Address"],
				"w3b": generate_key("ecdsa")["ss58PublicKey"],
			})
		})
		.collect();
	let ceremony = serde_json::json!({
		"name": "W3bstream Testnet", "id": "w3b_testnet", "minValidators": 4,
		"bootnodes": ["/dns/boot0.example.org/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"],
		"validators": validators,
	});
	let (ok, stderr, spec) = testnet_spec(&ceremony);
	assert!(ok, "{stderr}");
	let spec = spec.expect("the raw spec is written");
	assert_eq!(spec["chainType"], "Live");
	assert_eq!(spec["bootNodes"].as_array().map(Vec::len), Some(1));

	// The genesis: the four validators, who are the council, and no sudo key.
	use sp_core::crypto::Ss58Codec;
	let accounts: Vec<AccountId> = validators
		.iter()
		.map(|v| AccountId::from_ss58check(v["account"].as_str().unwrap()).unwrap())
		.collect();
	let set: Vec<AccountId> =
		genesis_value(&spec, &pallet_validators::Validators::<Runtime>::hashed_key())
			.expect("validators in genesis");
	assert_eq!(set, accounts);
	let mut sorted = accounts.clone();
	sorted.sort();
	let council: Vec<AccountId> = genesis_value(
		&spec,
		&pallet_collective::Members::<Runtime, w3b_runtime::configs::CouncilCollective>::hashed_key(
		),
	)
	.expect("council in genesis");
	assert_eq!(council, sorted);
	let sudo_key =
		[sp_crypto_hashing::twox_128(b"Sudo"), sp_crypto_hashing::twox_128(b"Key")].concat();
	assert!(genesis_value::<AccountId>(&spec, &sudo_key).is_none(), "a testnet has no sudo key");

	// A ceremony that shares a key between validators, or carries a secret, is refused.
	let mut shared = ceremony.clone();
	shared["validators"][1]["grandpa"] = shared["validators"][0]["grandpa"].clone();
	let (ok, stderr, _) = testnet_spec(&shared);
	assert!(!ok && stderr.contains("appears twice"), "{stderr}");
	let mut secret = ceremony.clone();
	secret["validators"][0]["secretPhrase"] = "bottom drive obey lake curtain smoke basket".into();
	let (ok, stderr, _) = testnet_spec(&secret);
	assert!(!ok && stderr.contains("holds a secret"), "{stderr}");
}
