fn main() {
	#[cfg(feature = "std")]
	{
		// The WASM build runs under the target directory. With a shared CARGO_TARGET_DIR
		// outside the workspace it would not find our Cargo.lock and would resolve its
		// own dependency versions; point it at the workspace explicitly. (Set here and
		// not in .cargo/config.toml so that other crates' WASM builds, such as
		// frame-benchmarking-cli's test runtime, keep looking in their own place.)
		if std::env::var_os("WASM_BUILD_WORKSPACE_HINT").is_none() {
			let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
			std::env::set_var("WASM_BUILD_WORKSPACE_HINT", workspace);
		}
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}
