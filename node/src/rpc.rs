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

type Hash = <Block as sp_runtime::traits::Block>::Hash;

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
		+ w3b_primitives::api::InboundApi<Block, AccountId>
		+ w3b_primitives::api::BridgeApi<Block>
		+ w3b_primitives::api::DidApi<Block, AccountId, Balance, BlockNumber>
		+ w3b_primitives::api::CredentialsApi<Block, AccountId, Balance, BlockNumber>
		+ BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};
	use w3b_rpc::{W3b, W3bApiServer, W3bBridge, W3bBridgeApiServer, W3bDid, W3bDidApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, data } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(W3bBridge::<_, Block>::new(client.clone()).into_rpc())?;
	module.merge(
		W3bDid::<_, Block, AccountId, Balance, BlockNumber>::new(client.clone()).into_rpc(),
	)?;
	module.merge(
		W3b::<_, Block, AccountId, Balance, BlockNumber>::new(client).with_data(data).into_rpc(),
	)?;

	Ok(module)
}

/// Reads the proofs finalized in each block GRANDPA finalizes from now on (the runtime's
/// account of every newly final block, in order), once for every subscriber, off the
/// async threads, and sends them on the returned channel; nothing is read while nobody
/// listens.
pub fn finalized_proofs(
	client: Arc<crate::client::FullClient>,
	spawner: &sc_service::SpawnTaskHandle,
) -> w3b_rpc::ProofBroadcast {
	use futures::StreamExt;
	use sc_client_api::BlockchainEvents;

	// Past this many proofs behind, a subscriber is dropped (see `w3b_rpc`).
	let (sender, _) = tokio::sync::broadcast::channel(4096);
	let proofs = sender.clone();
	spawner.spawn("w3b-finalized-proofs", Some("w3b"), async move {
		let mut notifications = client.finality_notification_stream();
		while let Some(notification) = notifications.next().await {
			if proofs.receiver_count() == 0 {
				continue;
			}
			let mut blocks: Vec<_> = notification.tree_route.to_vec();
			blocks.push(notification.hash);
			let client = client.clone();
			let read = tokio::task::spawn_blocking(move || read_finalized_proofs(&client, blocks));
			for proof in read.await.unwrap_or_default() {
				let _ = proofs.send(proof);
			}
		}
	});
	sender
}

/// The proofs finalized in `blocks`, as `w3b_subscribeFinalizedProofs` sends them.
fn read_finalized_proofs(
	client: &crate::client::FullClient,
	blocks: Vec<Hash>,
) -> Vec<serde_json::Value> {
	use serde_json::json;
	use sp_api::ProvideRuntimeApi;
	use w3b_primitives::api::W3bstreamApi;

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
			let stored =
				client.runtime_api().proof(hash, proof.project, proof.batch_seq).ok().flatten();
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
	proofs
}
