//! The identity HTTP endpoint (`--w3b-identity-port`), for resolvers and verifiers that
//! do not speak JSON-RPC:
//!
//! - `GET /1.0/identifiers/{did}`: the DID Resolution result of a `did:w3b` DID in the
//!   shape of the Universal Resolver's driver interface (`application/did-resolution`;
//!   400 `invalidDid`, 404 `notFound`, 410 deactivated, 501 `methodNotSupported`).
//! - `GET /1.0/status/{issuer}/{revocation|suspension}`: the issuer's W3C Bitstring
//!   Status List credential for that purpose, built from the chain's credential registry
//!   at the best block and signed (VC-JOSE, `application/vc+jwt`) with the issuer's key,
//!   which must be this node's wallet key (`w3b-node wallet init`); 404 otherwise. Built
//!   once per best block and purpose, one build at a time, off the async threads (an
//!   issuer's lists take up to 131,072 reads to build: a flood of requests costs one
//!   build per block): a revocation shows in the next block. A list is valid for a
//!   minute (`validUntil`), so an old copy cannot hide a revocation for longer.

use std::{net::SocketAddr, sync::Arc};

use axum::{
	extract::{Path, State},
	http::{header::CONTENT_TYPE, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Json, Router,
};
use sc_service::TaskManager;
use serde_json::json;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_keystore::KeystorePtr;
use w3b_primitives::{
	api::{CredentialsApi, DidApi},
	credential::CredentialStatus,
	did::{did_id_of, format_did, parse_did, DidState},
	DeviceKey,
};
use w3b_ssi::credential::{
	credential_header, status_list_credential, status_list_url, STATUS_LIST_VALIDITY_SECS,
};

use crate::{client::FullClient, wallet};

/// What the handlers share.
#[derive(Clone)]
struct Identity {
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	/// The URL this endpoint is reached at, as the status lists name themselves.
	base: String,
	/// The last status list built for each purpose, with the best block it is of and
	/// when it was built.
	built: Arc<tokio::sync::Mutex<std::collections::HashMap<String, (Hash, u64, String)>>>,
}

type Hash = <w3b_runtime::opaque::Block as sp_runtime::traits::Block>::Hash;

/// Starts the endpoint on `address` as a node task; status lists name themselves under
/// `public_url` (default `http://<address>`).
pub fn start(
	address: SocketAddr,
	public_url: Option<String>,
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	task_manager: &TaskManager,
) -> Result<(), sc_service::Error> {
	let listener = std::net::TcpListener::bind(address)
		.map_err(|e| sc_service::Error::Other(format!("identity endpoint on {address}: {e}")))?;
	listener.set_nonblocking(true).map_err(|e| sc_service::Error::Other(e.to_string()))?;
	let base = public_url
		.map(|url| url.trim_end_matches('/').to_string())
		.unwrap_or_else(|| format!("http://{address}"));
	let app = Router::new()
		.route("/1.0/identifiers/{did}", get(resolve))
		.route("/1.0/status/{issuer}/{purpose}", get(status_list))
		.with_state(Identity { client, keystore, base, built: Default::default() });
	log::info!(target: "w3b::identity", "identity endpoint (DID resolution, status lists) on {address}");
	task_manager.spawn_handle().spawn("w3b-identity", None, async move {
		match tokio::net::TcpListener::from_std(listener) {
			Ok(listener) => {
				if let Err(e) = axum::serve(listener, app).await {
					log::error!(target: "w3b::identity", "identity endpoint stopped: {e}");
				}
			}
			Err(e) => log::error!(target: "w3b::identity", "identity endpoint: {e}"),
		}
	});
	Ok(())
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
	(status, Json(json!({"error": code, "message": message}))).into_response()
}

async fn resolve(State(identity): State<Identity>, Path(did): Path<String>) -> Response {
	let at = identity.client.info().best_hash;
	let found = match w3b_ssi::document::resolve(&did, |id| {
		identity.client.runtime_api().did(at, id)
	}) {
		Ok(found) => found,
		Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internalError", e.to_string()),
	};
	let result = w3b_ssi::resolution(&found);
	let status = match result["didResolutionMetadata"]["error"].as_str() {
		Some("invalidDid") => StatusCode::BAD_REQUEST,
		Some("notFound") => StatusCode::NOT_FOUND,
		Some("methodNotSupported") => StatusCode::NOT_IMPLEMENTED,
		_ if result["didDocumentMetadata"]["deactivated"] == json!(true) => StatusCode::GONE,
		_ => StatusCode::OK,
	};
	(status, [(CONTENT_TYPE, "application/did-resolution")], result.to_string()).into_response()
}

async fn status_list(
	State(identity): State<Identity>,
	Path((issuer, purpose)): Path<(String, String)>,
) -> Response {
	let flagged = match purpose.as_str() {
		"revocation" => CredentialStatus::Revoked,
		"suspension" => CredentialStatus::Suspended,
		_ => {
			return error(
				StatusCode::NOT_FOUND,
				"notFound",
				format!("{purpose:?} is not a status purpose: revocation or suspension"),
			)
		}
	};
	let issuer_id = match parse_did(&issuer) {
		Ok(id) => id,
		Err(e) => return error(StatusCode::BAD_REQUEST, "invalidDid", e.to_string()),
	};
	let Some(public) = wallet::identity_key(&identity.keystore)
		.filter(|public| did_id_of(&DeviceKey::Ed25519(public.0)) == issuer_id)
	else {
		return error(
			StatusCode::NOT_FOUND,
			"notFound",
			format!("this node does not hold {issuer}'s key: ask the node of its wallet"),
		);
	};
	// One build at a time (the others wait for it and take its result), off the async
	// threads; a list is rebuilt at a new best block or when half its validity is gone.
	let mut built = identity.built.lock().await;
	let at = identity.client.info().best_hash;
	let key_of_list = format!("{issuer}/{purpose}");
	let now = w3b_ingest::now_ms() / 1000;
	if let Some((built_at, built_time, compact)) = built.get(&key_of_list) {
		if *built_at == at && now < built_time + STATUS_LIST_VALIDITY_SECS / 2 {
			return signed_list(compact.clone());
		}
	}
	let (client, keystore, base) =
		(identity.client.clone(), identity.keystore.clone(), identity.base.clone());
	let build = tokio::task::spawn_blocking(move || {
		build_list(&client, &keystore, &base, at, issuer_id, public, &purpose, flagged, now)
	});
	match build.await {
		Ok(Ok(compact)) => {
			built.insert(key_of_list, (at, now, compact.clone()));
			signed_list(compact)
		}
		Ok(Err(response)) => response,
		Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internalError", e.to_string()),
	}
}

/// `issuer`'s status list for `purpose` (the indices whose credentials are `flagged`) as
/// of block `at`, signed with the wallet's key `public`.
#[allow(clippy::too_many_arguments)]
fn build_list(
	client: &FullClient,
	keystore: &KeystorePtr,
	base: &str,
	at: Hash,
	issuer: w3b_primitives::did::DidId,
	public: sp_core::ed25519::Public,
	purpose: &str,
	flagged: CredentialStatus,
	now: u64,
) -> Result<String, Response> {
	let internal = |e: &dyn std::fmt::Display| {
		error(StatusCode::INTERNAL_SERVER_ERROR, "internalError", e.to_string())
	};
	let api = client.runtime_api();
	let name = format_did(&issuer);
	// A deactivated issuer publishes nothing (verifiers learn it from its DID).
	match api.did(at, issuer) {
		Ok(DidState::Active { .. }) => {}
		Ok(_) => {
			return Err(error(StatusCode::GONE, "deactivated", format!("{name} is not active")))
		}
		Err(e) => return Err(internal(&e)),
	}
	let set: Vec<u32> = api
		.status_list(at, issuer)
		.map_err(|e| internal(&e))?
		.into_iter()
		.filter(|(_, status)| *status == flagged)
		.map(|(index, _)| index)
		.collect();
	let url = status_list_url(base, &name, purpose);
	let credential = status_list_credential(&name, &url, purpose, set, now);
	let key = DeviceKey::Ed25519(public.0);
	let kid = w3b_ssi::verification_method_id(&issuer, &key);
	wallet::identity_jws(keystore, &public, credential_header(&kid), &credential)
		.map_err(|e| internal(&e))
}

fn signed_list(compact: String) -> Response {
	(StatusCode::OK, [(CONTENT_TYPE, w3b_ssi::credential::CREDENTIAL_MEDIA_TYPE)], compact)
		.into_response()
}
