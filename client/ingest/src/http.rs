//! The HTTP endpoint (axum).
//!
//! - `POST /v1/projects/{project}/events`: one message (JSON object, see [`crate::wire`];
//!   or a protobuf `Batch` with `Content-Type: application/x-protobuf`)
//!   answered `202 {"hash": "0x..."}` once stored, or an array answered
//!   `200 {"results": [{"hash": ...} | {"error": {"code", "message"}}, ...]}`.
//!   Refusals of a single message carry an HTTP status and `{"code", "message"}`.
//! - `POST /srv-applet-mgr/v0/event/{project}`: W3bstream's path, same messages. Its
//!   unsigned `{"events": [...]}` bodies (publisher tokens) are refused with `malformed`
//!   and an explanation: the appchain only takes messages signed by a registered device.
//! - `GET /health`: the process is up. `GET /ready`: it can store messages.
//!
//! Bodies over the size limit are refused with `413 {"code": "payload_too_large"}`. A
//! body is charged to its sender's budget by the length it announces
//! ([`crate::BYTES_PER_CHARGE`]; without `Content-Length`, as the largest body) before it
//! is read, read only while the bodies in memory stay under [`MAX_BUFFERED_BODIES`], and
//! parsed off the async threads. HTTP/1.1 only.

use std::{sync::Arc, time::Duration};

use axum::{
	extract::{ConnectInfo, Path, State},
	http::{
		header::{CONTENT_LENGTH, CONTENT_TYPE},
		StatusCode,
	},
	response::{IntoResponse, Response},
	routing::{get, post},
	Json, Router,
};
use serde_json::json;

use crate::{now_ms, wire, IngestError, Ingestor};

/// HTTP status of a refusal.
fn status(error: &IngestError) -> StatusCode {
	match error {
		IngestError::Malformed(_)
		| IngestError::WrongProject { .. }
		| IngestError::ClockSkew { .. } => StatusCode::BAD_REQUEST,
		IngestError::BadSignature => StatusCode::UNAUTHORIZED,
		IngestError::RevokedDevice => StatusCode::FORBIDDEN,
		IngestError::UnknownProject(_) | IngestError::UnknownDevice => StatusCode::NOT_FOUND,
		IngestError::ProjectNotActive(_)
		| IngestError::StaleSeq { .. }
		| IngestError::Duplicate(_) => StatusCode::CONFLICT,
		IngestError::PayloadTooLarge { .. } | IngestError::TooManyMessages { .. } => {
			StatusCode::PAYLOAD_TOO_LARGE
		}
		IngestError::NotServed(_) => StatusCode::MISDIRECTED_REQUEST,
		IngestError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
		IngestError::Storage(_) | IngestError::DeviceNotFinal | IngestError::Backlogged => {
			StatusCode::SERVICE_UNAVAILABLE
		}
	}
}

/// The answer to a refused request. One refused for now because the node is behind says
/// when to come back (`Retry-After`, [`Ingestor::retry_after`]).
fn refusal(ingestor: &Ingestor, error: IngestError) -> Response {
	let mut response = (status(&error), Json(error.body())).into_response();
	if error == IngestError::Backlogged {
		let seconds = ingestor.retry_after().as_secs_f64().ceil().max(1.0) as u64;
		response
			.headers_mut()
			.insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
	}
	response
}

/// The answer to a request refused before the ingestor saw its messages, told to the
/// ingestor's observer too.
fn early_refusal(ingestor: &Ingestor, error: IngestError) -> Response {
	ingestor.observe_refusal(error.code());
	refusal(ingestor, error)
}

/// Request bodies held in memory at once, in bytes, across all connections: past this a
/// request is refused for now (`rate_limited`) before its body is read.
pub const MAX_BUFFERED_BODIES: usize = 256 << 20;

/// What the handlers share.
#[derive(Clone)]
struct Endpoint {
	ingestor: Arc<Ingestor>,
	max_body: usize,
	/// Bytes of request bodies that may be read into memory now.
	buffered: Arc<tokio::sync::Semaphore>,
}

/// Serves the endpoint on `listener`, with request bodies limited to `max_body` bytes
/// and connections within `limits`, until the task is dropped. HTTP/1.1 only: one
/// HTTP/2 connection carries a hundred requests at once and keeps itself alive with
/// pings, past every per-connection limit.
pub async fn serve(
	listener: tokio::net::TcpListener,
	ingestor: Arc<Ingestor>,
	max_body: usize,
	limits: crate::connections::ConnectionLimits,
) -> std::io::Result<()> {
	use axum::serve::Listener;
	let app = router(ingestor.clone(), max_body);
	let mut listener = crate::connections::LimitedListener::new(listener, limits, ingestor);
	loop {
		let (stream, peer) = listener.accept().await;
		let service = hyper_util::service::TowerToHyperService::new(
			app.clone().layer(axum::Extension(ConnectInfo(peer))),
		);
		tokio::spawn(async move {
			let connection = hyper::server::conn::http1::Builder::new()
				.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
			if let Err(e) = connection.await {
				tracing::trace!(target: "w3b::ingest", error = %e, "HTTP connection ended");
			}
		});
	}
}

/// The router, with request bodies limited to `max_body` bytes (served with the peer's
/// address, see [`serve`]).
fn router(ingestor: Arc<Ingestor>, max_body: usize) -> Router {
	let endpoint = Endpoint {
		ingestor,
		max_body,
		buffered: Arc::new(tokio::sync::Semaphore::new(MAX_BUFFERED_BODIES)),
	};
	Router::new()
		.route("/v1/projects/{project}/events", post(post_events))
		// W3bstream's event endpoint: the same signed messages, for existing clients.
		.route("/srv-applet-mgr/v0/event/{project}", post(post_events))
		.route("/health", get(|| async { Json(json!({"status": "ok"})) }))
		.route("/ready", get(ready))
		.with_state(endpoint)
}

async fn ready(State(endpoint): State<Endpoint>) -> Response {
	let store = endpoint.ingestor.store().clone();
	// The writer answers only when it is alive.
	match tokio::task::spawn_blocking(move || store.append(Vec::new())).await {
		Ok(Ok(_)) => Json(json!({"status": "ready"})).into_response(),
		_ => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "store unavailable"})))
			.into_response(),
	}
}

/// Most of the body of a request refused as too large read off ([`discard`]); one refused
/// for now is read off up to the length it announced, which is within the node's limit.
const MAX_DISCARDED_BYTES: usize = 256 << 10;
/// Longest a refused request's body is read off ([`discard`]).
const DISCARD_WITHIN: Duration = Duration::from_secs(10);

/// Reads and drops the body of a request refused before it was read, nothing of it kept,
/// up to `limit` bytes for at most [`DISCARD_WITHIN`]: a client still sending a body
/// the node would take then reads the answer instead of a broken pipe (a body left unread
/// closes the connection under it), and one sending more, or slowly, holds the connection
/// no longer than that (the reading is not charged to it).
fn discard(body: axum::body::Body, limit: usize) {
	use futures::StreamExt;
	tokio::spawn(tokio::time::timeout(DISCARD_WITHIN, async move {
		let mut stream = body.into_data_stream();
		let mut read = 0;
		while let Some(Ok(chunk)) = stream.next().await {
			read += chunk.len();
			if read > limit {
				break;
			}
		}
	}));
}

async fn post_events(
	State(endpoint): State<Endpoint>,
	ConnectInfo(crate::connections::Peer(peer)): ConnectInfo<crate::connections::Peer>,
	Path(project): Path<String>,
	request: axum::extract::Request,
) -> Response {
	let ingestor = endpoint.ingestor.clone();
	let headers = request.headers();
	let protobuf = headers
		.get(CONTENT_TYPE)
		.and_then(|v| v.to_str().ok())
		.is_some_and(|v| v.contains("protobuf"));
	let Ok(project) = project.parse::<u64>() else {
		let error = IngestError::Malformed(format!("project `{project}` is not a number"));
		return early_refusal(&ingestor, error);
	};
	// The body is paid for before a byte of it is read, by the length it announces (a
	// body without one as the largest there may be): a sender of junk costs the node at
	// most its budget's worth of memory and parsing, and the parsing happens off the
	// async threads. Then it takes its place among the bodies held in memory.
	let announced = headers
		.get(CONTENT_LENGTH)
		.and_then(|v| v.to_str().ok())
		.and_then(|v| v.parse::<usize>().ok());
	let size = match announced {
		Some(size) if size > endpoint.max_body => {
			ingestor.observe_refusal("payload_too_large");
			// Read off while the answer goes out.
			discard(request.into_body(), MAX_DISCARDED_BYTES);
			let message =
				format!("a body of {size} bytes is over the limit of {}", endpoint.max_body);
			return (
				StatusCode::PAYLOAD_TOO_LARGE,
				Json(json!({"code": "payload_too_large", "message": message})),
			)
				.into_response();
		}
		Some(size) => size,
		None => endpoint.max_body,
	};
	if ingestor.is_behind(project) {
		discard(request.into_body(), size);
		return early_refusal(&ingestor, IngestError::Backlogged);
	}
	let sender = peer.ip();
	let prepaid = size.div_ceil(crate::BYTES_PER_CHARGE).max(1);
	if !ingestor.charge_sender(sender, prepaid, now_ms()) {
		// Over its rate, a sender gets no more read off than a body too large.
		discard(request.into_body(), size.min(MAX_DISCARDED_BYTES));
		return early_refusal(&ingestor, IngestError::RateLimited("sender"));
	}
	let Ok(_buffered) = endpoint.buffered.clone().try_acquire_many_owned(size.max(1) as u32) else {
		discard(request.into_body(), size);
		return early_refusal(&ingestor, IngestError::RateLimited("node"));
	};
	let body = match axum::body::to_bytes(request.into_body(), size).await {
		Ok(body) => body,
		Err(e) => {
			return early_refusal(
				&ingestor,
				IngestError::Malformed(format!("the body does not match its length: {e}")),
			)
		}
	};
	let observer = ingestor.clone();
	let answered = tokio::task::spawn_blocking(move || {
		let (messages, is_batch) = wire::parse_body(&body, protobuf)?;
		// Messages that do not even decode are answered without going further.
		let mut results: Vec<Option<Result<sp_core::H256, IngestError>>> = Vec::new();
		let mut decoded = Vec::new();
		for message in messages {
			match message {
				Ok(parts) => {
					results.push(None);
					decoded.push(parts);
				}
				Err(e) => {
					ingestor.observe_refusal(e.code());
					results.push(Some(Err(e)));
				}
			}
		}
		let mut ingested =
			ingestor.ingest_prepaid(sender, prepaid, project, decoded, now_ms()).into_iter();
		let results: Vec<_> = results
			.into_iter()
			.map(|r| r.unwrap_or_else(|| ingested.next().expect("an answer per message")))
			.collect();
		Ok((results, is_batch))
	})
	.await;
	let (results, is_batch) = match answered {
		Ok(Ok(answered)) => answered,
		Ok(Err(e)) => return early_refusal(&observer, e),
		// The ingestion failed as a whole (it panicked): nothing it had is known stored.
		Err(e) => {
			tracing::error!(target: "w3b::ingest", error = %e, "HTTP ingestion failed");
			return early_refusal(&observer, IngestError::Storage("ingestion failed".into()));
		}
	};
	if !is_batch {
		return match results.into_iter().next() {
			Some(Ok(hash)) => (StatusCode::ACCEPTED, Json(json!({"hash": hash}))).into_response(),
			Some(Err(e)) => refusal(&observer, e),
			None => refusal(&observer, IngestError::Malformed("no message".into())),
		};
	}
	let results: Vec<serde_json::Value> = results
		.into_iter()
		.map(|r| match r {
			Ok(hash) => json!({"hash": hash}),
			Err(e) => json!({"error": e.body()}),
		})
		.collect();
	Json(json!({"results": results})).into_response()
}
