//! Keys: the account key that signs transactions, and device key files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sp_core::{crypto::Ss58Codec, ed25519, sr25519, Pair};
use subxt::{
	utils::{AccountId32, MultiSignature},
	SubstrateConfig,
};
use w3b_primitives::{DeviceId, DeviceKey};

use crate::CliError;

/// Where the key that signs transactions comes from (one of them).
#[derive(Debug, Clone, clap::Args)]
pub struct KeyOptions {
	/// The signing key as a secret URI: a dev account (`//Alice`), a mnemonic phrase
	/// (optionally with a derivation path) or a 32-byte hex seed. Prefer W3B_SURI for a
	/// real key: a command line shows in `ps` and the shell's history.
	#[arg(long, global = true, env = "W3B_SURI", hide_env_values = true)]
	pub suri: Option<String>,

	/// A file holding the signing key's secret URI (the first line).
	#[arg(long, global = true, conflicts_with = "suri")]
	pub key_file: Option<PathBuf>,

	/// A node's keystore directory (`<base-path>/chains/<chain>/keystore`): sign with its
	/// one key of `--key-type`, as the node itself does.
	#[arg(long, global = true, conflicts_with_all = ["suri", "key_file"])]
	pub keystore: Option<PathBuf>,

	/// The key type to take from `--keystore` (`w3bo`: the node's operator key).
	#[arg(long, global = true, default_value = "w3bo")]
	pub key_type: String,
}

/// An sr25519 account key that signs transactions.
pub struct AccountSigner {
	pair: sr25519::Pair,
}

impl AccountSigner {
	/// The key `options` name.
	pub fn from_options(options: &KeyOptions) -> Result<Self, CliError> {
		let suri = if let Some(suri) = &options.suri {
			suri.clone()
		} else if let Some(file) = &options.key_file {
			let text = read(file)?;
			text.lines().next().unwrap_or_default().trim().to_string()
		} else if let Some(dir) = &options.keystore {
			keystore_suri(dir, &options.key_type)?
		} else {
			return Err(CliError::bad(
				"this command signs a transaction: give a key with --suri (or W3B_SURI), \
				 --key-file or --keystore",
			));
		};
		let pair = sr25519::Pair::from_string(&suri, None).map_err(|e| {
			CliError::bad(format!("the signing key is not a valid secret URI: {e:?}"))
		})?;
		Ok(AccountSigner { pair })
	}

	/// The signer's account.
	pub fn account(&self) -> AccountId32 {
		AccountId32(self.pair.public().0)
	}

	/// The signer's account in SS58.
	pub fn ss58(&self) -> String {
		self.pair.public().to_ss58check()
	}
}

impl subxt::tx::Signer<SubstrateConfig> for AccountSigner {
	fn account_id(&self) -> AccountId32 {
		self.account()
	}

	fn sign(&self, payload: &[u8]) -> MultiSignature {
		MultiSignature::Sr25519(self.pair.sign(payload).0)
	}
}

/// The secret URI of the one key of `key_type` in keystore `dir`: sc-keystore keeps each
/// key in a file named hex(key type) ++ hex(public key) holding its URI as a JSON string.
fn keystore_suri(dir: &Path, key_type: &str) -> Result<String, CliError> {
	if key_type.len() != 4 {
		return Err(CliError::bad(format!("--key-type must be 4 characters, not {key_type:?}")));
	}
	let prefix = hex::encode(key_type.as_bytes());
	let entries = std::fs::read_dir(dir)
		.map_err(|e| CliError::bad(format!("cannot read keystore {}: {e}", dir.display())))?;
	let mut found = Vec::new();
	for entry in entries {
		let name = entry?.file_name().to_string_lossy().into_owned();
		if name.starts_with(&prefix) {
			found.push(name);
		}
	}
	match found.as_slice() {
		[name] => {
			let text = read(&dir.join(name))?;
			serde_json::from_str::<String>(&text).map_err(|e| {
				CliError::bad(format!("keystore file {name} is not a JSON string: {e}"))
			})
		}
		[] => Err(CliError::bad(format!(
			"no {key_type} key in keystore {} (insert one with `w3b-node key insert`)",
			dir.display()
		))),
		_ => Err(CliError::bad(format!(
			"{} {key_type} keys in keystore {}: give the one to use with --suri or --key-file",
			found.len(),
			dir.display()
		))),
	}
}

/// Parses an account given in SS58.
pub fn parse_account(text: &str) -> Result<AccountId32, CliError> {
	sp_core::crypto::AccountId32::from_ss58check(text)
		.map(|account| AccountId32(account.into()))
		.map_err(|e| CliError::bad(format!("{text:?} is not an SS58 account: {e:?}")))
}

/// A device's key file, as `w3b device keygen` writes it.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceKeyFile {
	/// The ed25519 seed (secret: keep the file private).
	pub seed: String,
	/// The public key, registered on chain.
	pub public: String,
	/// The device id (blake2-256 of the SCALE key), what messages name.
	pub device_id: String,
	/// The sequence number of the device's next message (messages must come with
	/// increasing numbers; `device send` moves it on).
	pub next_seq: u64,
}

/// A device key: its pair and its file.
pub struct DeviceKeys {
	pub pair: ed25519::Pair,
	pub file: DeviceKeyFile,
	path: PathBuf,
}

impl DeviceKeys {
	/// A new random device key, to be kept at `path`.
	pub fn generate(path: &Path) -> Self {
		let (pair, seed) = ed25519::Pair::generate();
		let key = DeviceKey::Ed25519(pair.public().0);
		let file = DeviceKeyFile {
			seed: hex_0x(&seed),
			public: hex_0x(&pair.public().0),
			device_id: hex_0x(key.device_id().as_bytes()),
			next_seq: 1,
		};
		DeviceKeys { pair, file, path: path.to_path_buf() }
	}

	/// The device key kept at `path`.
	pub fn load(path: &Path) -> Result<Self, CliError> {
		let file: DeviceKeyFile = serde_json::from_str(&read(path)?).map_err(|e| {
			CliError::bad(format!("{} is not a device key file: {e}", path.display()))
		})?;
		// Never echo the seed in an error.
		let seed: [u8; 32] =
			parse_hex(&file.seed, "seed").ok().and_then(|seed| seed.try_into().ok()).ok_or_else(
				|| CliError::bad(format!("{}: the seed is not 32 bytes of hex", path.display())),
			)?;
		let pair = ed25519::Pair::from_seed(&seed);
		if hex_0x(&pair.public().0) != file.public.to_lowercase() {
			return Err(CliError::bad(format!(
				"{}: the public key does not belong to the seed",
				path.display()
			)));
		}
		Ok(DeviceKeys { pair, file, path: path.to_path_buf() })
	}

	/// Writes a new key file (readable by its owner only); refuses to replace a file.
	pub fn create(&self) -> Result<(), CliError> {
		self.write(false)
	}

	/// Rewrites the file (readable by its owner only), replacing it atomically.
	pub fn save(&self) -> Result<(), CliError> {
		self.write(true)
	}

	/// Writes the file through a new temporary file of its own in the same directory
	/// (created with mode 0600, never an existing file or a link), synced, then moved
	/// into place: a crash leaves the old file or the new one, never a mix.
	fn write(&self, replace: bool) -> Result<(), CliError> {
		use std::io::Write;
		let text = serde_json::to_string_pretty(&self.file).expect("a key file is JSON");
		let dir = match self.path.parent() {
			Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
			_ => PathBuf::from("."),
		};
		let failed = |e: std::io::Error| {
			CliError::Other(format!("cannot write {}: {e}", self.path.display()))
		};
		let mut temp = tempfile::Builder::new()
			.prefix(".w3b-key-")
			.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
			.tempfile_in(&dir)
			.map_err(failed)?;
		temp.write_all(text.as_bytes()).map_err(failed)?;
		temp.as_file().sync_all().map_err(failed)?;
		if replace {
			temp.persist(&self.path).map_err(|e| failed(e.error))?;
		} else {
			temp.persist_noclobber(&self.path).map_err(|e| {
				if e.error.kind() == std::io::ErrorKind::AlreadyExists {
					CliError::bad(format!(
						"{} exists: a device key is not replaced (choose another --out)",
						self.path.display()
					))
				} else {
					failed(e.error)
				}
			})?;
		}
		std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(failed)?;
		Ok(())
	}

	/// The key as registered on chain.
	pub fn device_key(&self) -> DeviceKey {
		DeviceKey::Ed25519(self.pair.public().0)
	}

	/// The device's id.
	pub fn device_id(&self) -> DeviceId {
		self.device_key().device_id()
	}
}

/// `0x` and lowercase hex.
pub fn hex_0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

/// Hex with or without `0x`.
pub fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>, CliError> {
	hex::decode(text.strip_prefix("0x").unwrap_or(text))
		.map_err(|_| CliError::bad(format!("{what} is not hex: {text:?}")))
}

/// A 32-byte hash in hex.
pub fn parse_h256(text: &str, what: &str) -> Result<sp_core::H256, CliError> {
	let bytes = parse_hex(text, what)?;
	if bytes.len() != 32 {
		return Err(CliError::bad(format!("{what} must be 32 bytes, not {}", bytes.len())));
	}
	Ok(sp_core::H256::from_slice(&bytes))
}

fn read(path: &Path) -> Result<String, CliError> {
	std::fs::read_to_string(path)
		.map_err(|e| CliError::bad(format!("cannot read {}: {e}", path.display())))
}
