//! `/w3b/batch/1`: the libp2p request-response protocol through which operators fetch
//! the body of a committed batch they lack; and [`Peers`], the requester shared with
//! `/w3b/state/1`. A request is the body's CIDv1 (36 bytes);
//! the response is the body, or nothing when the peer does not have it. The requester
//! asks several peers at once (the next ones in turn on every request), takes the first
//! answer that is what the CID names and stores it; the worker checks it against each
//! commitment naming the CID when it loads it (size, count, Merkle root), so a peer can
//! waste its time but never feed it a wrong batch; a peer answering other bytes loses
//! reputation. The requester votes a body unavailable only once every connected peer
//! was asked and does not serve it (see `fetch::Tally::covered`): a peer that never
//! answers delays that vote on a withheld body, no more.

use std::{
	collections::{HashMap, HashSet},
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc, RwLock,
	},
	time::Duration,
};

use futures::{stream::FuturesUnordered, StreamExt};
use w3b_primitives::BatchHeader;

use sc_network::{
	request_responses::{IncomingRequest, OutgoingResponse},
	service::traits::NetworkService,
	IfDisconnected, NetworkBackend, PeerId, ProtocolName, ReputationChange,
};
use sc_network_sync::SyncingService;
use w3b_runtime::opaque::Block;
use w3b_storage::{Cid, Vfs};

type Hash = <Block as sp_runtime::traits::Block>::Hash;

/// The protocol's name.
pub const PROTOCOL: &str = "/w3b/batch/1";
/// Largest body served or accepted: the largest the chain lets a batch commit.
pub const MAX_BODY: u64 = w3b_primitives::batch::MAX_BATCH_BYTES;
/// Peers asked at once for one answer.
const PEERS_AT_ONCE: usize = 4;
/// How long one peer may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests waiting to be served before new ones are refused.
const INBOUND_QUEUE: usize = 64;

/// The protocol's network configuration and the queue its requests arrive on.
pub fn config<N: NetworkBackend<Block, Hash>>(
) -> (N::RequestResponseProtocolConfig, async_channel::Receiver<IncomingRequest>) {
	request_response_config::<N>(PROTOCOL, 64, MAX_BODY)
}

/// The network configuration of a worker protocol `name` taking requests up to
/// `max_request` bytes and answering up to `max_response`, and the bounded queue its
/// requests arrive on (past [`INBOUND_QUEUE`] waiting, new ones are refused).
pub fn request_response_config<N: NetworkBackend<Block, Hash>>(
	name: &'static str,
	max_request: u64,
	max_response: u64,
) -> (N::RequestResponseProtocolConfig, async_channel::Receiver<IncomingRequest>) {
	let (sender, receiver) = async_channel::bounded(INBOUND_QUEUE);
	let config = N::request_response_config(
		name.into(),
		Vec::new(),
		max_request,
		max_response,
		REQUEST_TIMEOUT,
		Some(sender),
	);
	(config, receiver)
}

/// How much one peer may be served per [`SERVE_WINDOW`], over each worker protocol: an
/// operator fetching every body it looks ahead for at the largest size stays within it
/// (a refusal counts towards its giving up on the body), a peer asking for the same public
/// data over and over only gets its share of the upload.
const SERVE_BUDGET: u64 = super::execute::LOOK_AHEAD * MAX_BODY;
/// What a request costs the budget at least, answered or not: a flood of requests for
/// what this node does not have is not free.
const REQUEST_COST: usize = 64 << 10;
/// The window the serve budget is counted over.
const SERVE_WINDOW: Duration = Duration::from_secs(10);

/// Bytes served to each peer in the current window, so that no peer takes more than
/// [`SERVE_BUDGET`] of this node's upload per [`SERVE_WINDOW`].
#[derive(Default)]
pub struct ServeBudget {
	window_started: Option<std::time::Instant>,
	served: HashMap<PeerId, u64>,
}

impl ServeBudget {
	/// Whether `peer` may be served now.
	pub fn allows(&mut self, peer: &PeerId) -> bool {
		let now = std::time::Instant::now();
		if self.window_started.is_none_or(|started| now - started >= SERVE_WINDOW) {
			self.window_started = Some(now);
			self.served.clear();
		}
		self.served.get(peer).copied().unwrap_or(0) < SERVE_BUDGET
	}

	/// Counts an answer of `bytes` to `peer`.
	pub fn record(&mut self, peer: PeerId, bytes: usize) {
		*self.served.entry(peer).or_default() += bytes.max(REQUEST_COST) as u64;
	}
}

/// Bytes of answers this node holds for peers at once, over both worker protocols: a
/// budget per peer does not bound the node, since peer ids cost nothing.
pub const MAX_ANSWERS_IN_FLIGHT: usize = 256 << 20;

/// The answers held for peers until the network has them written out: each holds its
/// bytes' place from when it is made until the network reports it sent or failed (at
/// most twice the request timeout). Past [`MAX_ANSWERS_IN_FLIGHT`] requests are refused
/// as over budget.
#[derive(Clone)]
pub struct AnswersInFlight(Arc<tokio::sync::Semaphore>);

impl AnswersInFlight {
	/// Room for `bytes` of answers.
	pub fn new(bytes: usize) -> Self {
		AnswersInFlight(Arc::new(tokio::sync::Semaphore::new(bytes)))
	}

	/// A place for an answer of `bytes`, held until the returned sender (the answer's
	/// `sent_feedback`) is fired or dropped; `None` when there is no room now.
	pub fn hold(&self, bytes: usize) -> Option<futures::channel::oneshot::Sender<()>> {
		let place = self.0.clone().try_acquire_many_owned(bytes.max(1) as u32).ok()?;
		let (sent, done) = futures::channel::oneshot::channel();
		tokio::spawn(async move {
			let _ = tokio::time::timeout(2 * REQUEST_TIMEOUT, done).await;
			drop(place);
		});
		Some(sent)
	}
}

/// The answer to a request refused because its peer used up its serve budget: no
/// reputation change (it may be a catching-up operator), it asks again later.
pub fn over_budget(request: IncomingRequest) {
	log::debug!(target: "w3b", "peer {} is over its serve budget", request.peer);
	let _ = request.pending_response.send(OutgoingResponse {
		result: Err(()),
		reputation_changes: Vec::new(),
		sent_feedback: None,
	});
}

/// Bodies this node refuses to serve: only a byzantine test node fills it.
pub type Withheld = Arc<RwLock<HashSet<Cid>>>;

/// Answers requests from the local VFS until the network stops.
pub async fn serve(
	requests: async_channel::Receiver<IncomingRequest>,
	vfs: Arc<dyn Vfs>,
	withheld: Withheld,
	in_flight: AnswersInFlight,
) {
	let mut budget = ServeBudget::default();
	while let Ok(request) = requests.recv().await {
		if !budget.allows(&request.peer) {
			over_budget(request);
			continue;
		}
		let result = match Cid::from_bytes(&request.payload) {
			Ok(cid) if withheld.read().is_ok_and(|w| w.contains(&cid)) => Ok(Vec::new()),
			Ok(cid) => {
				// A body is up to 32 MiB read from disk: off the async runtime.
				let vfs = vfs.clone();
				let read = tokio::task::spawn_blocking(move || vfs.get(&cid)).await;
				Ok(read.ok().and_then(Result::ok).flatten().unwrap_or_default())
			}
			Err(_) => Err(()),
		};
		let (reputation_changes, sent_feedback) = match &result {
			Ok(body) => {
				let Some(sent) = in_flight.hold(body.len()) else {
					over_budget(request);
					continue;
				};
				budget.record(request.peer, body.len());
				(Vec::new(), Some(sent))
			}
			Err(()) => {
				(vec![ReputationChange::new(-(1 << 10), "w3b: malformed batch request")], None)
			}
		};
		let _ = request.pending_response.send(OutgoingResponse {
			result,
			reputation_changes,
			sent_feedback,
		});
	}
}

/// Asks connected peers for what the worker lacks (batch bodies here, agreed changes
/// in [`super::state_protocol`]).
#[derive(Clone)]
pub struct Peers {
	network: Arc<dyn NetworkService>,
	sync: Arc<SyncingService<Block>>,
	/// Where in the list of connected peers the next request starts: each request asks
	/// the next ones, so peers that never answer cannot keep a node from the others.
	rotation: Arc<AtomicUsize>,
}

impl Peers {
	/// Requests over the node's network.
	pub fn new(network: Arc<dyn NetworkService>, sync: Arc<SyncingService<Block>>) -> Self {
		Peers { network, sync, rotation: Default::default() }
	}

	/// Asks [`PEERS_AT_ONCE`] connected peers for `request` over `protocol` at once (the
	/// next ones in turn: a request tried again reaches other peers) and returns the
	/// first answer `check` accepts. An empty answer means the peer does not have it; an
	/// answer `check` refuses costs its peer reputation.
	pub async fn first_valid<T, Check, Checked>(
		&self,
		protocol: &'static str,
		request: Vec<u8>,
		check: Check,
	) -> Result<T, NoAnswer>
	where
		Check: Fn(Vec<u8>) -> Checked,
		Checked: std::future::Future<Output = Result<T, String>>,
	{
		let mut peers: Vec<PeerId> = match self.sync.peers_info().await {
			Ok(peers) => peers.into_iter().map(|(peer, _)| peer).collect(),
			Err(_) => Vec::new(),
		};
		// A stable order to rotate through (the list comes from a map).
		peers.sort_by_key(|peer| peer.to_bytes());
		if !peers.is_empty() {
			let start = self.rotation.fetch_add(PEERS_AT_ONCE, Ordering::Relaxed);
			let len = peers.len();
			peers.rotate_left(start % len);
		}
		let mut no_answer = NoAnswer { connected: peers.clone(), ..Default::default() };
		let mut asked = FuturesUnordered::new();
		for peer in peers.into_iter().take(PEERS_AT_ONCE) {
			let (network, request) = (self.network.clone(), request.clone());
			asked.push(async move {
				let answer = network
					.request(
						peer,
						ProtocolName::from(protocol),
						request,
						None,
						IfDisconnected::ImmediateError,
					)
					.await;
				(peer, answer)
			});
		}
		while let Some((peer, answer)) = asked.next().await {
			match answer {
				Ok((bytes, _)) if bytes.is_empty() => no_answer.without.push(peer),
				Ok((bytes, _)) => match check(bytes).await {
					Ok(answer) => return Ok(answer),
					Err(e) => {
						log::warn!(target: "w3b", "peer {peer} answered wrong on {protocol}: {e}");
						self.network.report_peer(
							peer,
							ReputationChange::new(-(1 << 12), "w3b: wrong answer"),
						);
						no_answer.without.push(peer);
					}
				},
				Err(e) => {
					log::debug!(target: "w3b", "asking {peer} on {protocol}: {e}");
					no_answer.failed.push(peer);
				}
			}
		}
		Err(no_answer)
	}

	/// The body `header`'s CID names, from the first of the connected peers that sends it
	/// (checked against the CID only: see [`content_of`]).
	pub async fn fetch_body(&self, header: &BatchHeader) -> Result<Vec<u8>, NoAnswer> {
		// A CID that does not parse names no body anyone could serve (the worker votes
		// such a commitment unavailable without asking).
		let Ok(cid) = w3b_storage::body::cid_of(header) else { return Err(NoAnswer::default()) };
		self.first_valid(PROTOCOL, cid.to_bytes(), |body| content_of(cid, body)).await
	}
}

/// How a request to peers went when no peer brought an answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoAnswer {
	/// The peers connected when it was sent (some were asked: see [`Peers::first_valid`]).
	pub connected: Vec<PeerId>,
	/// Peers that answered without it (or with something else).
	pub without: Vec<PeerId>,
	/// Peers that did not answer in time or refused the request (a busy peer's inbound
	/// queue is full): the one that has it may be among them.
	pub failed: Vec<PeerId>,
}

/// Accepts `body` if it is what `cid` names (hashing up to 32 MiB: off the async
/// runtime). Whether it matches the commitment it was asked for is not checked here: a
/// copy of a commitment may name an honest body under another size or count, and the
/// body is what the honest commitment needs; the worker checks it against each
/// commitment when it loads it. A peer sending the body the CID names is never
/// penalised.
async fn content_of(cid: Cid, body: Vec<u8>) -> Result<Vec<u8>, String> {
	tokio::task::spawn_blocking(move || {
		if Cid::of(&body) == cid {
			Ok(body)
		} else {
			Err(format!("bytes that are not {cid}"))
		}
	})
	.await
	.map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Many peers (peer ids cost nothing) asking for large answers they never read hold
	/// at most the room given; an answer sent, or dropped unsent, gives its room back.
	#[tokio::test]
	async fn answers_held_for_peers_are_bounded_across_peers() {
		let room = AnswersInFlight::new(3 * MAX_BODY as usize);
		let mut held: Vec<_> =
			std::iter::from_fn(|| room.hold(MAX_BODY as usize)).take(10).collect();
		assert_eq!(held.len(), 3, "room for three of the largest answers");
		assert!(room.hold(1).is_none(), "an answer held past the room");
		// One is written out, one is dropped by the network: two places come back.
		held.pop().unwrap().send(()).unwrap();
		drop(held.pop());
		let mut freed = None;
		for _ in 0..100 {
			if let Some(place) = room.hold(2 * MAX_BODY as usize) {
				freed = Some(place);
				break;
			}
			tokio::time::sleep(Duration::from_millis(10)).await;
		}
		assert!(freed.is_some(), "a sent answer's room never came back");
		assert!(room.hold(1).is_none());
	}

	#[test]
	fn a_peer_is_served_its_budget_per_window_and_others_theirs() {
		let mut budget = ServeBudget::default();
		let (greedy, other) = (PeerId::random(), PeerId::random());
		let mut served = 0;
		while budget.allows(&greedy) {
			budget.record(greedy, MAX_BODY as usize);
			served += MAX_BODY;
			assert!(served <= SERVE_BUDGET + MAX_BODY, "the budget never ends");
		}
		assert_eq!(served, SERVE_BUDGET, "a catch-up of the look-ahead fits");
		// Empty answers cost too.
		let flooder = PeerId::random();
		let mut requests = 0;
		while budget.allows(&flooder) {
			budget.record(flooder, 0);
			requests += 1;
		}
		assert_eq!(requests, SERVE_BUDGET as usize / REQUEST_COST);
		assert!(budget.allows(&other), "another peer keeps its budget");
		// A new window gives the greedy peer a new budget.
		budget.window_started = Some(std::time::Instant::now() - SERVE_WINDOW);
		assert!(budget.allows(&greedy));
	}
}
