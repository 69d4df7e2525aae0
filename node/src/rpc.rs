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

/// The proofs finalized in each block GRANDPA finalizes from now on (read from the
/// `ProofFinalized` events of every newly final block, in order).
pub fn finalized_proofs(client: Arc<crate::client::FullClient>) -> w3b_rpc::ProofStream {
	use futures::StreamExt;
	use sc_client_api::{BlockchainEvents, StorageProvider};
	use serde_json::json;

	// `System::Events`: twox128("System") ++ twox128("Events").
	let events_key = sp_core::storage::StorageKey(
		[sp_io::hashing::twox_128(b"System"), sp_io::hashing::twox_128(b"Events")].concat(),
	);
	client
		.finality_notification_stream()
		.flat_map(move |notification| {
			let mut blocks: Vec<_> = notification.tree_route.to_vec();
			blocks.push(notification.hash);
			let mut proofs = Vec::new();
			for hash in blocks {
				let number = client.number(hash).ok().flatten();
				let Ok(Some(raw)) = client.storage(hash, &events_key) else { continue };
				let Ok(records) = <Vec<
					frame_system::EventRecord<w3b_runtime::RuntimeEvent, w3b_runtime::Hash>,
				> as codec::Decode>::decode(&mut &raw.0[..]) else {
					log::warn!(target: "w3b", "undecodable events in block {hash}");
					continue;
				};
				for record in records {
					if let w3b_runtime::RuntimeEvent::Attestations(
						pallet_attestations::Event::ProofFinalized {
							project,
							batch_seq,
							output_root,
							agreed,
							dissenters,
						},
					) = record.event
					{
						proofs.push(json!({
							"project": project,
							"batchSeq": batch_seq,
							"outputRoot": output_root,
							"agreed": agreed,
							"dissenters": dissenters,
							"blockNumber": number,
							"blockHash": hash,
						}));
					}
				}
			}
			futures::stream::iter(proofs)
		})
		.boxed()
}
