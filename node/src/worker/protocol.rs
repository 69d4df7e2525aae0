//! `/w3b/batch/1`: the libp2p request-response protocol through which operators fetch
//! the body of a committed batch they lack. A request is the body's CIDv1 (36 bytes);
//! the response is the body, or nothing when the peer does not have it. The requester
//! checks the body against the CID and the commitment, so a peer can waste its time but
//! never feed it a wrong batch.

use std::{sync::Arc, time::Duration};

use sc_network::{
	request_responses::{IncomingRequest, OutgoingResponse},
	service::traits::NetworkService,
	IfDisconnected, NetworkBackend, ProtocolName, ReputationChange,
};
use sc_network_sync::SyncingService;
use w3b_runtime::opaque::Block;
use w3b_storage::{Cid, Vfs};

type Hash = <Block as sp_runtime::traits::Block>::Hash;

/// The protocol's name.
pub const PROTOCOL: &str = "/w3b/batch/1";
/// Largest body served or accepted.
pub const MAX_BODY: u64 = 64 << 20;
/// How long one peer may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests waiting to be served before new ones are refused.
const INBOUND_QUEUE: usize = 64;

/// The protocol's network configuration and the queue its requests arrive on.
pub fn config<N: NetworkBackend<Block, Hash>>(
) -> (N::RequestResponseProtocolConfig, async_channel::Receiver<IncomingRequest>) {
	let (sender, receiver) = async_channel::bounded(INBOUND_QUEUE);
	let config = N::request_response_config(
		PROTOCOL.into(),
		Vec::new(),
		64,
		MAX_BODY,
		REQUEST_TIMEOUT,
		Some(sender),
	);
	(config, receiver)
}

/// Answers requests from the local VFS until the network stops.
pub async fn serve(requests: async_channel::Receiver<IncomingRequest>, vfs: Arc<dyn Vfs>) {
	while let Ok(request) = requests.recv().await {
		let result = match Cid::from_bytes(&request.payload) {
			Ok(cid) => Ok(vfs.get(&cid).ok().flatten().unwrap_or_default()),
			Err(_) => Err(()),
		};
		let reputation_changes = match result {
			Ok(_) => Vec::new(),
			Err(()) => vec![ReputationChange::new(-(1 << 10), "w3b: malformed batch request")],
		};
		let _ = request.pending_response.send(OutgoingResponse {
			result,
			reputation_changes,
			sent_feedback: None,
		});
	}
}

/// Fetches batch bodies from connected peers.
#[derive(Clone)]
pub struct BatchFetcher {
	network: Arc<dyn NetworkService>,
	sync: Arc<SyncingService<Block>>,
}

impl BatchFetcher {
	/// A fetcher over the node's network.
	pub fn new(network: Arc<dyn NetworkService>, sync: Arc<SyncingService<Block>>) -> Self {
		BatchFetcher { network, sync }
	}

	/// The body with CID `cid` from the first peer that has it, checked against the
	/// CID; `None` when no connected peer has it.
	pub async fn fetch(&self, cid: &Cid) -> Option<Vec<u8>> {
		let peers = self.sync.peers_info().await.ok()?;
		for (peer, _) in peers {
			match self
				.network
				.request(
					peer,
					ProtocolName::from(PROTOCOL),
					cid.to_bytes(),
					None,
					IfDisconnected::ImmediateError,
				)
				.await
			{
				Ok((body, _)) if !body.is_empty() && Cid::of(&body) == *cid => return Some(body),
				Ok((body, _)) if !body.is_empty() => {
					log::warn!(target: "w3b", "peer {peer} answered {cid} with other content");
				}
				Ok(_) => {}
				Err(e) => log::debug!(target: "w3b", "fetching {cid} from {peer}: {e}"),
			}
		}
		None
	}
}
