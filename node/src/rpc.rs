//! The node's JSON-RPC methods beyond Substrate's defaults: account nonces
//! (`system_accountNextIndex`), fee queries (`payment_*`) and the W3bstream protocol
//! methods (`w3b_*`, see the `w3b-rpc` crate), with the stream of finalized proofs
//! they serve to subscribers.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use w3b_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce};

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The node's W3bstream data.
	pub data: w3b_rpc::NodeData,
}

/// Builds the RPC module with the node's methods.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ w3b_primitives::api::W3bstreamApi<Block, AccountId, Balance, BlockNumber>
		+ BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};
	use w3b_rpc::{W3b, W3bApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, data } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(
		W3b::<_, Block, AccountId, Balance, BlockNumber>::new(client).with_data(data).into_rpc(),
	)?;

	Ok(module)
}

/// The proofs finalized in each block GRANDPA finalizes from now on (the runtime's
/// account of every newly final block, in order).
pub fn finalized_proofs(client: Arc<crate::client::FullClient>) -> w3b_rpc::ProofStream {
	use futures::StreamExt;
	use sc_client_api::BlockchainEvents;
	use serde_json::json;
	use sp_api::ProvideRuntimeApi;
	use w3b_primitives::api::W3bstreamApi;

	client
		.finality_notification_stream()
		.flat_map(move |notification| {
			let mut blocks: Vec<_> = notification.tree_route.to_vec();
			blocks.push(notification.hash);
			let mut proofs = Vec::new();
			for hash in blocks {
				let number = client.number(hash).ok().flatten();
				let finalized = match client.runtime_api().finalized_proofs(hash) {
					Ok(finalized) => finalized,
					Err(e) => {
						log::warn!(target: "w3b", "reading the proofs finalized in {hash}: {e}");
						continue;
					}
				};
				for proof in finalized {
					// The state roots are in the stored proof, not in the event.
					let stored = client
						.runtime_api()
						.proof(hash, proof.project, proof.batch_seq)
						.ok()
						.flatten();
					proofs.push(json!({
						"project": proof.project,
						"batchSeq": proof.batch_seq,
						"outputRoot": proof.output_root,
						"stateRoot": stored.as_ref().and_then(|p| p.state_root),
						"previousStateRoot": stored.and_then(|p| p.previous_state_root),
						"agreed": proof.agreed,
						"dissenters": proof.dissenters,
						"blockNumber": number,
						"blockHash": hash,
					}));
				}
			}
			futures::stream::iter(proofs)
		})
		.boxed()
}
