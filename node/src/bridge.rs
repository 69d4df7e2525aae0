//! The bridge signer: a validator's node signs the bridge batches and hand-overs of each
//! finalized block with its `w3b_` key and sends the signatures to the chain
//! (`bridge.signBatch` / `bridge.signSetChange`, general transactions that the signature
//! authorizes), where relayers read them.
//!
//! Only finalized blocks are read: a batch that a reorganisation could replace by another
//! with the same nonce is never signed, so no two batches of one nonce ever carry valid
//! signatures. What is not on chain yet is asked again at every finalized block, and a
//! signature is sent again once [`RESEND_AFTER`] finalized blocks passed without it
//! landing (the pool dropped it); not sooner, so that the pool does not check the same
//! signature every block.

use std::{collections::HashMap, sync::Arc};

use futures::StreamExt;
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::{TransactionPool, TransactionSource};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_keystore::KeystorePtr;
use sp_runtime::traits::Header as _;
use w3b_primitives::{
	api::BridgeApi,
	bridge::{to_eth_signature, BridgeAuthorityId, BridgeMessage, BRIDGE_KEY_TYPE},
};
use w3b_runtime::RuntimeCall;

use crate::{client::FullClient, worker::Pool};

/// Most messages signed per key and finalized block.
const MAX_PER_BLOCK: u32 = 64;
/// Finalized blocks after which a signature not on chain yet is sent again.
const RESEND_AFTER: u32 = 10;

/// Signs what each finalized block asks of the bridge keys in `keystore`, for as long
/// as the node runs.
pub async fn run(client: Arc<FullClient>, pool: Arc<Pool>, keystore: KeystorePtr) {
	let mut finality = client.finality_notification_stream();
	// The finalized block number each message was last sent at, by key.
	let mut sent: HashMap<(BridgeAuthorityId, BridgeMessage), u32> = HashMap::new();
	while let Some(finalized) = finality.next().await {
		let number = *finalized.header.number();
		sent.retain(|_, at| number < *at + RESEND_AFTER);
		for key in keystore.ecdsa_public_keys(BRIDGE_KEY_TYPE) {
			let key = BridgeAuthorityId::from(key);
			let to_sign = match client.runtime_api().bridge_to_sign(
				finalized.hash,
				key.clone(),
				MAX_PER_BLOCK,
			) {
				Ok(to_sign) => to_sign,
				Err(e) => {
					log::warn!(target: "w3b::bridge", "reading what to sign: {e}");
					continue;
				}
			};
			for (message, signer, digest) in to_sign {
				if sent.contains_key(&(key.clone(), message.clone())) {
					continue;
				}
				let signature =
					match keystore.ecdsa_sign_prehashed(BRIDGE_KEY_TYPE, key.as_ref(), &digest.0) {
						Ok(Some(signature)) => to_eth_signature(signature),
						other => {
							log::warn!(target: "w3b::bridge", "signing {message:?}: {other:?}");
							continue;
						}
					};
				sent.insert((key.clone(), message.clone()), number);
				let call = match message {
					BridgeMessage::Batch { chain, nonce } => {
						pallet_bridge::Call::sign_batch { chain, nonce, signer, signature }
					}
					BridgeMessage::SetChange { chain, set_id } => {
						pallet_bridge::Call::sign_set_change { chain, set_id, signer, signature }
					}
				};
				let xt = w3b_runtime::general_transaction(RuntimeCall::Bridge(call));
				let best = client.info().best_hash;
				match pool.submit_one(best, TransactionSource::Local, xt.into()).await {
					Ok(_) => log::debug!(target: "w3b::bridge", "✍️  signed {message:?}"),
					// Still in the pool from an earlier block, most likely.
					Err(e) => {
						log::debug!(target: "w3b::bridge", "signature for {message:?} not pooled: {e}")
					}
				}
			}
		}
	}
}
