//! Builds the SDK's example applets (Rust, wasm32-unknown-unknown) once per test binary
//! and helps set up batches.

#![allow(dead_code)]

use std::{
	path::{Path, PathBuf},
	process::Command,
	sync::{Arc, OnceLock},
};

use sp_core::H256;
use w3b_executor::{BatchInput, EngineConfig, Executor};
use w3b_primitives::{
	project::{code_hash, Applet, Strategy, DEFAULT_EVENT_TYPE},
	AppletId, Message,
};

/// The engine's defaults with a wall-clock backstop far beyond what any event here
/// needs: tests that check fuel must not race the 2 s backstop on a loaded machine (the
/// backstop has its own test).
pub fn engine_config() -> EngineConfig {
	EngineConfig { event_timeout: std::time::Duration::from_secs(120), ..Default::default() }
}

/// The repository root (this module is included by test crates at different depths).
/// From the package directory cargo gives the running test, not the one it was compiled
/// in: a target directory shared between checkouts may hold a binary built in another.
pub fn workspace() -> &'static Path {
	static ROOT: OnceLock<PathBuf> = OnceLock::new();
	ROOT.get_or_init(|| {
		let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
			.map(PathBuf::from)
			.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
		manifest_dir
			.ancestors()
			.find(|dir| dir.join("sdk/Cargo.toml").exists())
			.expect("the test crate is inside the repository")
			.to_path_buf()
	})
}

/// Where the applets are built: `$CARGO_TARGET_DIR/applets` or `target/applets`.
fn applets_target() -> PathBuf {
	let workspace = workspace();
	std::env::var_os("CARGO_TARGET_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| workspace.join("target"))
		.join("applets")
}

/// Builds the applets of `sdk/` for `target` (with extra cargo `args`) and returns the
/// directory of the `.wasm` files.
fn build_applets(target: &str, args: &[&str]) -> PathBuf {
	// From sdk/, so that cargo reads sdk/.cargo/config.toml (the applets' stack size).
	let sdk = workspace().join("sdk");
	let manifest = sdk.join("Cargo.toml");
	let target_dir = applets_target();
	let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
		.args(["build", "--release", "--locked", "--target", target])
		.args(args)
		.arg("--manifest-path")
		.arg(&manifest)
		.arg("--target-dir")
		.arg(&target_dir)
		.current_dir(&sdk)
		.status()
		.expect("cargo runs");
	assert!(status.success(), "building the example applets for {target} failed");
	target_dir.join(target).join("release")
}

/// Builds `sdk/` for wasm32-unknown-unknown (once) and returns the directory of the
/// `.wasm` files.
pub fn applets_dir() -> &'static Path {
	static DIR: OnceLock<PathBuf> = OnceLock::new();
	DIR.get_or_init(|| {
		build_applets("wasm32-unknown-unknown", &["--workspace", "--exclude", "applet-wasi"])
	})
}

/// Builds the WASI example for wasm32-wasip1 (once) and returns its directory.
pub fn wasi_applets_dir() -> &'static Path {
	static DIR: OnceLock<PathBuf> = OnceLock::new();
	DIR.get_or_init(|| build_applets("wasm32-wasip1", &["-p", "applet-wasi"]))
}

/// The bytes of example applet `name` (`log`, `counter`, `alert`, `sql`, `hostile`,
/// and `wasi` built for wasm32-wasip1).
pub fn applet_code(name: &str) -> Vec<u8> {
	let dir = if name == "wasi" { wasi_applets_dir() } else { applets_dir() };
	std::fs::read(dir.join(format!("applet_{name}.wasm"))).expect("applet built")
}

/// The code of AssemblyScript applet `name` (`sdk/assemblyscript/assembly/NAME.ts`, built
/// with W3bstream's `@w3bstream/wasm-sdk` from npm): the packages are installed and
/// every applet compiled once per test binary.
pub fn assemblyscript_code(name: &str) -> Vec<u8> {
	static DIR: OnceLock<PathBuf> = OnceLock::new();
	let dir = DIR.get_or_init(|| {
		let dir = workspace().join("sdk/assemblyscript");
		let npm = |args: &[&str]| {
			let status = Command::new("npm")
				.args(args)
				.current_dir(&dir)
				.status()
				.expect("npm runs (scripts/setup.sh installs Node.js and npm)");
			assert!(status.success(), "npm {args:?} failed");
		};
		if !dir.join("node_modules/@w3bstream/wasm-sdk").exists() {
			npm(&["ci", "--no-audit", "--no-fund"]);
		}
		npm(&["run", "build"]);
		dir.join("build")
	});
	std::fs::read(dir.join(format!("{name}.wasm")))
		.unwrap_or_else(|e| panic!("AssemblyScript applet {name}: {e}"))
}

/// Loads example applet `name` into `executor`; returns its code hash.
pub fn load(executor: &Executor, name: &str) -> H256 {
	let code = applet_code(name);
	let hash = code_hash(&code);
	executor.load(hash, &code).expect("applet loads");
	hash
}

/// An applet running `code` with the given routes (`DEFAULT` if `routes` is empty).
pub fn applet(id: AppletId, code: H256, routes: &[(&str, &str)]) -> (AppletId, Applet) {
	let routes: Vec<(&str, &str)> =
		if routes.is_empty() { vec![("DEFAULT", "start")] } else { routes.to_vec() };
	let strategies = routes
		.iter()
		.map(|(ty, handler)| Strategy {
			event_type: ty.as_bytes().to_vec().try_into().unwrap(),
			handler: handler.as_bytes().to_vec().try_into().unwrap(),
		})
		.collect::<Vec<_>>();
	let _ = DEFAULT_EVENT_TYPE;
	(
		id,
		Applet {
			name: format!("applet-{id}").into_bytes().try_into().unwrap(),
			code_hash: code,
			version: 1,
			strategies: strategies.try_into().unwrap(),
		},
	)
}

/// A message of project 1 with `event_type` and `payload`.
pub fn message(seq: u64, event_type: &str, payload: &[u8]) -> Message {
	Message {
		project: 1,
		device: H256::repeat_byte(7),
		seq,
		timestamp_ms: 1_700_000_000_000 + seq,
		event_type: event_type.as_bytes().to_vec(),
		payload: payload.to_vec(),
		encrypted: false,
	}
}

/// A batch of project 1 with a large fuel budget and `env`.
pub fn batch<'a>(
	applets: &'a [(AppletId, Applet)],
	messages: &'a [Message],
	env: &[(&str, &str)],
) -> BatchInput<'a> {
	BatchInput {
		project: 1,
		batch_seq: 0,
		merkle_root: H256::repeat_byte(9),
		timestamp_ms: 1_700_000_000_000,
		fuel: 10_000_000_000,
		env: Arc::new(
			env.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect(),
		),
		applets,
		messages,
		verdicts: w3b_primitives::validity::verdicts_digest(&[]),
		prev_state_root: H256::zero(),
	}
}
