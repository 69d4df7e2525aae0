//! Genesis presets: `dev` (Alice alone) and `local` (Alice, Bob, Charlie and Dave).
//!
//! Both use the well-known development keys (`//Alice`, ...), so they are for
//! development and testing only: anyone can sign as these accounts.

use crate::{
	AccountId, BalancesConfig, RuntimeGenesisConfig, SessionConfig, SessionKeys, SudoConfig,
	ValidatorsConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::{ecdsa, ByteArray};
use sp_genesis_builder::PresetId;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use w3b_primitives::bridge::BridgeAuthorityId;

/// Name of the single-validator development preset.
pub const DEV_PRESET: &str = "dev";
/// Name of the four-validator local testnet preset.
pub const LOCAL_PRESET: &str = "local";

/// Balance given to every well-known development account.
const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// Compressed secp256k1 public keys derived from `//Alice`, `//Bob`, ... (the bridge
/// keys of the development validators). The runtime has no secp256k1 key derivation,
/// so they are spelled out here; a test derives them again and compares.
const DEV_BRIDGE_KEYS: [(Sr25519Keyring, &str); 6] = [
	(Sr25519Keyring::Alice, "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"),
	(Sr25519Keyring::Bob, "0390084fdbf27d2b79d26a4f13f0ccd982cb755a661969143c37cbc49ef5b91f27"),
	(Sr25519Keyring::Charlie, "0389411795514af1627765eceffcbd002719f031604fadd7d188e2dc585b4e1afb"),
	(Sr25519Keyring::Dave, "03bc9d0ca094bd5b8b3225d7651eac5d18c1c04bf8ae8f8b263eebca4e1410ed0c"),
	(Sr25519Keyring::Eve, "031d10105e323c4afce225208f71a6441ee327a65b9e646e772500c74d31f669aa"),
	(Sr25519Keyring::Ferdie, "0291f1217d5a04cb83312ee3d88a6e6b33284e053e6ccfc3a90339a0299d12967c"),
];

/// The bridge key of a development account.
pub fn dev_bridge_key(who: Sr25519Keyring) -> BridgeAuthorityId {
	let (_, hex) = DEV_BRIDGE_KEYS
		.iter()
		.find(|(k, _)| *k == who)
		.expect("only Alice..Ferdie are development validators");
	let mut raw = [0u8; 33];
	for (i, byte) in raw.iter_mut().enumerate() {
		*byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("constant is hex");
	}
	ecdsa::Public::from_slice(&raw).expect("33 bytes").into()
}

/// The session keys of a development account: its `//Name` Aura, GRANDPA and bridge keys.
pub fn dev_session_keys(who: Sr25519Keyring) -> SessionKeys {
	let ed = Ed25519Keyring::iter()
		.find(|k| k.to_seed() == who.to_seed())
		.expect("every sr25519 development account has an ed25519 twin");
	SessionKeys {
		aura: AuraId::from(who.public()),
		grandpa: GrandpaId::from(ed.public()),
		w3b: dev_bridge_key(who),
	}
}

/// A genesis with `validators` as the PoA set (and so the council), `sudo` as the sudo
/// key if any, and the well-known accounts endowed.
fn genesis(validators: Vec<Sr25519Keyring>, min_validators: u32, sudo: Option<AccountId>) -> Value {
	let endowed: Vec<(AccountId, u128)> =
		Sr25519Keyring::well_known().map(|k| (k.to_account_id(), ENDOWMENT)).collect();
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances: endowed },
		validators: ValidatorsConfig {
			initial_validators: validators.iter().map(|v| v.to_account_id()).collect::<Vec<_>>(),
			min_validators,
		},
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|v| (v.to_account_id(), v.to_account_id(), dev_session_keys(*v)))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: sudo },
	})
}

/// `dev`: Alice is the only validator and sudo; blocks start at once.
pub fn dev_genesis() -> Value {
	genesis(vec![Sr25519Keyring::Alice], 1, Some(Sr25519Keyring::Alice.to_account_id()))
}

/// `local`: Alice, Bob, Charlie and Dave validate, so one can fail and GRANDPA still
/// gathers more than 2/3 of the votes. There is no sudo key: the four are the council,
/// and three of them pass a motion. The set may not shrink below four.
pub fn local_genesis() -> Value {
	genesis(
		vec![
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		],
		4,
		None,
	)
}

/// The JSON of preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_PRESET => dev_genesis(),
		LOCAL_PRESET => local_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of all presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_PRESET), PresetId::from(LOCAL_PRESET)]
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::Pair;

	#[test]
	fn dev_bridge_keys_are_derived_from_dev_seeds() {
		for (who, _) in DEV_BRIDGE_KEYS {
			let pair = ecdsa::Pair::from_string(&who.to_seed(), None).unwrap();
			assert_eq!(
				ecdsa::Public::from(dev_bridge_key(who)),
				pair.public(),
				"bridge key of {who}"
			);
		}
	}

	#[test]
	fn dev_session_keys_use_the_same_seed_for_every_key() {
		let keys = dev_session_keys(Sr25519Keyring::Bob);
		assert_eq!(keys.aura, AuraId::from(Sr25519Keyring::Bob.public()));
		assert_eq!(keys.grandpa, GrandpaId::from(Ed25519Keyring::Bob.public()));
	}

	#[test]
	fn presets_build_a_genesis() {
		use sp_runtime::BuildStorage;
		for name in preset_names() {
			let json = get_preset(&name).expect("listed preset exists");
			let patch: Value = serde_json::from_slice(&json).unwrap();
			let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
			json_merge(&mut config, patch);
			let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
			config.build_storage().expect("preset genesis builds");
		}
		assert!(get_preset(&PresetId::from("nonexistent")).is_none());
	}

	fn json_merge(base: &mut Value, patch: Value) {
		match (base, patch) {
			(Value::Object(base), Value::Object(patch)) => {
				for (k, v) in patch {
					json_merge(base.entry(k).or_insert(Value::Null), v);
				}
			}
			(base, patch) => *base = patch,
		}
	}
}
