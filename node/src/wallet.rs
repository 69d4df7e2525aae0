//! `w3b-node wallet ...`: the node's SSI wallet. Its identity key (ed25519, key type
//! `w3bi`) lives in the node's keystore; the wallet registers the key's `did:w3b` DID,
//! issues W3C VC 2.0 credentials secured with VC-JOSE (anchored in the chain's credential
//! registry, with W3C Bitstring Status List entries), changes their status, presents
//! credentials about its DID (VP-JOSE), and verifies credentials and presentations,
//! talking to a node over JSON-RPC. Transactions are paid by the account of
//! `--payer` (a secret URI: `//Alice` on dev chains, a mnemonic or `0x` seed otherwise);
//! the DID-signed operations inside them are what authorize.

use crate::chain_rpc::{signer_pair, ChainRpc, ChainRpcError};
use codec::Encode;
use sc_cli::{KeystoreParams, SharedParams, SubstrateCli};
use serde_json::{json, Value};
use sp_core::{crypto::KeyTypeId, ed25519, Pair, H256};
use sp_keystore::{Keystore, KeystorePtr};
use w3b_primitives::{
	credential::{
		credential_hash_of, credential_type_of, CredentialAnchor, CredentialStatus, StatusChange,
		STATUS_LIST_LENGTH,
	},
	did::{did_id_of, format_did, parse_did, DidCreation, DidId},
	DeviceKey, DeviceSignature,
};
use w3b_ssi::credential::{credential_header, date_time, encode, status_entries, Jws, VC_CONTEXT};

/// The wallet's key type in the keystore.
pub const IDENTITY_KEY_TYPE: KeyTypeId = KeyTypeId(*b"w3bi");

/// `w3b-node wallet ACTION [--base-path DIR] [--chain CHAIN] [--rpc-url URL] ...`.
#[derive(Debug, clap::Args)]
pub struct WalletCmd {
	/// What to do.
	#[command(subcommand)]
	pub action: WalletAction,
}

/// Where the wallet's keystore is and which node it talks to (every action takes them).
#[derive(Debug, clap::Args)]
pub struct WalletOptions {
	/// The node's JSON-RPC endpoint (HTTP).
	#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
	pub rpc_url: String,
	#[allow(missing_docs)]
	#[clap(flatten)]
	pub shared_params: SharedParams,
	#[allow(missing_docs)]
	#[clap(flatten)]
	pub keystore_params: KeystoreParams,
}

/// A wallet action.
#[derive(Debug, clap::Subcommand)]
pub enum WalletAction {
	/// Creates the wallet's identity key in the keystore unless it has one; prints its
	/// DID and key. Runs offline.
	Init {
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Registers the wallet's DID on the chain (the key is its authentication and
	/// assertion key): `wallet create-did --payer //Alice`.
	CreateDid {
		/// Secret URI of the account paying the fee and the DID's deposit.
		#[arg(long, value_name = "SURI")]
		payer: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Issues a credential: signs it, anchors it on the chain (with a random free
	/// status-list index) and prints it (compact JWS, `application/vc+jwt`).
	///
	/// Example: `wallet issue --type GenuineDeviceCredential --subject did:w3b:...
	/// --claims '{"model":"T-1000"}' --status-base http://node:9955 --payer //Alice`
	Issue {
		/// The credential's type (besides `VerifiableCredential`).
		#[arg(long = "type", value_name = "TYPE")]
		credential_type: String,
		/// The subject's DID.
		#[arg(long, value_name = "DID")]
		subject: String,
		/// Claims about the subject, a JSON object.
		#[arg(long, value_name = "JSON", default_value = "{}")]
		claims: String,
		/// Base URL of the node serving the issuer's status lists
		/// (`--w3b-identity-port`).
		#[arg(long, value_name = "URL")]
		status_base: String,
		/// End of validity, in days from now.
		#[arg(long, value_name = "DAYS")]
		valid_days: Option<u64>,
		/// Secret URI of the account paying the fee and the anchor's deposit.
		#[arg(long, value_name = "SURI")]
		payer: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Exports the finalized proof of a batch as a `W3bstreamProofCredential` (subject:
	/// the chain's genesis hash, project, batch, Merkle root, output and state roots,
	/// the block that finalized it, the quorum, the outputs), anchored like any
	/// credential. `verify` also checks it against the chain's proof, which the chain
	/// holds while the batch is in its commitment window.
	ExportProof {
		/// The project.
		#[arg(long)]
		project: u64,
		/// The batch's sequence number.
		#[arg(long)]
		batch: u64,
		/// Base URL of the node serving the issuer's status lists.
		#[arg(long, value_name = "URL")]
		status_base: String,
		/// Secret URI of the account paying the fee and the anchor's deposit.
		#[arg(long, value_name = "SURI")]
		payer: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Links an operator account to the wallet's DID (`operators.linkDid`, signed by the
	/// DID's key, submitted and paid by the operator), so that projects admitting
	/// operators by credential see the credentials the DID holds. Once per operator.
	LinkOperator {
		/// Secret URI of the operator's account.
		#[arg(long, value_name = "SURI")]
		operator: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Revokes (for good), suspends or reinstates a credential the wallet issued.
	SetStatus {
		/// The credential (compact JWS) or its `0x` hash.
		credential: String,
		/// `revoked`, `suspended` or `active`.
		#[arg(long, value_parser = ["revoked", "suspended", "active"])]
		status: String,
		/// Secret URI of the account paying the fee.
		#[arg(long, value_name = "SURI")]
		payer: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Presents credentials about the wallet's DID to a verifier: prints a VP-JOSE
	/// presentation (`vp+jwt`) signed by the wallet's key for the verifier's nonce and
	/// audience. Runs offline.
	Present {
		/// A credential about the wallet's DID (repeat for several).
		#[arg(long = "credential", value_name = "JWT", required = true)]
		credentials: Vec<String>,
		/// The verifier's challenge.
		#[arg(long)]
		nonce: String,
		/// The verifier (its DID or URL).
		#[arg(long)]
		audience: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Verifies a presentation made for `--nonce` and `--audience` against the chain;
	/// prints the outcome as JSON and exits non-zero unless verified.
	VerifyPresentation {
		/// The presentation (compact JWS).
		presentation: String,
		/// The challenge it must answer.
		#[arg(long)]
		nonce: String,
		/// The verifier it must be for.
		#[arg(long)]
		audience: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
	/// Verifies a credential against the chain (issuer key, signature, validity, anchor
	/// and status); prints the outcome as JSON and exits non-zero unless verified.
	Verify {
		/// The credential (compact JWS).
		credential: String,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: WalletOptions,
	},
}

/// Why a wallet action failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
	/// The keystore could not be opened or used.
	#[error("keystore: {0}")]
	Keystore(String),
	/// The wallet has no identity key yet.
	#[error("the keystore has no identity key: run `w3b-node wallet init` first")]
	NoKey,
	/// The node could not be reached or refused a call.
	#[error(transparent)]
	Chain(#[from] ChainRpcError),
	/// An argument is wrong.
	#[error("{0}")]
	Argument(String),
	/// The credential or presentation did not verify.
	#[error("the {0} does not verify: {1}")]
	NotVerified(&'static str, String),
}

impl From<WalletError> for sc_cli::Error {
	fn from(e: WalletError) -> Self {
		sc_cli::Error::Application(Box::new(e))
	}
}

impl WalletCmd {
	/// Runs the action.
	pub fn run<C: SubstrateCli>(&self, cli: &C) -> Result<(), WalletError> {
		let keystore = self.keystore(cli)?;
		match &self.action {
			WalletAction::Init { .. } => {
				let public = match identity_key(&keystore) {
					Some(public) => public,
					None => keystore
						.ed25519_generate_new(IDENTITY_KEY_TYPE, None)
						.map_err(|e| WalletError::Keystore(e.to_string()))?,
				};
				let key = DeviceKey::Ed25519(public.0);
				println!(
					"{}",
					json!({"did": format_did(&did_id_of(&key)), "publicKeyMultibase": w3b_ssi::document::public_key_multibase(&key)})
				);
				Ok(())
			}
			WalletAction::CreateDid { payer, .. } => self.create_did(&keystore, payer),
			WalletAction::Issue {
				credential_type,
				subject,
				claims,
				status_base,
				valid_days,
				payer,
				..
			} => {
				let Value::Object(mut claims) = serde_json::from_str(claims)
					.map_err(|e| WalletError::Argument(format!("--claims is not JSON: {e}")))?
				else {
					return Err(WalletError::Argument("--claims must be a JSON object".into()));
				};
				if credential_type.is_empty() || credential_type == "VerifiableCredential" {
					return Err(WalletError::Argument(
						"--type names the credential's own type, e.g. GenuineDeviceCredential"
							.into(),
					));
				}
				if !subject.starts_with("did:") {
					return Err(WalletError::Argument(format!(
						"--subject {subject:?} is not a DID"
					)));
				}
				claims.insert("id".into(), json!(subject));
				let compact = self.issue(
					&keystore,
					credential_type,
					Value::Object(claims),
					parse_did(subject).ok(),
					status_base,
					*valid_days,
					payer,
				)?;
				println!("{compact}");
				Ok(())
			}
			WalletAction::ExportProof { project, batch, status_base, payer, .. } => {
				let proof = self.rpc("w3b_getProof", json!([project, batch]))?;
				if proof["status"] != "Finalized" {
					return Err(WalletError::Argument(format!(
						"batch {batch} of project {project} has no finalized proof (status: {})",
						proof["status"]
					)));
				}
				let genesis = self.rpc("chain_getBlockHash", json!([0]))?;
				let genesis = genesis.as_str().unwrap_or_default().to_string();
				let subject = json!({
					"id": format!("urn:w3b:{genesis}:project:{project}:batch:{batch}"),
					"chain": genesis,
					"project": project,
					"batch": batch,
					"merkleRoot": proof["merkleRoot"],
					"outputRoot": proof["outputRoot"],
					"stateRoot": proof["stateRoot"],
					"previousStateRoot": proof["previousStateRoot"],
					"finalizedAt": proof["settledAt"],
					"agreed": proof["agreed"],
					"subnetSize": proof["subnetSize"],
					"outputs": proof["outputs"],
				});
				let compact = self.issue(
					&keystore,
					w3b_ssi::verify::PROOF_CREDENTIAL,
					subject,
					None,
					status_base,
					None,
					payer,
				)?;
				println!("{compact}");
				Ok(())
			}
			WalletAction::SetStatus { credential, status, payer, .. } => {
				self.set_status(&keystore, credential, status, payer)
			}
			WalletAction::LinkOperator { operator, .. } => {
				let public = identity_key(&keystore).ok_or(WalletError::NoKey)?;
				let did = did_id_of(&DeviceKey::Ed25519(public.0));
				let operator = signer_pair("--operator", operator)?;
				let account: w3b_runtime::AccountId = operator.public().into();
				// `Operators::OperatorDids[account]`, read as raw storage.
				let mut key = sp_io::hashing::twox_128(b"Operators").to_vec();
				key.extend(sp_io::hashing::twox_128(b"OperatorDids"));
				key.extend(sp_io::hashing::blake2_128(account.as_ref()));
				key.extend(account.encode());
				let key = sp_core::bytes::to_hex(&key, false);
				if !self.rpc("state_getStorage", json!([key]))?.is_null() {
					return Err(WalletError::Argument(format!(
						"operator {account} has linked a DID already: a link lasts until the \
						 operator deregisters"
					)));
				}
				let chain = self.chain().info()?;
				let valid_until = chain.best + VALIDITY_BLOCKS;
				let hash = pallet_operators::did_link_signing_hash(
					&chain.genesis,
					&account,
					&did,
					&valid_until,
				);
				let signature = sign(&keystore, &public, hash)?;
				self.chain().submit(
					&operator,
					&chain,
					pallet_operators::Call::link_did { did, valid_until, signature }.into(),
				)?;
				self.wait("the link", || {
					Ok(!self.rpc("state_getStorage", json!([key]))?.is_null())
				})?;
				println!("{}", json!({"operator": account.to_string(), "did": format_did(&did)}));
				Ok(())
			}
			WalletAction::Present { credentials, nonce, audience, .. } => {
				let public = identity_key(&keystore).ok_or(WalletError::NoKey)?;
				let key = DeviceKey::Ed25519(public.0);
				let holder = did_id_of(&key);
				let kid = w3b_ssi::verification_method_id(&holder, &key);
				let payload = w3b_ssi::credential::presentation(
					&format_did(&holder),
					credentials,
					nonce,
					audience,
				);
				let compact = identity_jws(
					&keystore,
					&public,
					w3b_ssi::credential::presentation_header(&kid),
					&payload,
				)?;
				println!("{compact}");
				Ok(())
			}
			WalletAction::VerifyPresentation { presentation, nonce, audience, .. } => {
				let outcome =
					self.rpc("w3b_verifyPresentation", json!([presentation, nonce, audience]))?;
				println!("{outcome}");
				match outcome["verified"].as_bool() {
					Some(true) => Ok(()),
					_ => {
						Err(WalletError::NotVerified("presentation", outcome["errors"].to_string()))
					}
				}
			}
			WalletAction::Verify { credential, .. } => {
				let outcome = self.rpc("w3b_verifyCredential", json!([credential]))?;
				println!("{outcome}");
				match outcome["verified"].as_bool() {
					Some(true) => Ok(()),
					_ => Err(WalletError::NotVerified("credential", outcome["errors"].to_string())),
				}
			}
		}
	}

	/// The options of the action.
	fn options(&self) -> &WalletOptions {
		match &self.action {
			WalletAction::Init { options }
			| WalletAction::CreateDid { options, .. }
			| WalletAction::Issue { options, .. }
			| WalletAction::ExportProof { options, .. }
			| WalletAction::SetStatus { options, .. }
			| WalletAction::LinkOperator { options, .. }
			| WalletAction::Present { options, .. }
			| WalletAction::VerifyPresentation { options, .. }
			| WalletAction::Verify { options, .. } => options,
		}
	}

	/// The node's keystore, as `key insert` finds it.
	fn keystore<C: SubstrateCli>(&self, cli: &C) -> Result<KeystorePtr, WalletError> {
		let keystore_error = |e: &dyn std::fmt::Display| WalletError::Keystore(e.to_string());
		let base_path = self
			.options()
			.shared_params
			.base_path()
			.map_err(|e| keystore_error(&e))?
			.unwrap_or_else(|| sc_service::BasePath::from_project("", "", &C::executable_name()));
		let chain_id = self.options().shared_params.chain_id(self.options().shared_params.is_dev());
		let chain_spec = cli.load_spec(&chain_id).map_err(|e| keystore_error(&e))?;
		let config_dir = base_path.config_dir(chain_spec.id());
		match self
			.options()
			.keystore_params
			.keystore_config(&config_dir)
			.map_err(|e| keystore_error(&e))?
		{
			sc_service::config::KeystoreConfig::Path { path, password } => {
				let keystore = sc_keystore::LocalKeystore::open(path, password)
					.map_err(|e| keystore_error(&e))?;
				Ok(std::sync::Arc::new(keystore))
			}
			_ => Err(WalletError::Keystore("only a keystore on disk holds the wallet".into())),
		}
	}

	/// The node the wallet talks to.
	fn chain(&self) -> ChainRpc {
		ChainRpc::new(&self.options().rpc_url)
	}

	/// Polls `done` until it holds, with progress on stderr.
	fn wait(
		&self,
		what: &'static str,
		done: impl FnMut() -> Result<bool, WalletError>,
	) -> Result<(), WalletError> {
		self.chain().wait("wallet", what, done)
	}

	/// Calls `method` with `params` on the node.
	fn rpc(&self, method: &str, params: Value) -> Result<Value, WalletError> {
		Ok(self.chain().call(method, params)?)
	}

	fn create_did(&self, keystore: &KeystorePtr, payer: &str) -> Result<(), WalletError> {
		let public = identity_key(keystore).ok_or(WalletError::NoKey)?;
		let key = DeviceKey::Ed25519(public.0);
		let did = did_id_of(&key);
		let payer = signer_pair("--payer", payer)?;
		let chain = self.chain().info()?;
		let mut creation =
			DidCreation::new(key.clone(), payer.public().into(), chain.best + VALIDITY_BLOCKS);
		creation.assertion = Some(key);
		let signature = sign(keystore, &public, creation.signing_hash(&chain.genesis))?;
		self.chain().submit(
			&payer,
			&chain,
			pallet_did::Call::create { creation, signature }.into(),
		)?;
		self.wait("the DID's creation", || {
			let resolved = self.rpc("w3b_resolveDid", json!([format_did(&did)]))?;
			Ok(!resolved["didDocument"]["assertionMethod"].is_null())
		})?;
		println!("{}", json!({"did": format_did(&did)}));
		Ok(())
	}

	/// Signs a credential of `credential_type` about `subject` (its claims, with its
	/// `id`), anchors it (about `subject_did` if a `did:w3b` DID) with a random free
	/// status-list index, and returns it.
	#[allow(clippy::too_many_arguments)]
	fn issue(
		&self,
		keystore: &KeystorePtr,
		credential_type: &str,
		subject: Value,
		subject_did: Option<DidId>,
		status_base: &str,
		valid_days: Option<u64>,
		payer: &str,
	) -> Result<String, WalletError> {
		let public = identity_key(keystore).ok_or(WalletError::NoKey)?;
		let key = DeviceKey::Ed25519(public.0);
		let issuer = did_id_of(&key);
		let issuer_name = format_did(&issuer);
		// A random free index: an index says nothing about the order of issuance.
		let index = loop {
			let index = rand::random::<u32>() % STATUS_LIST_LENGTH;
			if self.rpc("w3b_statusEntry", json!([issuer_name, index]))?.is_null() {
				break index;
			}
		};
		let now = w3b_ingest::now_ms() / 1000;
		let mut credential = json!({
			"@context": [VC_CONTEXT],
			"type": ["VerifiableCredential", credential_type],
			"issuer": issuer_name,
			"validFrom": date_time(now),
			"credentialSubject": subject,
			"credentialStatus": status_entries(status_base, &issuer_name, index),
		});
		if let Some(days) = valid_days {
			credential["validUntil"] = json!(date_time(now + days * 86_400));
		}
		let kid = w3b_ssi::verification_method_id(&issuer, &key);
		let compact = identity_jws(keystore, &public, credential_header(&kid), &credential)?;
		let hash = credential_hash_of(&Jws::parse(&compact).expect("made just above").payload);
		let payer = signer_pair("--payer", payer)?;
		let chain = self.chain().info()?;
		let anchor = CredentialAnchor {
			issuer,
			hash,
			credential_type: credential_type_of(credential_type),
			subject: subject_did,
			status_index: index,
			submitter: payer.public().into(),
			valid_until: chain.best + VALIDITY_BLOCKS,
		};
		let signature = sign(keystore, &public, anchor.signing_hash(&chain.genesis))?;
		self.chain().submit(
			&payer,
			&chain,
			pallet_credentials::Call::anchor { anchor, signature }.into(),
		)?;
		self.wait("the credential's anchoring", || {
			Ok(!self.rpc("w3b_getCredential", json!([issuer_name, hash]))?.is_null())
		})?;
		Ok(compact)
	}

	fn set_status(
		&self,
		keystore: &KeystorePtr,
		credential: &str,
		status: &str,
		payer: &str,
	) -> Result<(), WalletError> {
		let public = identity_key(keystore).ok_or(WalletError::NoKey)?;
		let hash: H256 = if credential.starts_with("0x") {
			credential
				.parse()
				.map_err(|_| WalletError::Argument(format!("{credential:?} is not a hash")))?
		} else {
			let jws = Jws::parse(credential).map_err(|e| WalletError::Argument(e.to_string()))?;
			credential_hash_of(&jws.payload)
		};
		let issuer = did_id_of(&DeviceKey::Ed25519(public.0));
		let issuer_name = format_did(&issuer);
		let record = self.rpc("w3b_getCredential", json!([issuer_name, hash]))?;
		if record.is_null() {
			return Err(WalletError::Argument(format!(
				"this wallet ({issuer_name}) anchored no credential {hash:?}"
			)));
		}
		let revision = record["revision"].as_u64().unwrap_or_default() as u32 + 1;
		let status = match status {
			"revoked" => CredentialStatus::Revoked,
			"suspended" => CredentialStatus::Suspended,
			_ => CredentialStatus::Active,
		};
		let payer = signer_pair("--payer", payer)?;
		let chain = self.chain().info()?;
		let change = StatusChange {
			issuer,
			hash,
			revision,
			status,
			valid_until: chain.best + VALIDITY_BLOCKS,
		};
		let signature = sign(keystore, &public, change.signing_hash(&chain.genesis))?;
		self.chain().submit(
			&payer,
			&chain,
			pallet_credentials::Call::set_status { change, signature }.into(),
		)?;
		self.wait("the status change", || {
			let record = self.rpc("w3b_getCredential", json!([issuer_name, hash]))?;
			Ok(record["revision"].as_u64() == Some(u64::from(revision)))
		})?;
		println!("{}", self.rpc("w3b_getCredential", json!([issuer_name, hash]))?);
		Ok(())
	}
}

/// Blocks a signed operation stays valid for (the chain accepts up to 1,200).
const VALIDITY_BLOCKS: u32 = 100;

/// The wallet's identity key, if the keystore has one.
pub fn identity_key(keystore: &KeystorePtr) -> Option<ed25519::Public> {
	keystore.ed25519_public_keys(IDENTITY_KEY_TYPE).into_iter().next()
}

/// `payload` as a compact JWS with the protected `header`, signed by the identity key
/// `public` (EdDSA).
pub fn identity_jws(
	keystore: &KeystorePtr,
	public: &ed25519::Public,
	header: Value,
	payload: &Value,
) -> Result<String, WalletError> {
	encode(header, payload, &DeviceKey::Ed25519(public.0), |input| {
		keystore
			.ed25519_sign(IDENTITY_KEY_TYPE, public, input)
			.ok()
			.flatten()
			.map(|signature| signature.0.to_vec())
	})
	.map_err(|e| WalletError::Keystore(e.to_string()))
}

/// The identity key's signature of `hash`, as the chain checks DID-signed requests.
fn sign(
	keystore: &KeystorePtr,
	public: &ed25519::Public,
	hash: H256,
) -> Result<DeviceSignature, WalletError> {
	keystore
		.ed25519_sign(IDENTITY_KEY_TYPE, public, hash.as_bytes())
		.map_err(|e| WalletError::Keystore(e.to_string()))?
		.map(|signature| DeviceSignature::Ed25519(signature.0))
		.ok_or(WalletError::NoKey)
}
