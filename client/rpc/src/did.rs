//! `w3b_resolveDid`: the W3C DID Resolution result of a `did:w3b` DID, read from the
//! runtime's `DidApi` at the best block or at `at` (a DID's earlier versions are its
//! state at earlier blocks).

use std::{marker::PhantomData, sync::Arc};

use codec::Codec;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde_json::Value;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_runtime::traits::Block as BlockT;
use w3b_primitives::api::DidApi;

use crate::runtime_error;

/// The DID methods.
#[rpc(server)]
pub trait W3bDidApi<BlockHash> {
	/// The resolution result of `did` (`{didDocument, didResolutionMetadata,
	/// didDocumentMetadata}`, W3C DID Resolution): `didResolutionMetadata.error` is
	/// `notFound`, `invalidDid` or `methodNotSupported` when there is no document;
	/// `didDocumentMetadata.deactivated` is true for a deactivated DID.
	#[method(name = "w3b_resolveDid")]
	fn resolve(&self, did: String, at: Option<BlockHash>) -> RpcResult<Value>;
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

impl<C, Block, AccountId, Balance, BlockNumber> W3bDidApiServer<Block::Hash>
	for W3bDid<C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: DidApi<Block, AccountId, Balance, BlockNumber>,
	AccountId: Codec + Send + Sync + 'static,
	Balance: Codec + Send + Sync + 'static,
	BlockNumber: Codec + Copy + Into<u64> + Send + Sync + 'static,
{
	fn resolve(&self, did: String, at: Option<Block::Hash>) -> RpcResult<Value> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let found = w3b_ssi::document::resolve(&did, |id| self.client.runtime_api().did(at, id))
			.map_err(runtime_error)?;
		Ok(w3b_ssi::resolution(&found))
	}
}
