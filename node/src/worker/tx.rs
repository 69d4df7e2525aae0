//! Transactions the worker sends as its operator: signed in the keystore with the
//! operator key ([`super::OPERATOR_KEY_TYPE`]), numbered with a local nonce so that
//! several can wait in the pool at once, and remembered until a final block used their
//! nonce (what a reorganisation took out of the best chain may still land). When the
//! pool dropped a transaction (and with it every later one of ours, which depend on
//! it), they are sent again in order with their nonces, at most [`MAX_RESENDS`] times.
//! When that does not help (the pool refuses one now, or it was resent enough), the
//! calls from the stuck nonce on are signed again with new nonces from the chain's, once
//! ([`MAX_RENUMBERS`]), skipping only those the pool refuses: a vote the worker counts
//! as cast is not lost because the call before it was.
//!
//! The calls sent are also kept in a journal file, written before each reaches the
//! pool: the transactions are immortal, so after a crash they may still sit in the
//! peers' pools and land. A restarted node reads the journal and counts them as sent
//! (resending them under their own nonces if they were lost) instead of signing the
//! same votes again under new nonces, which the chain would refuse for a fee.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	sync::Arc,
};

use codec::{Decode, Encode};
use frame_system_rpc_runtime_api::AccountNonceApi;
use sc_client_api::BlockBackend;
use sc_transaction_pool_api::{
	error::{Error as PoolError, IntoPoolError},
	InPoolTransaction, TransactionPool, TransactionSource,
};
use sp_api::{Core, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::sr25519;
use sp_keystore::KeystorePtr;
use sp_runtime::{MultiSignature, OpaqueExtrinsic};
use w3b_runtime::{opaque::Block, AccountId, BlockNumber, Nonce, RuntimeCall};

use crate::client::FullClient;

type Hash = <Block as sp_runtime::traits::Block>::Hash;
/// The node's transaction pool.
pub type Pool = sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;

/// Blocks the chain's nonce may stay behind ours, after it last moved and after the
/// transaction with it was sent, before we assume that transaction was dropped.
const NONCE_STALL_BLOCKS: BlockNumber = 10;
/// Times one transaction is sent again before its nonce goes to the next call.
const MAX_RESENDS: u32 = 2;
/// Times one call is signed again with a new nonce after its nonce got stuck.
const MAX_RENUMBERS: u32 = 1;
/// Most finalized blocks whose transactions are matched against the calls sent at once
/// (after finality stalled, the rest wait for the next blocks).
const MAX_BLOCKS_CHECKED: BlockNumber = 64;
/// Times a call whose nonce another transaction took is offered to the pool again.
const MAX_SIGN_AGAIN_TRIES: u32 = 3;
/// Most calls remembered while finality stalls: past it new calls are refused (and tried
/// again later by their callers) rather than the oldest forgotten, which are the ones a
/// resend needs.
const MAX_REMEMBERED: usize = 4_096;

/// The signed calls waiting in `pool` (ready or not), with their signers.
pub fn pooled_calls(pool: &Pool) -> Vec<(AccountId, RuntimeCall)> {
	let ready = pool.ready().map(|tx| tx.data().encode()).collect::<Vec<_>>();
	let future = pool.futures().into_iter().map(|tx| tx.data().encode());
	ready
		.into_iter()
		.chain(future)
		.filter_map(|bytes| signed(&bytes).map(|(who, _, call)| (who, call)))
		.collect()
}

/// The signer, nonce and call of the encoded transaction `bytes`, if it is a signed one.
fn signed(bytes: &[u8]) -> Option<(AccountId, Nonce, RuntimeCall)> {
	let xt = w3b_runtime::UncheckedExtrinsic::decode(&mut &bytes[..]).ok()?;
	w3b_runtime::signed_parts(xt)
}

/// A call sent with a nonce.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
struct Sent {
	call: RuntimeCall,
	/// The best block number it was last sent on.
	at: BlockNumber,
	/// Times it was sent again.
	resends: u32,
	/// Times it was signed again with a new nonce.
	renumbers: u32,
	/// The runtime's spec version it was signed for.
	spec_version: u32,
}

/// How the pool took a transaction.
enum Pooled {
	/// It is in the pool now.
	Added,
	/// The pool already holds one of ours with the same nonce (the same call, or one
	/// that took the nonce after a renumbering).
	NonceTaken,
}

/// The first bytes of a journal file: its format.
const JOURNAL_FORMAT: &[u8] = b"w3b-operator-transactions-3\n";

/// Whose calls a journal holds: the chain (genesis hash), the signing account, and the
/// runtime's transaction version the calls were encoded for. A journal of another owner
/// (the base path reused for another chain, a rotated key, an upgrade that changed the
/// calls' encoding) is not this node's to resend.
type JournalOwner = (Hash, AccountId, u32);

/// What a journal keeps.
#[derive(Clone, Debug, Default, PartialEq, Encode, Decode)]
struct Journaled {
	/// The calls sent, by nonce, until the finalized chain's nonce passed theirs.
	sent: BTreeMap<Nonce, Sent>,
	/// The last finalized block whose transactions were matched against `sent`: a
	/// restarted node goes on from it, so that a call another transaction displaced
	/// while the node was down is signed again too.
	checked_to: Option<BlockNumber>,
	/// Calls whose nonce another transaction took, to sign again, with the times the
	/// pool refused them so far.
	sign_again: Vec<(RuntimeCall, u32)>,
}

/// The file keeping the calls sent until a final block used their nonces.
struct Journal {
	path: PathBuf,
	owner: JournalOwner,
}

impl Journal {
	/// What the journal at `path` holds for `owner`: nothing if there is no file, or if
	/// it cannot be read (written by another version, say) or belongs to another owner,
	/// which is logged: the node then works as one that never sent anything.
	fn load(path: &Path, owner: JournalOwner) -> (Self, Journaled) {
		let journal = Journal { path: path.to_owned(), owner };
		let bytes = match std::fs::read(path) {
			Ok(bytes) => bytes,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return (journal, Journaled::default())
			}
			Err(e) => {
				log::warn!(target: "w3b", "reading {}: {e}: starting with no sent transactions", path.display());
				return (journal, Journaled::default());
			}
		};
		let sent = bytes
			.strip_prefix(JOURNAL_FORMAT)
			.ok_or_else(|| "not a journal of this version".to_string())
			.and_then(|mut rest| {
				let owner = JournalOwner::decode(&mut rest).map_err(|e| e.to_string())?;
				if owner != journal.owner {
					return Err("written for another chain, account or runtime".to_string());
				}
				let journaled = Journaled::decode(&mut rest).map_err(|e| e.to_string())?;
				rest.is_empty().then_some(journaled).ok_or_else(|| "trailing bytes".to_string())
			});
		match sent {
			Ok(journaled) => (journal, journaled),
			Err(e) => {
				log::warn!(target: "w3b", "{}: {e}: starting with no sent transactions", path.display());
				(journal, Journaled::default())
			}
		}
	}

	/// Writes what a [`Journaled`] holds durably. A failure is logged, not returned: the
	/// call still goes out (a node that cannot write its journal should vote rather than
	/// fall silent; after a crash it may then vote twice, for a fee).
	fn save(
		&self,
		sent: &BTreeMap<Nonce, Sent>,
		checked_to: Option<BlockNumber>,
		sign_again: &[(RuntimeCall, u32)],
	) {
		let mut bytes = JOURNAL_FORMAT.to_vec();
		self.owner.encode_to(&mut bytes);
		sent.encode_to(&mut bytes);
		checked_to.encode_to(&mut bytes);
		sign_again.encode_to(&mut bytes);
		if let Err(e) = w3b_worker::durable::write(&self.path, &bytes) {
			log::warn!(target: "w3b", "writing {}: {e}", self.path.display());
		}
	}
}

/// Signs and submits the operator's transactions.
pub struct TxSender {
	client: Arc<FullClient>,
	pool: Arc<Pool>,
	keystore: KeystorePtr,
	operator: sr25519::Public,
	/// The nonce of the next transaction, once one was sent.
	next_nonce: Option<Nonce>,
	/// The chain's nonce for us, and the block it was first seen at.
	chain_nonce: (Nonce, BlockNumber),
	/// The calls sent, by nonce, until the finalized chain's nonce passed theirs.
	sent: BTreeMap<Nonce, Sent>,
	/// Where `sent` is kept across restarts.
	journal: Journal,
	/// Calls were read back from the journal and not looked at yet: they may never have
	/// reached a pool, so they are sent again at once rather than after a stall.
	restored: bool,
	/// The runtime's spec and transaction versions, and the block they were read at.
	versions: Option<(Hash, u32, u32)>,
	/// The last finalized block whose transactions were matched against `sent` (see
	/// [`Journaled`]): none until the first block is observed without a journal (what
	/// was final then is not judged).
	checked_to: Option<BlockNumber>,
	/// Calls whose nonce another transaction took, to sign again, with the times the
	/// pool refused them so far.
	sign_again: Vec<(RuntimeCall, u32)>,
}

impl TxSender {
	/// A sender for `operator`, whose key is in `keystore`, keeping the calls it sent in
	/// the journal at `journal` (and taking over those a previous run left there).
	pub fn new(
		client: Arc<FullClient>,
		pool: Arc<Pool>,
		keystore: KeystorePtr,
		operator: sr25519::Public,
		journal: &Path,
	) -> Self {
		let info = client.info();
		let tx_version =
			client.runtime_api().version(info.best_hash).map_or(0, |v| v.transaction_version);
		let owner = (info.genesis_hash, AccountId::from(operator), tx_version);
		let (journal, Journaled { sent, checked_to, sign_again }) = Journal::load(journal, owner);
		if let Some((first, last)) = sent.first_key_value().zip(sent.last_key_value()) {
			log::info!(
				target: "w3b",
				"operator transactions {}..={} sent before a restart: waiting for them to land",
				first.0,
				last.0
			);
		}
		TxSender {
			client,
			pool,
			keystore,
			operator,
			next_nonce: sent.last_key_value().map(|(nonce, _)| nonce + 1),
			chain_nonce: (0, 0),
			restored: !sent.is_empty(),
			sent,
			journal,
			versions: None,
			checked_to,
			sign_again,
		}
	}

	/// The operator's account.
	pub fn account(&self) -> AccountId {
		self.operator.into()
	}

	/// Follows the chain's nonce at block `at` (number `number`): if it has not moved for
	/// a while though we sent transactions after it, the one with the chain's nonce was
	/// dropped (after a reorganisation, or evicted), and the pool dropped the later ones
	/// with it: they are sent again in order. If the pool refuses one (or it was sent
	/// [`MAX_RESENDS`] times already), they are signed again from the chain's nonce.
	pub async fn observe(&mut self, at: Hash, number: BlockNumber) {
		self.forget_final();
		if !self.sign_again.is_empty() {
			// Each leaves the list (and the journal) once the pool took it.
			let mut index = 0;
			while let Some((call, tries)) = self.sign_again.get(index).cloned() {
				match self.submit(at, call).await {
					Ok(()) => {
						self.sign_again.remove(index);
					}
					// The pool may take it on a later block (our nonce is held, the calls
					// waiting for finality are too many).
					Err(e) if tries + 1 < MAX_SIGN_AGAIN_TRIES => {
						log::debug!(target: "w3b", "an operator transaction whose nonce another one took is refused now: {e}");
						self.sign_again[index].1 += 1;
						index += 1;
					}
					Err(e) => {
						log::warn!(target: "w3b", "an operator transaction whose nonce another one took is refused: {e}: given up");
						self.sign_again.remove(index);
					}
				}
			}
			self.save();
		}
		let Ok(nonce) = self.client.runtime_api().account_nonce(at, self.account()) else {
			return;
		};
		// Signed for a runtime the chain no longer runs (an upgrade changed the spec
		// version, which the signature covers): the pool dropped it, or will, and it can
		// never be included. Sent again at once rather than after a stall of
		// NONCE_STALL_BLOCKS, which, with the votes behind it waiting too, let batches
		// expire across an upgrade.
		// (The version is read only when a call waits: most blocks there is none.)
		let signed_for = self.sent.get(&nonce).map(|sent| sent.spec_version);
		let outdated = signed_for
			.is_some_and(|signed| self.versions(at).is_ok_and(|(spec, _)| spec != signed));
		let restored = std::mem::take(&mut self.restored);
		if nonce != self.chain_nonce.0 {
			self.chain_nonce = (nonce, number);
			if !restored && !outdated {
				return;
			}
		}
		if !self.next_nonce.is_some_and(|next| next > nonce) {
			return;
		}
		let since =
			self.sent.get(&nonce).map_or(self.chain_nonce.1, |s| s.at.max(self.chain_nonce.1));
		let stalled = number.saturating_sub(since) > NONCE_STALL_BLOCKS;
		if !restored && !outdated && !stalled {
			return;
		}
		// Outdated, not stalled yet: the pool may not validate with the new runtime yet
		// (it follows blocks on its own), so a refusal now waits for the next block, and
		// only a stall leads to the resends and renumbering below.
		let early = outdated && !restored && !stalled;
		if !early {
			self.chain_nonce.1 = number;
		}
		// A renumbering leaves nothing above our next nonce: these are the calls after it.
		let stalled: Vec<(Nonce, RuntimeCall, u32, u32)> = self
			.sent
			.range(nonce..)
			.map(|(n, sent)| (*n, sent.call.clone(), sent.resends, sent.renumbers))
			.collect();
		let mut resent = 0;
		for (n, call, resends, renumbers) in stalled {
			// Signing a call again for the runtime now running is no resend: it has its
			// budget after.
			if resends >= MAX_RESENDS && !early {
				break;
			}
			let resends = if early { resends } else { resends + 1 };
			match self.submit_with_nonce(at, number, call, n, resends, renumbers).await {
				Ok(Pooled::Added) => resent += 1,
				// Still in the pool: not dropped, only waiting (for a block with room).
				Ok(Pooled::NonceTaken) if n == nonce => return,
				Ok(Pooled::NonceTaken) => {}
				// The pool may not run the new runtime yet (then the call at the chain's
				// nonce is tried again next block), or refuses this call for good: the
				// calls after it are signed again all the same.
				Err(e) if early && n == nonce => {
					log::debug!(target: "w3b", "operator transaction {n}, signed for the runtime now running, is refused: {e}: next block");
					return;
				}
				Err(e) if early => {
					log::debug!(target: "w3b", "operator transaction {n}, signed for the runtime now running, is refused: {e}");
				}
				Err(e) => {
					log::warn!(target: "w3b", "operator transaction {n} is refused now: {e}");
					break;
				}
			}
		}
		if resent > 0 {
			let why = if outdated {
				"were signed for the runtime before an upgrade"
			} else {
				"left the pool unincluded"
			};
			log::info!(target: "w3b", "operator transactions from {nonce} {why}: {resent} sent again");
			return;
		}
		if early {
			return;
		}
		log::warn!(
			target: "w3b",
			"operator nonce stuck at {nonce} (sent up to {:?}): renumbering",
			self.next_nonce
		);
		self.renumber(at, number, nonce).await;
	}

	/// Forgets the calls whose nonces the finalized chain used, and puts those among them
	/// that did not land in `sign_again`: another transaction of the operator's account
	/// (its owner voting in the council with the same key, say) took their nonce. Such a one, with
	/// a smaller weight or a tip, even replaces ours in the pools. The chain's nonce
	/// moves on either way, so only the finalized blocks' transactions tell: at most
	/// [`MAX_BLOCKS_CHECKED`] of them at once, the rest on the next blocks.
	fn forget_final(&mut self) {
		let finalized = self.client.info().finalized_number;
		let final_nonce = |block: BlockNumber| {
			let hash = self.client.hash(block).ok().flatten()?;
			self.client.runtime_api().account_nonce(hash, self.account()).ok()
		};
		let Some(checked_to) = self.checked_to else {
			// What was final before this run looked is not judged: landed or not, the
			// blocks that would tell were final before.
			let Some(nonce) = final_nonce(finalized) else { return };
			self.checked_to = Some(finalized);
			if self.sent.first_key_value().is_some_and(|(first, _)| *first < nonce) {
				self.sent = self.sent.split_off(&nonce);
				self.save();
			}
			return;
		};
		if self.sent.is_empty() {
			// Nothing of ours pending: the blocks final now hold no call to match, and
			// their nonce need not be read (a runtime call per block).
			self.checked_to = Some(finalized.max(checked_to));
			return;
		}
		let upto = finalized.min(checked_to + MAX_BLOCKS_CHECKED);
		if upto <= checked_to {
			return;
		}
		let Some(nonce) = final_nonce(upto) else {
			// Its state is pruned (finality stalled longer than the state kept): judged
			// from the finalized block on, what landed before it is taken as landed.
			let Some(nonce) = final_nonce(finalized) else { return };
			log::warn!(target: "w3b", "the state of block #{upto} is gone: the operator transactions up to #{finalized} are taken as landed");
			self.checked_to = Some(finalized);
			if self.sent.first_key_value().is_some_and(|(first, _)| *first < nonce) {
				self.sent = self.sent.split_off(&nonce);
			}
			self.save();
			return;
		};
		self.checked_to = Some(upto);
		if !self.sent.first_key_value().is_some_and(|(first, _)| *first < nonce) {
			// None of ours landed in these blocks: nothing to match there.
			return;
		}
		// The operator's calls in the blocks, under whatever nonce (a renumbered call may
		// land under its old one).
		let mut landed = Vec::new();
		let mut unreadable = None;
		for block in checked_to + 1..=upto {
			let hash = self.client.hash(block).ok().flatten();
			let Some(body) = hash.and_then(|hash| self.client.block_body(hash).ok().flatten())
			else {
				unreadable = Some(block);
				break;
			};
			let ours = body.iter().filter_map(|xt| signed(&xt.encode()));
			landed.extend(ours.filter(|(who, ..)| *who == self.account()).map(|(.., call)| call));
		}
		let kept = self.sent.split_off(&nonce);
		let used = std::mem::replace(&mut self.sent, kept);
		if let Some(block) = unreadable {
			// Pruned, say: judging without it would sign again what landed there.
			log::warn!(target: "w3b", "block #{block} cannot be read: the operator transactions up to #{upto} are taken as landed");
		} else {
			let taken: Vec<(Nonce, RuntimeCall)> = used
				.into_iter()
				.filter(|(_, sent)| !landed.contains(&sent.call))
				.map(|(n, sent)| (n, sent.call))
				.collect();
			if let Some((first, _)) = taken.first() {
				log::info!(
					target: "w3b",
					"operator transactions {:?} lost their nonces to other transactions of the account (from {first}): signed again",
					taken.iter().map(|(n, _)| n).collect::<Vec<_>>()
				);
			}
			self.sign_again.extend(taken.into_iter().map(|(_, call)| (call, 0)));
		}
		// Journaled at once with the calls to sign again: a crash loses none.
		self.save();
	}

	/// Signs the calls sent from `nonce` (the chain's, stuck) on again with nonces from
	/// `nonce`, in order: each at most [`MAX_RENUMBERS`] times; a call the pool refuses
	/// now (a vote whose round closed, say) is skipped and gives its nonce to the next.
	async fn renumber(&mut self, at: Hash, number: BlockNumber, nonce: Nonce) {
		let stuck = self.sent.split_off(&nonce);
		let mut next = nonce;
		for (old, sent) in stuck {
			if sent.renumbers >= MAX_RENUMBERS {
				log::warn!(target: "w3b", "operator transaction {old} given up after a renumbering");
				continue;
			}
			let renumbers = sent.renumbers + 1;
			match self.submit_with_nonce(at, number, sent.call.clone(), next, 0, renumbers).await {
				Ok(Pooled::Added) => next += 1,
				// One of ours holds the nonce in the pool after all (this very call, when it
				// was only waiting and is signed again under its own nonce): it stays there,
				// remembered under it, and the next call takes the nonce after.
				Ok(Pooled::NonceTaken) => {
					let kept = Sent { resends: MAX_RESENDS, renumbers, ..sent };
					self.sent.insert(next, kept);
					self.save();
					next += 1;
				}
				Err(e) => {
					log::warn!(target: "w3b", "operator transaction {old} is refused now: {e}")
				}
			}
		}
		self.save();
		self.next_nonce = (next > nonce).then_some(next);
	}

	/// The calls sent that may still land on top of best block `at`: those whose nonce
	/// its chain has not used (in the pool, or taken out of the best chain by a
	/// reorganisation and on their way back into the pool).
	pub fn unconfirmed(&self, at: Hash) -> Vec<RuntimeCall> {
		let Ok(nonce) = self.client.runtime_api().account_nonce(at, self.account()) else {
			return self.sent.values().map(|sent| sent.call.clone()).collect();
		};
		self.sent.range(nonce..).map(|(_, sent)| sent.call.clone()).collect()
	}

	/// Signs `call` and puts it in the pool, on top of block `at`.
	pub async fn submit(&mut self, at: Hash, call: RuntimeCall) -> Result<(), String> {
		if self.sent.len() >= MAX_REMEMBERED {
			return Err(format!("{MAX_REMEMBERED} transactions wait for finality already"));
		}
		let chain_nonce = self
			.client
			.runtime_api()
			.account_nonce(at, self.account())
			.map_err(|e| e.to_string())?;
		let number = self.client.number(at).ok().flatten().unwrap_or_default();
		let nonce = self.next_nonce.map_or(chain_nonce, |next| next.max(chain_nonce));
		match self.submit_with_nonce(at, number, call, nonce, 0, 0).await? {
			Pooled::Added => {
				self.next_nonce = Some(nonce + 1);
				Ok(())
			}
			// A renumbering gave out a nonce an earlier call still holds in the pool: this
			// call is tried again later, once the chain's nonce passed it.
			Pooled::NonceTaken => {
				Err(format!("the pool holds another transaction with nonce {nonce}"))
			}
		}
	}

	/// Journals the calls sent, the last block checked and the calls to sign again.
	fn save(&self) {
		self.journal.save(&self.sent, self.checked_to, &self.sign_again);
	}

	/// The runtime's spec and transaction versions at block `at`.
	fn versions(&mut self, at: Hash) -> Result<(u32, u32), String> {
		match self.versions {
			Some((read_at, spec, tx)) if read_at == at => Ok((spec, tx)),
			_ => {
				let version = self.client.runtime_api().version(at).map_err(|e| e.to_string())?;
				self.versions = Some((at, version.spec_version, version.transaction_version));
				Ok((version.spec_version, version.transaction_version))
			}
		}
	}

	/// Signs `call` with `nonce` and puts it in the pool, on top of block `at` (number
	/// `number`); remembers it under its nonce.
	async fn submit_with_nonce(
		&mut self,
		at: Hash,
		number: BlockNumber,
		call: RuntimeCall,
		nonce: Nonce,
		resends: u32,
		renumbers: u32,
	) -> Result<Pooled, String> {
		let (spec_version, transaction_version) = self.versions(at)?;
		let genesis = self.client.info().genesis_hash;
		let payload = w3b_runtime::immortal_signed_payload(
			call.clone(),
			nonce,
			spec_version,
			transaction_version,
			genesis,
		);
		let signature = payload
			.using_encoded(|message| {
				self.keystore.sr25519_sign(super::OPERATOR_KEY_TYPE, &self.operator, message)
			})
			.map_err(|e| e.to_string())?
			.ok_or("the operator key left the keystore")?;
		let xt = w3b_runtime::signed_transaction(
			payload,
			self.account(),
			MultiSignature::Sr25519(signature),
		);
		let opaque =
			OpaqueExtrinsic::try_from_encoded_extrinsic(&xt.encode()).map_err(|e| e.to_string())?;
		// Journaled before it can reach a peer, and taken back out if the pool refuses it.
		let sent = Sent { call, at: number, resends, renumbers, spec_version };
		let replaced = self.sent.insert(nonce, sent);
		self.save();
		let refused = match self.pool.submit_one(at, TransactionSource::Local, opaque).await {
			Ok(_) => return Ok(Pooled::Added),
			Err(e) => match e.into_pool_error() {
				Ok(PoolError::AlreadyImported(_) | PoolError::TooLowPriority { .. }) => {
					Ok(Pooled::NonceTaken)
				}
				Ok(e) => Err(e.to_string()),
				Err(e) => Err(e.to_string()),
			},
		};
		match replaced {
			Some(replaced) => self.sent.insert(nonce, replaced),
			None => self.sent.remove(&nonce),
		};
		self.save();
		refused
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const OWNER: JournalOwner = (Hash::repeat_byte(1), AccountId::new([7; 32]), 1);

	fn sent(batch_seq: u64, at: BlockNumber) -> Sent {
		let call = pallet_attestations::Call::attest_unavailable {
			project: 7,
			batch_seq,
			merkle_root: sp_core::H256::repeat_byte(batch_seq as u8),
		};
		Sent { call: call.into(), at, resends: 1, renumbers: 0, spec_version: 101 }
	}

	#[test]
	fn the_calls_sent_before_a_restart_are_read_back() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("operator-transactions");
		let (journal, none) = Journal::load(&path, OWNER);
		assert_eq!(none, Journaled::default(), "no file: nothing was sent");
		let calls = BTreeMap::from([(41, sent(5, 90)), (42, sent(6, 91))]);
		let again = vec![(sent(7, 92).call, 1)];
		journal.save(&calls, Some(88), &again);
		let journaled = Journaled { sent: calls.clone(), checked_to: Some(88), sign_again: again };
		assert_eq!(Journal::load(&path, OWNER).1, journaled);
		// Not this node's: another chain, another key, calls encoded for another runtime.
		let (genesis, account, version) = OWNER;
		for other in [
			(Hash::repeat_byte(2), account.clone(), version),
			(genesis, AccountId::new([3; 32]), version),
			(genesis, account, version + 1),
		] {
			assert_eq!(Journal::load(&path, other.clone()).1, Journaled::default(), "{other:?}");
		}
		journal.save(&BTreeMap::new(), Some(92), &[]);
		assert!(Journal::load(&path, OWNER).1.sent.is_empty(), "what became final is forgotten");
	}

	#[test]
	fn an_unreadable_journal_is_no_journal() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("operator-transactions");
		let (journal, _) = Journal::load(&path, OWNER);
		journal.save(&BTreeMap::from([(41, sent(5, 90))]), None, &[]);
		let whole = std::fs::read(&path).unwrap();
		std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
		assert!(Journal::load(&path, OWNER).1.sent.is_empty(), "a cut journal");
		std::fs::write(&path, [&whole[..], &[0]].concat()).unwrap();
		assert!(Journal::load(&path, OWNER).1.sent.is_empty(), "trailing bytes");
		std::fs::write(&path, b"another format").unwrap();
		assert!(Journal::load(&path, OWNER).1.sent.is_empty(), "another version's journal");
	}
}
