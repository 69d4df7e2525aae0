fn main() {
	#[cfg(feature = "std")]
	{
		// The WASM build runs under the target directory. With a shared CARGO_TARGET_DIR
		// outside the workspace it would not find our Cargo.lock and would resolve its
		// own dependency versions; point it at the workspace explicitly. (Set here and
		// not in .cargo/config.toml so that other crates' WASM builds, such as
		// frame-benchmarking-cli's test runtime, keep looking in their own place.)
		//
		// The manifest directory is read when the script runs, not when it is compiled:
		// cargo reuses a compiled build script across checkouts of the workspace in other
		// directories (CI's clone shares our target directory).
		if std::env::var_os("WASM_BUILD_WORKSPACE_HINT").is_none() {
			let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo");
			let workspace = std::path::Path::new(&manifest_dir).join("..");
			std::env::set_var("WASM_BUILD_WORKSPACE_HINT", workspace);
		}
		let builder = substrate_wasm_builder::WasmBuilder::init_with_defaults();
		// The upgrade fixture (the next spec version, for the runtime-upgrade test) gets
		// its own file names, so building it never replaces the runtime the node embeds.
		if std::env::var_os("CARGO_FEATURE_UPGRADE_FIXTURE").is_some() {
			builder.set_file_name("w3b_runtime_upgrade_fixture").build();
		} else {
			builder.build();
		}
	}
}
