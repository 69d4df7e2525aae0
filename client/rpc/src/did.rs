//! Identity methods: `w3b_resolveDid` (the W3C DID Resolution result of a `did:w3b` DID,
//! read from the runtime's `DidApi` at the best block or at `at`: a DID's earlier
//! versions are its state at earlier blocks), and the credential registry's
//! `w3b_getCredential`, `w3b_statusEntry` and `w3b_verifyCredential` (a VC-JOSE
//! credential checked against the chain at the best block).

use std::{marker::PhantomData, sync::Arc};

use codec::Codec;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde_json::{json, Value};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::H256;
use sp_runtime::traits::Block as BlockT;
use w3b_primitives::{
	api::{CredentialsApi, DidApi, W3bstreamApi},
	credential::CredentialStatus,
	did::{format_did, parse_did, DidId, DidState},
	proof::ProofStatus,
};
use w3b_ssi::verify::{Anchor, Chain, ProofFacts};

use crate::{invalid_params, runtime_error};

/// The identity methods.
#[rpc(server)]
pub trait W3bDidApi<BlockHash> {
	/// The resolution result of `did` (`{didDocument, didResolutionMetadata,
	/// didDocumentMetadata}`, W3C DID Resolution): `didResolutionMetadata.error` is
	/// `notFound`, `invalidDid` or `methodNotSupported` when there is no document;
	/// `didDocumentMetadata.deactivated` is true for a deactivated DID.
	#[method(name = "w3b_resolveDid")]
	fn resolve(&self, did: String, at: Option<BlockHash>) -> RpcResult<Value>;

	/// `issuer`'s anchor of the credential `hash` (`blake2_256` of its signed bytes):
	/// issuer, type, subject, status-list index, `status` (`active`, `suspended` or
	/// `revoked`, as verifiers take it), `statusSince`, `anchoredAt`, `revision`; `null`
	/// if not anchored.
	#[method(name = "w3b_getCredential")]
	fn credential(&self, issuer: String, hash: H256, at: Option<BlockHash>) -> RpcResult<Value>;

	/// The hash of the credential at `index` of `issuer`'s status lists, `null` if the
	/// index is free.
	#[method(name = "w3b_statusEntry")]
	fn status_entry(&self, issuer: String, index: u32) -> RpcResult<Option<H256>>;

	/// Verifies a VC-JOSE credential (compact JWS) against the chain at the best block:
	/// `{verified, hash, issuer, subject, types, status, anchoredAt, errors}`.
	#[method(name = "w3b_verifyCredential", blocking)]
	fn verify_credential(&self, credential: String) -> RpcResult<Value>;

	/// Verifies a VP-JOSE presentation (compact JWS, `typ: vp+jwt`) made for `nonce` and
	/// `audience`: the holder's authentication key signed it, and every credential in it
	/// verifies and is about the holder. `{verified, holder, credentials, errors}`.
	#[method(name = "w3b_verifyPresentation", blocking)]
	fn verify_presentation(
		&self,
		presentation: String,
		nonce: String,
		audience: String,
	) -> RpcResult<Value>;
}

/// Serves [`W3bDidApiServer`] from `C`'s runtime API.
pub struct W3bDid<C, Block, AccountId, Balance, BlockNumber> {
	client: Arc<C>,
	_types: PhantomData<(Block, AccountId, Balance, BlockNumber)>,
}

impl<C, Block, AccountId, Balance, BlockNumber> W3bDid<C, Block, AccountId, Balance, BlockNumber> {
	/// The methods over `client`.
	pub fn new(client: Arc<C>) -> Self {
		W3bDid { client, _types: PhantomData }
	}
}

/// The chain at one block, as a credential verifier reads it.
pub struct ChainAt<'a, C, Block: BlockT, AccountId, Balance, BlockNumber> {
	client: &'a C,
	at: Block::Hash,
	_types: PhantomData<(AccountId, Balance, BlockNumber)>,
}

impl<'a, C, Block: BlockT, AccountId, Balance, BlockNumber>
	ChainAt<'a, C, Block, AccountId, Balance, BlockNumber>
{
	/// The chain as `client` has it at block `at`.
	pub fn new(client: &'a C, at: Block::Hash) -> Self {
		ChainAt { client, at, _types: PhantomData }
	}
}

impl<C, Block, AccountId, Balance, BlockNumber> Chain
	for ChainAt<'_, C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: DidApi<Block, AccountId, Balance, BlockNumber>
		+ CredentialsApi<Block, AccountId, Balance, BlockNumber>
		+ W3bstreamApi<Block, AccountId, Balance, BlockNumber>,
	AccountId: Codec,
	Balance: Codec,
	BlockNumber: Codec + Copy + PartialOrd + Into<u64> + TryFrom<u64>,
{
	type AccountId = AccountId;
	type Balance = Balance;
	type BlockNumber = BlockNumber;

	fn did(&self, did: DidId) -> Result<DidState<AccountId, Balance, BlockNumber>, String> {
		self.client.runtime_api().did(self.at, did).map_err(|e| e.to_string())
	}

	fn anchor(&self, issuer: DidId, hash: H256) -> Result<Option<Anchor>, String> {
		let found = self
			.client
			.runtime_api()
			.credential(self.at, issuer, hash)
			.map_err(|e| e.to_string())?;
		Ok(found.map(|(record, status, since)| Anchor {
			issuer: record.issuer,
			credential_type: record.credential_type,
			subject: record.subject,
			status,
			status_since: since.into(),
			anchored_at: record.anchored_at.into(),
			status_index: record.status_index,
		}))
	}

	fn proof(&self, project: u64, seq: u64) -> Result<Option<ProofFacts>, String> {
		let proof =
			self.client.runtime_api().proof(self.at, project, seq).map_err(|e| e.to_string())?;
		Ok(proof.map(|proof| ProofFacts {
			merkle_root: proof.merkle_root,
			output_root: proof.output_root.filter(|_| proof.status == ProofStatus::Finalized),
		}))
	}

	fn genesis(&self) -> H256 {
		H256::from_slice(self.client.info().genesis_hash.as_ref())
	}
}

/// `status` as the methods write it.
pub fn status_name(status: CredentialStatus) -> &'static str {
	match status {
		CredentialStatus::Active => "active",
		CredentialStatus::Suspended => "suspended",
		CredentialStatus::Revoked => "revoked",
	}
}

impl<C, Block, AccountId, Balance, BlockNumber> W3bDidApiServer<Block::Hash>
	for W3bDid<C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: DidApi<Block, AccountId, Balance, BlockNumber>
		+ CredentialsApi<Block, AccountId, Balance, BlockNumber>
		+ W3bstreamApi<Block, AccountId, Balance, BlockNumber>,
	AccountId: Codec + Send + Sync + 'static,
	Balance: Codec + Send + Sync + 'static,
	BlockNumber: Codec + Copy + PartialOrd + Into<u64> + TryFrom<u64> + Send + Sync + 'static,
{
	fn resolve(&self, did: String, at: Option<Block::Hash>) -> RpcResult<Value> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let found = w3b_ssi::document::resolve(&did, |id| self.client.runtime_api().did(at, id))
			.map_err(runtime_error)?;
		Ok(w3b_ssi::resolution(&found))
	}

	fn credential(&self, issuer: String, hash: H256, at: Option<Block::Hash>) -> RpcResult<Value> {
		let issuer = parse_did(&issuer).map_err(|e| invalid_params(e.to_string()))?;
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let found =
			self.client.runtime_api().credential(at, issuer, hash).map_err(runtime_error)?;
		Ok(found.map_or(Value::Null, |(record, status, since)| {
			json!({
				"hash": hash,
				"issuer": format_did(&record.issuer),
				"credentialType": record.credential_type,
				"subject": record.subject.as_ref().map(format_did),
				"statusIndex": record.status_index,
				"status": status_name(status),
				"statusSince": since.into(),
				"anchoredAt": record.anchored_at.into(),
				"revision": record.revision,
			})
		}))
	}

	fn status_entry(&self, issuer: String, index: u32) -> RpcResult<Option<H256>> {
		let issuer = parse_did(&issuer).map_err(|e| invalid_params(e.to_string()))?;
		let at = self.client.info().best_hash;
		self.client.runtime_api().status_entry(at, issuer, index).map_err(runtime_error)
	}

	fn verify_credential(&self, credential: String) -> RpcResult<Value> {
		let chain = ChainAt::<C, Block, AccountId, Balance, BlockNumber>::new(
			&self.client,
			self.client.info().best_hash,
		);
		Ok(w3b_ssi::verify::verify_credential(&credential, &chain, w3b_ingest::now_ms() / 1000)
			.to_json())
	}

	fn verify_presentation(
		&self,
		presentation: String,
		nonce: String,
		audience: String,
	) -> RpcResult<Value> {
		let chain = ChainAt::<C, Block, AccountId, Balance, BlockNumber>::new(
			&self.client,
			self.client.info().best_hash,
		);
		let outcome = w3b_ssi::verify::verify_presentation(
			&presentation,
			&chain,
			w3b_ingest::now_ms() / 1000,
			&nonce,
			&audience,
		);
		Ok(outcome.to_json())
	}
}
