//! The built-in chain specifications: `dev` and `local`, built from the runtime's
//! genesis presets of the same names.

use sc_service::ChainType;
use w3b_runtime::{
	genesis_config_presets::{DEV_PRESET, LOCAL_PRESET},
	WASM_BINARY,
};

/// Chain specification of the W3bstream appchain (no extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

fn runtime_code() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime WASM was not built (SKIP_WASM_BUILD was set?); rebuild without it".into()
	})
}

fn token_properties() -> sc_chain_spec::Properties {
	let mut properties = sc_chain_spec::Properties::new();
	properties.insert("tokenSymbol".into(), "W3B".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

fn chain_spec(
	name: &str,
	id: &str,
	chain_type: ChainType,
	preset: &str,
) -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(runtime_code()?, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_genesis_config_preset_name(preset)
		.with_properties(token_properties())
		.build())
}

/// `dev`: Alice validates alone, so blocks are produced and finalized at once.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	chain_spec("W3bstream Development", "w3b_dev", ChainType::Development, DEV_PRESET)
}

/// `local`: Alice, Bob, Charlie and Dave validate; one may fail and GRANDPA still
/// finalizes.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	chain_spec("W3bstream Local Testnet", "w3b_local", ChainType::Local, LOCAL_PRESET)
}
