//! The HTTP endpoint with a real server on loopback and a real HTTP client: every
//! curve accepted, every refusal a clear JSON error with nothing stored, and the node
//! serving on.

mod common;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use common::{fixture, register, Device, Tally};
use serde_json::{json, Value};
use sp_core::{ed25519, Pair, H256};
use w3b_ingest::{
	backlog::Backlog, now_ms, rate::Rate, ChainView, IngestError, IngestObserver, Ingestor, Limits,
	MemoryChain,
};
use w3b_primitives::{project::DeviceStatus, ProjectStatus};
use w3b_storage::{EmbeddedStore, MessageStore};

struct Server {
	addr: SocketAddr,
	store: Arc<EmbeddedStore>,
	_dir: tempfile::TempDir,
	_runtime: tokio::runtime::Runtime,
}

fn start(chain: Arc<MemoryChain>, limits: Limits, max_body: usize) -> Server {
	start_observed(chain, limits, max_body, None)
}

/// A server whose ingestor reports to `observer`.
fn start_observed(
	chain: Arc<MemoryChain>,
	limits: Limits,
	max_body: usize,
	observer: Option<Arc<dyn IngestObserver>>,
) -> Server {
	start_with(chain, limits, max_body, observer, None)
}

/// A server whose ingestor reports to `observer` and refuses messages while `backlog`
/// says the node is behind.
fn start_with(
	chain: Arc<MemoryChain>,
	limits: Limits,
	max_body: usize,
	observer: Option<Arc<dyn IngestObserver>>,
	backlog: Option<Arc<Backlog>>,
) -> Server {
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let mut ingestor = Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, limits);
	if let Some(observer) = observer {
		ingestor = ingestor.with_observer(observer);
	}
	if let Some(backlog) = backlog {
		ingestor = ingestor.with_backlog(backlog);
	}
	let ingestor = Arc::new(ingestor);
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let addr = listener.local_addr().unwrap();
	runtime.spawn(async move {
		w3b_ingest::http::serve(listener, ingestor, max_body, Default::default()).await.unwrap()
	});
	Server { addr, store, _dir: dir, _runtime: runtime }
}

/// A message in its wire JSON as the ingestor takes it: the message and its signature.
fn parts(json: Value) -> (w3b_primitives::Message, Vec<u8>) {
	serde_json::from_value::<w3b_ingest::wire::WireMessage>(json).unwrap().into_parts().unwrap()
}

/// POSTs `body` to project `project`'s endpoint; returns status and JSON.
fn post(server: &Server, project: &str, body: &str) -> (u16, Value) {
	let url = format!("http://{}/v1/projects/{project}/events", server.addr);
	let response = match ureq::post(&url).set("Content-Type", "application/json").send_string(body)
	{
		Ok(r) => r,
		Err(ureq::Error::Status(_, r)) => r,
		Err(e) => panic!("request failed: {e}"),
	};
	let status = response.status();
	(status, response.into_json().unwrap_or(Value::Null))
}

#[test]
fn every_curve_is_accepted_and_stored_before_the_answer() {
	let (chain, devices) = fixture();
	let server = start(chain, Limits::default(), 1 << 20);
	for device in &devices[..3] {
		let (status, body) = post(&server, "1", &device.message(1, 1, b"{\"t\":21}").to_string());
		assert_eq!(status, 202, "{body}");
		let hash: H256 = serde_json::from_value(body["hash"].clone()).unwrap();
		assert!(server.store.contains(&hash).unwrap());
		assert_eq!(server.store.get(&hash).unwrap().unwrap().message.payload, b"{\"t\":21}");
	}
	assert_eq!(server.store.pending(1).unwrap().len(), 3);
	// A batch: answers per message.
	// Batched signature checks still single out a forged message on each curve.
	let mut forged_sr = devices[1].message(1, 10, b"x");
	forged_sr["payload"] = json!("0x79");
	let mut forged_ed = devices[0].message(1, 11, b"x");
	forged_ed["payload"] = json!("0x79");
	let batch = json!([
		devices[0].message(1, 2, b"a"),
		devices[0].message(1, 2, b"same seq"),
		devices[1].message(1, 9, b"b"),
		{"nonsense": true},
		forged_sr,
		forged_ed,
	]);
	let (status, body) = post(&server, "1", &batch.to_string());
	assert_eq!(status, 200);
	let results = body["results"].as_array().unwrap();
	assert!(results[0]["hash"].is_string());
	assert_eq!(results[1]["error"]["code"], "stale_seq");
	assert!(results[2]["hash"].is_string());
	assert_eq!(results[3]["error"]["code"], "malformed");
	assert_eq!(results[4]["error"]["code"], "bad_signature");
	assert_eq!(results[5]["error"]["code"], "bad_signature");
	assert_eq!(server.store.pending(1).unwrap().len(), 5);
}

#[test]
fn every_refusal_is_a_clear_error_and_stores_nothing() {
	let (chain, devices) = fixture();
	let stranger = Device::Ed(ed25519::Pair::from_seed(&[9; 32]));
	let limits = Limits { max_payload: 1024, ..Limits::default() };
	let tally = Arc::new(Tally::default());
	let server = start_observed(chain, limits, 64 << 10, Some(tally.clone()));
	let good = devices[0].message(1, 1, b"ok");
	assert_eq!(post(&server, "1", &good.to_string()).0, 202);
	let mut forged = devices[0].message(1, 2, b"x");
	forged["payload"] = json!("0x79");
	let mut wrong_curve = devices[0].message(1, 3, b"x");
	wrong_curve["signature"] = json!(sp_core::bytes::to_hex(&[7u8; 65], false));
	let old = now_ms() - 10 * 60 * 1000;
	let cases: Vec<(&str, String, u16, &str)> = vec![
		("1", forged.to_string(), 401, "bad_signature"),
		("1", wrong_curve.to_string(), 400, "malformed"),
		("1", stranger.message(1, 1, b"x").to_string(), 404, "unknown_device"),
		("1", devices[3].message(1, 1, b"x").to_string(), 403, "revoked_device"),
		("1", devices[0].message(2, 5, b"x").to_string(), 400, "wrong_project"),
		("7", devices[0].message(7, 5, b"x").to_string(), 404, "unknown_project"),
		("2", devices[0].message(2, 5, b"x").to_string(), 409, "project_not_active"),
		// Stored here it would never be committed: the device is sent to an operator.
		("3", devices[0].message(3, 5, b"x").to_string(), 421, "not_served"),
		("1", good.to_string(), 409, "duplicate"),
		("1", devices[0].message(1, 1, b"older").to_string(), 409, "stale_seq"),
		("1", devices[0].message(1, 8, &[0u8; 2048]).to_string(), 413, "payload_too_large"),
		("1", devices[0].message_at(1, 8, b"x", old).to_string(), 400, "clock_skew"),
		// A device posing as a contract log a quorum observed.
		(
			"1",
			devices[0].message_typed(1, 9, "evm:Reading", b"{}", now_ms()).to_string(),
			400,
			"malformed",
		),
		("1", "{not json".into(), 400, "malformed"),
		("1", json!({"project": 1}).to_string(), 400, "malformed"),
		("abc", good.to_string(), 400, "malformed"),
		// Just over the limit: the server answers before reading the body, and reads it
		// off meanwhile (up to 256 KiB): the client, still sending, gets the answer rather
		// than a broken pipe (1 CI run in ~30 before it read it off).
		("1", "x".repeat((64 << 10) + 512), 413, "payload_too_large"),
		(
			"1",
			json!({"events": [{"header": {"token": "t"}, "payload": "aGk="}]}).to_string(),
			400,
			"malformed",
		),
	];
	let mut expected: Vec<&str> = cases.iter().map(|(_, _, _, code)| *code).collect();
	for (project, body, status, code) in cases {
		let (got, answer) = post(&server, project, &body);
		assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{answer}");
		assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
	}
	assert_eq!(server.store.pending(1).unwrap().len(), 1, "only the good message is stored");
	for other in [2, 7] {
		assert!(server.store.pending(other).unwrap().is_empty(), "stored in project {other}");
	}
	// Every refusal reaches the metrics once, by reason, also those refused before the
	// ingestor saw a message (bodies that do not parse, bad paths, oversized bodies).
	expected.sort();
	assert_eq!(tally.refused_sorted(), expected);
	assert_eq!(tally.stored.load(std::sync::atomic::Ordering::Relaxed), 1);
	// Still serving.
	let health: Value =
		ureq::get(&format!("http://{}/health", server.addr)).call().unwrap().into_json().unwrap();
	assert_eq!(health["status"], "ok");
	let ready = ureq::get(&format!("http://{}/ready", server.addr)).call().unwrap();
	assert_eq!(ready.status(), 200);
	assert_eq!(post(&server, "1", &devices[0].message(1, 2, b"next").to_string()).0, 202);
	// W3bstream's path takes the same signed messages.
	let url = format!("http://{}/srv-applet-mgr/v0/event/1", server.addr);
	let response =
		ureq::post(&url).send_string(&devices[1].message(1, 1, b"compat").to_string()).unwrap();
	assert_eq!(response.status(), 202);
	assert_eq!(server.store.pending(1).unwrap().len(), 3);
}

#[test]
fn rate_limits_refuse_with_429() {
	let (chain, devices) = fixture();
	let limits =
		Limits { device_rate: Rate { per_second: 0.001, burst: 3.0 }, ..Limits::default() };
	let server = start(chain, limits, 1 << 20);
	for seq in 1..=3 {
		assert_eq!(post(&server, "1", &devices[0].message(1, seq, b"x").to_string()).0, 202);
	}
	let (status, body) = post(&server, "1", &devices[0].message(1, 4, b"x").to_string());
	assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
	// Other devices have their own budget.
	assert_eq!(post(&server, "1", &devices[1].message(1, 1, b"x").to_string()).0, 202);
	assert_eq!(server.store.pending(1).unwrap().len(), 4);
}

/// While the node's worker runs behind on a project, that project's new messages are
/// refused for now (503 `backlogged`, with `Retry-After`) and none is stored; another
/// project's are taken; once the node caught up the same message is taken.
#[test]
fn a_node_behind_on_a_project_refuses_its_messages_for_now() {
	let (chain, devices) = fixture();
	chain.set_project(4, ProjectStatus::Active);
	register(&chain, 4, &devices[0], DeviceStatus::Active);
	let backlog = Arc::new(Backlog::new(Duration::from_secs(6)));
	let tally = Arc::new(Tally::default());
	let server =
		start_with(chain, Limits::default(), 1 << 20, Some(tally.clone()), Some(backlog.clone()));
	assert_eq!(post(&server, "1", &devices[0].message(1, 1, b"ok").to_string()).0, 202);
	// A pass over a block that worked on project 1 past twice the bound.
	assert_eq!(backlog.report(1, Duration::from_secs(13), false), Some(true));
	let later = devices[0].message(1, 2, b"later").to_string();
	let url = format!("http://{}/v1/projects/1/events", server.addr);
	let Err(ureq::Error::Status(503, response)) = ureq::post(&url).send_string(&later) else {
		panic!("taken while behind")
	};
	assert_eq!(response.header("Retry-After"), Some("6"), "a pass");
	let body: Value = response.into_json().unwrap();
	assert_eq!(body["code"], "backlogged", "{body}");
	assert_eq!(server.store.pending(1).unwrap().len(), 1, "nothing stored while behind");
	assert_eq!(tally.refused_sorted(), ["backlogged"]);
	let other = devices[0].message(4, 1, b"another project").to_string();
	assert_eq!(post(&server, "4", &other).0, 202, "another project's devices are still taken");
	// A pass within the bound: caught up, and the same message is taken.
	assert_eq!(backlog.report(1, Duration::from_secs(1), true), Some(false));
	assert_eq!(post(&server, "1", &later).0, 202);
	assert_eq!(server.store.pending(1).unwrap().len(), 2);
}

/// Messages handed to the ingestor directly (the MQTT edge, an external broker) are
/// refused for now too while the node is behind: every one of them, transient (not
/// acknowledged), nothing stored, and their sender not charged, so that a device sending
/// again while the node catches up is not rate-limited once it did.
#[test]
fn every_message_is_refused_for_now_while_the_node_is_behind_and_costs_nothing() {
	let (chain, devices) = fixture();
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let backlog = Arc::new(Backlog::new(Duration::from_secs(6)));
	let limits =
		Limits { sender_rate: Rate { per_second: 0.001, burst: 2.0 }, ..Limits::default() };
	let ingestor = Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, limits)
		.with_backlog(backlog.clone());
	let sender = "192.0.2.1".parse().unwrap();
	let batch =
		|| vec![parts(devices[0].message(1, 1, b"a")), parts(devices[1].message(1, 1, b"b"))];
	backlog.report(1, Duration::from_secs(7), true);
	assert_eq!(backlog.report(1, Duration::from_secs(7), false), Some(true), "two passes over");
	for _ in 0..5 {
		let results = ingestor.ingest_from(sender, 1, batch(), now_ms());
		assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| *e == IngestError::Backlogged)));
		assert!(results.iter().all(|r| r.as_ref().is_err_and(IngestError::is_transient)));
	}
	assert!(store.pending(1).unwrap().is_empty());
	backlog.report(1, Duration::from_secs(1), true);
	let results = ingestor.ingest_from(sender, 1, batch(), now_ms());
	assert!(results.iter().all(Result::is_ok), "the sender's budget is whole: {results:?}");
}

#[test]
fn a_sender_pays_for_its_messages_before_any_is_checked() {
	let (chain, devices) = fixture();
	let limits =
		Limits { sender_rate: Rate { per_second: 0.001, burst: 5.0 }, ..Limits::default() };
	let server = start(chain, limits, 1 << 20);
	// Five badly signed messages use up the address's budget...
	let mut forged: Vec<Value> = (1..=5).map(|seq| devices[0].message(1, seq, b"x")).collect();
	for message in &mut forged {
		message["payload"] = json!("0x79");
	}
	let (status, body) = post(&server, "1", &Value::Array(forged).to_string());
	assert_eq!(status, 200);
	assert!(body["results"]
		.as_array()
		.unwrap()
		.iter()
		.all(|r| r["error"]["code"] == "bad_signature"));
	// ...so the next request is refused for now, before its signature is looked at.
	let (status, body) = post(&server, "1", &devices[1].message(1, 1, b"ok").to_string());
	assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
	assert!(body["message"].as_str().unwrap().contains("sender"), "{body}");
	assert!(server.store.pending(1).unwrap().is_empty());
}

#[test]
fn a_body_is_paid_for_by_its_size_before_it_is_parsed() {
	let (chain, devices) = fixture();
	let tally = Arc::new(Tally::default());
	let limits =
		Limits { sender_rate: Rate { per_second: 0.001, burst: 100.0 }, ..Limits::default() };
	let server = start_observed(chain, limits, 4 << 20, Some(tally.clone()));
	// 1 MiB of junk JSON costs 256 units, more than the sender has: refused for now
	// without being parsed (the refusal is the rate's, not the junk's).
	let junk = format!("[{}]", "[".repeat(1 << 20));
	let (status, body) = post(&server, "1", &junk);
	assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
	assert_eq!(tally.refused_sorted(), ["rate_limited"]);
	// Nothing was charged for it: the sender's honest message still gets through, and
	// costs one unit, not two (its body pays for it).
	let (status, body) = post(&server, "1", &devices[0].message(1, 1, b"ok").to_string());
	assert_eq!(status, 202, "{body}");
	// 99 units left: a batch of 99 small messages is paid by their count.
	let batch: Vec<Value> = (2..=100).map(|seq| devices[0].message(1, seq, b"ok")).collect();
	let (status, body) = post(&server, "1", &Value::Array(batch).to_string());
	assert_eq!(status, 200, "{body}");
	assert!(body["results"].as_array().unwrap().iter().all(|r| r["hash"].is_string()), "{body}");
	let (status, body) =
		post(&server, "1", &devices[0].message(1, 101, b"one too many").to_string());
	assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
	assert_eq!(server.store.pending(1).unwrap().len(), 100);
}

#[test]
fn more_messages_than_a_request_may_hold_are_refused_before_decoding() {
	use prost::Message as _;
	use w3b_ingest::wire::{ProtoBatch, ProtoMessage, MAX_MESSAGES_PER_REQUEST};
	let (chain, devices) = fixture();
	let server = start(chain, Limits::default(), 4 << 20);
	// 4 MiB of empty JSON objects: a million messages.
	let junk = format!("[{}{{}}]", "{},".repeat((4 << 20) / 3 - 1));
	let (status, body) = post(&server, "1", &junk);
	assert_eq!((status, body["code"].as_str()), (413, Some("too_many_messages")), "{body}");
	// Nested empty arrays (two million values in 4 MiB) are refused as they are read.
	let nested = format!("[[{}0]]", "0,".repeat((4 << 20) / 2 - 8));
	let (status, body) = post(&server, "1", &nested);
	assert_eq!((status, body["code"].as_str()), (413, Some("too_many_messages")), "{body}");
	// One over the limit, valid or not, is refused whole; at the limit, each is answered.
	let over: Vec<Value> = (1..=MAX_MESSAGES_PER_REQUEST as u64 + 1)
		.map(|seq| devices[0].message(1, seq, b"x"))
		.collect();
	let (status, body) = post(&server, "1", &Value::Array(over.clone()).to_string());
	assert_eq!((status, body["code"].as_str()), (413, Some("too_many_messages")));
	let (status, body) =
		post(&server, "1", &Value::Array(over[..MAX_MESSAGES_PER_REQUEST].to_vec()).to_string());
	assert_eq!(status, 200);
	assert_eq!(body["results"].as_array().unwrap().len(), MAX_MESSAGES_PER_REQUEST);
	// The same in protobuf: a million empty messages in 2 MiB.
	let url = format!("http://{}/v1/projects/1/events", server.addr);
	let empty = ProtoBatch { messages: vec![ProtoMessage::default(); 1 << 20] };
	let response = match ureq::post(&url)
		.set("Content-Type", "application/x-protobuf")
		.send_bytes(&empty.encode_to_vec())
	{
		Err(ureq::Error::Status(status, r)) => (status, r.into_json::<Value>().unwrap()),
		other => panic!("{other:?}"),
	};
	assert_eq!((response.0, response.1["code"].as_str()), (413, Some("too_many_messages")));
	// Of the thousand answered, the device's burst (200) was stored.
	assert_eq!(server.store.pending(1).unwrap().len(), 200);
}

#[test]
fn protobuf_bodies_are_accepted_and_checked_the_same_way() {
	use prost::Message as _;
	use w3b_ingest::wire::ProtoBatch;
	let (chain, devices) = fixture();
	let server = start(chain, Limits::default(), 1 << 20);
	let send = |bytes: Vec<u8>| {
		let url = format!("http://{}/v1/projects/1/events", server.addr);
		let response =
			match ureq::post(&url).set("Content-Type", "application/x-protobuf").send_bytes(&bytes)
			{
				Ok(r) => r,
				Err(ureq::Error::Status(_, r)) => r,
				Err(e) => panic!("{e}"),
			};
		(response.status(), response.into_json::<Value>().unwrap())
	};
	let single = ProtoBatch { messages: vec![devices[2].proto(1, 1, b"secp256k1 in protobuf")] };
	let (status, body) = send(single.encode_to_vec());
	assert_eq!(status, 202, "{body}");
	let mut short_device = devices[0].proto(1, 1, b"x");
	short_device.device.truncate(4);
	let mut forged = devices[1].proto(1, 1, b"x");
	forged.payload = b"y".to_vec();
	let batch = ProtoBatch { messages: vec![devices[0].proto(1, 1, b"ok"), short_device, forged] };
	let (status, body) = send(batch.encode_to_vec());
	assert_eq!(status, 200);
	let codes: Vec<Value> =
		body["results"].as_array().unwrap().iter().map(|r| r["error"]["code"].clone()).collect();
	assert_eq!(codes, [Value::Null, json!("malformed"), json!("bad_signature")]);
	let (status, body) = send(vec![0xff, 0xff, 0xff]);
	assert_eq!((status, body["code"].as_str()), (400, Some("malformed")));
	assert_eq!(server.store.pending(1).unwrap().len(), 2);
}

#[test]
fn the_observer_is_told_every_outcome() {
	let (chain, devices) = fixture();
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let tally = Arc::new(Tally::default());
	let ingestor = Ingestor::new(store, chain as Arc<dyn ChainView>, Limits::default())
		.with_observer(tally.clone());
	let mut forged = parts(devices[0].message(1, 2, b"x"));
	forged.0.payload = b"y".to_vec();
	let batch = vec![
		parts(devices[0].message(1, 1, b"ok")),
		parts(devices[1].message(1, 1, b"ok too")),
		forged,
		parts(devices[3].message(1, 1, b"revoked")),
		parts(devices[0].message(1, 1, b"replayed seq")),
	];
	let results = ingestor.ingest(1, batch, now_ms());
	assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
	assert_eq!(tally.stored.load(std::sync::atomic::Ordering::Relaxed), 2);
	assert_eq!(tally.refused_sorted(), ["bad_signature", "revoked_device", "stale_seq"]);
	// A batch refused whole is reported too.
	ingestor.ingest(1, vec![parts(devices[2].message(2, 1, b"wrong endpoint"))], now_ms());
	assert!(tally.refused.lock().unwrap().contains(&"wrong_project"));
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
	use std::io::Read;
	let (chain, _) = fixture();
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let ingestor = Arc::new(Ingestor::new(store, chain as Arc<dyn ChainView>, Limits::default()));
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let addr = listener.local_addr().unwrap();
	let limits = w3b_ingest::connections::ConnectionLimits {
		max_connections: 100,
		max_per_address: 2,
		..Default::default()
	};
	runtime.spawn(w3b_ingest::http::serve(listener, ingestor, 1 << 20, limits));
	let held: Vec<_> = (0..2).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
	let mut third = std::net::TcpStream::connect(addr).unwrap();
	third.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
	assert_eq!(third.read(&mut [0u8; 16]).unwrap_or(0), 0, "closed without an answer");
	drop(held);
	std::thread::sleep(std::time::Duration::from_millis(200));
	let health = ureq::get(&format!("http://{addr}/health")).call().unwrap();
	assert_eq!(health.status(), 200, "places are given back");
}

/// Slow clients (slowloris): a connection that dribbles its request a byte at a time, or
/// says nothing, is closed once the request timeout passes, so such clients cannot hold
/// the connection places for ever; a client pausing less between requests keeps its
/// connection.
#[test]
fn clients_too_slow_to_send_a_request_are_closed() {
	use std::{
		io::{Read, Write},
		time::{Duration, Instant},
	};
	let (chain, _) = fixture();
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let ingestor = Arc::new(Ingestor::new(store, chain as Arc<dyn ChainView>, Limits::default()));
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let addr = listener.local_addr().unwrap();
	let limits = w3b_ingest::connections::ConnectionLimits {
		request_timeout: Duration::from_secs(2),
		..Default::default()
	};
	runtime.spawn(w3b_ingest::http::serve(listener, ingestor, 1 << 20, limits));

	// The dribbler would take 60 s to finish its headers.
	let request = b"GET /health HTTP/1.1\r\nHost: w3b\r\nX-Slow: 0123456789012345678901234567890123456789\r\n\r\n";
	let mut dribbler = std::net::TcpStream::connect(addr).unwrap();
	let started = Instant::now();
	let closed = request.iter().any(|byte| {
		std::thread::sleep(Duration::from_millis(600));
		dribbler.write_all(&[*byte]).and_then(|_| dribbler.flush()).is_err()
			|| started.elapsed() > Duration::from_secs(30)
	});
	assert!(closed, "the dribbling client was served to the end");
	assert!(started.elapsed() < Duration::from_secs(30), "the dribbling client was never closed");

	let mut silent = std::net::TcpStream::connect(addr).unwrap();
	silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
	assert_eq!(silent.read(&mut [0u8; 16]).unwrap_or(0), 0, "the silent client was closed");

	// A large body over a slow link earns its time: 512 KiB at about 100 KiB/s takes
	// twice the timeout, and is answered.
	let slow_link = std::net::TcpStream::connect(addr).unwrap();
	let body = format!("[{}{{}}]", "{},".repeat((512 << 10) / 3 - 1));
	let head = format!(
		"POST /v1/projects/1/events HTTP/1.1\r\nHost: w3b\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
		body.len()
	);
	let started = Instant::now();
	let mut writer = slow_link.try_clone().unwrap();
	writer.write_all(head.as_bytes()).unwrap();
	for chunk in body.as_bytes().chunks(10 << 10) {
		std::thread::sleep(Duration::from_millis(100));
		writer.write_all(chunk).expect("the slow link is not cut off");
	}
	let mut answer = String::new();
	let mut reader = std::io::BufReader::new(slow_link);
	std::io::BufRead::read_line(&mut reader, &mut answer).unwrap();
	assert!(started.elapsed() > Duration::from_secs(4), "the body took twice the timeout");
	// Over the per-request message cap: refused, but answered, not cut off.
	assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

	// An honest client: a request, a pause shorter than the timeout, another request.
	let mut honest = std::net::TcpStream::connect(addr).unwrap();
	honest.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	for _ in 0..2 {
		honest.write_all(b"GET /health HTTP/1.1\r\nHost: w3b\r\n\r\n").unwrap();
		let mut answer = [0u8; 256];
		let n = honest.read(&mut answer).unwrap();
		assert!(
			answer[..n].starts_with(b"HTTP/1.1 200"),
			"{}",
			String::from_utf8_lossy(&answer[..n])
		);
		std::thread::sleep(Duration::from_millis(1000));
	}
}

/// A device whose registration is in a block not final yet is refused for now (503, a
/// transient refusal: over MQTT no PUBACK), not for good: a device told "unknown" would
/// drop the message. Once the registration is final it is taken.
#[test]
fn a_device_not_final_yet_is_refused_for_now() {
	let (chain, _) = fixture();
	let newcomer = Device::Ed(ed25519::Pair::from_seed(&[12; 32]));
	let id = newcomer.key().device_id();
	chain.set_device_pending(1, id, true);
	let server = start(chain.clone(), Limits::default(), 64 << 10);
	let message = newcomer.message(1, 1, b"first").to_string();
	let (status, body) = post(&server, "1", &message);
	assert_eq!((status, body["code"].as_str()), (503, Some("device_not_final")), "{body}");
	assert!(server.store.pending(1).unwrap().is_empty());
	chain.set_device_pending(1, id, false);
	register(&chain, 1, &newcomer, DeviceStatus::Active);
	assert_eq!(post(&server, "1", &message).0, 202);
}

/// Reads what `stream` gets until the server closes it or `within` passes.
fn read_answer(stream: &mut std::net::TcpStream, within: Duration) -> (String, bool) {
	use std::io::Read;
	stream.set_read_timeout(Some(within)).unwrap();
	let mut answer = Vec::new();
	let mut buffer = [0u8; 4096];
	loop {
		match stream.read(&mut buffer) {
			Ok(0) => return (String::from_utf8_lossy(&answer).into(), true),
			Ok(n) => answer.extend_from_slice(&buffer[..n]),
			Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
				return (String::from_utf8_lossy(&answer).into(), true)
			}
			Err(_) => return (String::from_utf8_lossy(&answer).into(), false),
		}
	}
}

/// Request bodies are held in memory only once paid for: a body is charged to its sender
/// by its announced length before a byte of it is read (so 4 MiB bodies left hanging
/// cost their sender the budget of 1,024 messages each), and HTTP/2, whose one
/// connection carries a hundred such bodies and keeps itself alive with pings, is not
/// spoken.
#[test]
fn bodies_are_paid_for_before_they_are_read_and_http2_is_refused() {
	use std::io::Write;
	let (chain, _) = fixture();
	let limits =
		Limits { sender_rate: Rate { per_second: 0.001, burst: 3_000.0 }, ..Limits::default() };
	let server = start(chain, limits, 4 << 20);
	// HTTP/2 with prior knowledge: the connection is closed without an HTTP/2 answer.
	let mut h2 = std::net::TcpStream::connect(server.addr).unwrap();
	h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").unwrap();
	let (answer, closed) = read_answer(&mut h2, Duration::from_secs(5));
	assert!(closed, "an HTTP/2 connection stays open");
	assert!(!answer.as_bytes().starts_with(&[0, 0]), "answered in HTTP/2 frames: {answer:?}");
	// Three bodies of 4 MiB announced, none sent: the third is over the sender's budget
	// (3,000 units, 1,024 a body) and refused at once, before its body.
	let announce = |stream: &mut std::net::TcpStream| {
		let head = format!(
			"POST /v1/projects/1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
			4 << 20
		);
		stream.write_all(head.as_bytes()).unwrap();
	};
	let mut hanging: Vec<std::net::TcpStream> = Vec::new();
	for _ in 0..2 {
		let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
		announce(&mut stream);
		hanging.push(stream);
	}
	std::thread::sleep(Duration::from_millis(300));
	let mut third = std::net::TcpStream::connect(server.addr).unwrap();
	announce(&mut third);
	let (answer, _) = read_answer(&mut third, Duration::from_secs(3));
	assert!(answer.starts_with("HTTP/1.1 429"), "{answer:?}");
	assert!(answer.contains("rate_limited"), "{answer:?}");
	drop(hanging);
	assert!(server.store.pending(1).unwrap().is_empty());
}

/// A device registered by DID that rotated its key in a block not final yet: a message
/// under the new key is refused for now (`device_not_final`: over MQTT no PUBACK, so
/// the device sends it again), not as a bad signature (final: it would be dropped).
/// Once the rotation is final, the new key is taken and the old one refused.
#[test]
fn a_did_key_rotation_not_final_yet_refuses_the_new_key_for_now() {
	let (chain, _) = fixture();
	let old = Device::Ed(ed25519::Pair::from_seed(&[13; 32]));
	let new = Device::Ecdsa(sp_core::ecdsa::Pair::from_seed(&[14; 32]));
	let did = H256::repeat_byte(0xd1);
	let record = |device: &Device| w3b_primitives::DeviceRecord {
		key: device.key(),
		did: None,
		by_did: Some(did),
		status: w3b_primitives::project::DeviceStatus::Active,
		registered_at: 1,
		revoked_at: None,
	};
	chain.set_device(1, record(&old));
	chain.set_pending_key(1, did, Some(new.key()));
	let server = start(chain.clone(), Limits::default(), 64 << 10);
	let (status, body) = post(&server, "1", &new.message_as(did, 1, 1, b"new key").to_string());
	assert_eq!((status, body["code"].as_str()), (503, Some("device_not_final")), "{body}");
	// A key the DID never had is a bad signature all the same.
	let stranger = Device::Ed(ed25519::Pair::from_seed(&[15; 32]));
	let (status, body) = post(&server, "1", &stranger.message_as(did, 1, 2, b"x").to_string());
	assert_eq!((status, body["code"].as_str()), (401, Some("bad_signature")), "{body}");
	let (status, _) = post(&server, "1", &old.message_as(did, 1, 3, b"old key").to_string());
	assert_eq!(status, 202);
	// The rotation is final.
	chain.set_pending_key(1, did, None);
	chain.set_device(1, record(&new));
	assert_eq!(post(&server, "1", &new.message_as(did, 1, 4, b"new key").to_string()).0, 202);
	// The old key's 64-byte signature does not even fit the new secp256k1 key.
	let (status, body) = post(&server, "1", &old.message_as(did, 1, 5, b"old key").to_string());
	assert_eq!((status, body["code"].as_str()), (400, Some("malformed")), "{body}");
}
