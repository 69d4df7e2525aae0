//! The embedded MQTT endpoint with a real MQTT client (rumqttc): a PUBACK only once the
//! message is stored, refusals on the client's error topic with nothing stored, a
//! message refused for now never acknowledged (it comes again), and W3bstream's topic
//! form.

mod common;

use std::{sync::Arc, time::Duration};

use common::{fixture, mqtt_endpoint, Tally};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use w3b_ingest::{mqtt::ConnectionLimits, Limits};
use w3b_storage::{EmbeddedStore, MessageStore};

/// Runs the MQTT endpoint on loopback; returns its port, the store and what the
/// ingestor reported.
async fn start(dir: &std::path::Path) -> (u16, Arc<EmbeddedStore>, Arc<Tally>) {
	start_with(dir, Limits::default(), ConnectionLimits::default()).await
}

/// [`start`] with these limits.
async fn start_with(
	dir: &std::path::Path,
	limits: Limits,
	connections: ConnectionLimits,
) -> (u16, Arc<EmbeddedStore>, Arc<Tally>) {
	let (chain, _) = fixture();
	let store = Arc::new(EmbeddedStore::open(dir).unwrap());
	let (port, tally) = mqtt_endpoint(store.clone(), chain, limits, connections).await;
	(port, store, tally)
}

/// Polls the client's event loop until `want` events of interest arrived (PUBACK pkids
/// and error payloads), within a bounded time.
async fn collect(
	eventloop: &mut rumqttc::EventLoop,
	acks: usize,
	errors: usize,
) -> (Vec<u16>, Vec<Value>) {
	let (mut got_acks, mut got_errors) = (Vec::new(), Vec::new());
	let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
	while got_acks.len() < acks || got_errors.len() < errors {
		let event = tokio::time::timeout_at(deadline, eventloop.poll())
			.await
			.expect("timed out waiting for the endpoint")
			.expect("connection works");
		match event {
			Event::Incoming(Packet::PubAck(ack)) => got_acks.push(ack.pkid),
			Event::Incoming(Packet::Publish(p)) => {
				got_errors.push(serde_json::from_slice(&p.payload).unwrap())
			}
			_ => {}
		}
	}
	(got_acks, got_errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_are_acknowledged_after_storage_and_refusals_reported() {
	let dir = tempfile::tempdir().unwrap();
	let (port, store, tally) = start(dir.path()).await;
	let (_, devices) = fixture();
	let mut options = MqttOptions::new("device-0", "127.0.0.1", port);
	options.set_keep_alive(Duration::from_secs(30));
	let (client, mut eventloop) = AsyncClient::new(options, 100);
	client.subscribe("w3b/errors/device-0", QoS::AtMostOnce).await.unwrap();

	// Good messages on both topic forms, from every curve.
	for (i, device) in devices[..3].iter().enumerate() {
		let body = device.message(1, 1, format!("reading {i}").as_bytes()).to_string();
		client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap();
	}
	let compat = devices[0].message(1, 2, b"w3bstream topic").to_string();
	let proto = prost::Message::encode_to_vec(&devices[1].proto(1, 2, b"protobuf payload"));
	client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, proto).await.unwrap();
	client
		.publish("1/push/publisher-token/TEMPERATURE", QoS::AtLeastOnce, false, compat)
		.await
		.unwrap();
	let (acks, errors) = collect(&mut eventloop, 5, 0).await;
	assert_eq!(acks.len(), 5);
	assert!(errors.is_empty(), "{errors:?}");
	assert_eq!(store.pending(1).unwrap().len(), 5, "every acknowledged message is stored");

	// Refusals: acknowledged (so not resent) but reported, and nothing stored.
	let mut forged = devices[0].message(1, 3, b"x");
	forged["payload"] = Value::from("0x00");
	let refused = [
		("w3b/projects/1/events", forged.to_string()),
		("w3b/projects/1/events", devices[0].message(1, 1, b"replayed seq").to_string()),
		("w3b/projects/2/events", devices[1].message(2, 5, b"paused").to_string()),
		("w3b/projects/1/events", "not json".to_string()),
		("somewhere/else", devices[1].message(1, 7, b"x").to_string()),
		("1/push/tok/OTHER_TYPE", devices[1].message(1, 8, b"x").to_string()),
	];
	for (topic, body) in refused {
		client.publish(topic, QoS::AtLeastOnce, false, body).await.unwrap();
	}
	let (acks, errors) = collect(&mut eventloop, 6, 6).await;
	assert_eq!(acks.len(), 6);
	let codes: Vec<&str> = errors.iter().map(|e| e["code"].as_str().unwrap()).collect();
	assert_eq!(
		codes,
		["bad_signature", "stale_seq", "project_not_active", "malformed", "malformed", "malformed"]
	);
	assert_eq!(store.pending(1).unwrap().len(), 5, "nothing refused was stored");
	// The metrics count every refusal by reason, those that never decoded too.
	assert_eq!(
		tally.refused_sorted(),
		["bad_signature", "malformed", "malformed", "malformed", "project_not_active", "stale_seq"]
	);
	assert_eq!(tally.stored.load(std::sync::atomic::Ordering::Relaxed), 5);

	// The endpoint keeps serving this and new clients.
	let body = devices[1].message(1, 9, b"after").to_string();
	client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap();
	collect(&mut eventloop, 1, 0).await;
	assert_eq!(store.pending(1).unwrap().len(), 6);
}

/// A device over its rate: the message the node refuses for now is not acknowledged
/// (acknowledged, the device would drop it), the connection closes, the client sends it
/// again on its persistent session, and it is stored once the rate allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_for_now_is_not_acknowledged_and_comes_again() {
	let dir = tempfile::tempdir().unwrap();
	let limits = Limits {
		device_rate: w3b_ingest::rate::Rate { per_second: 1.0, burst: 2.0 },
		..Limits::default()
	};
	let (port, store, tally) = start_with(dir.path(), limits, ConnectionLimits::default()).await;
	let (_, devices) = fixture();
	let mut options = MqttOptions::new("device-0", "127.0.0.1", port);
	options.set_keep_alive(Duration::from_secs(30)).set_clean_session(false);
	let (client, mut eventloop) = AsyncClient::new(options, 100);
	for seq in 1..=3 {
		let body = devices[0].message(1, seq, format!("reading {seq}").as_bytes()).to_string();
		client.publish("w3b/projects/1/events", QoS::AtLeastOnce, false, body).await.unwrap();
	}
	// Two within the burst are acknowledged; the third is not, and the endpoint hangs up.
	// (The client may lose a PUBACK that came with the hang-up: it sends that message
	// again, which is then acknowledged as a duplicate.)
	let (mut acks, mut closed) = (std::collections::BTreeSet::new(), 0);
	let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
	while acks.len() < 3 {
		match tokio::time::timeout_at(deadline, eventloop.poll()).await {
			Err(_) => panic!("only {acks:?} acknowledged, {closed} disconnections"),
			Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
				acks.insert(ack.pkid);
			}
			Ok(Ok(_)) => {}
			Ok(Err(_)) => {
				closed += 1;
				tokio::time::sleep(Duration::from_millis(300)).await;
			}
		}
	}
	assert!(closed >= 1, "the refused message was acknowledged");
	assert!(tally.refused_sorted().iter().any(|code| *code == "rate_limited"));
	let stored = store.pending(1).unwrap();
	assert_eq!(stored.len(), 3, "every acknowledged message is stored, each once");
}

/// Whether the server closed `stream` within `within` (a read sees the end).
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
	use tokio::io::AsyncReadExt;
	let mut byte = [0u8; 64];
	loop {
		match tokio::time::timeout(within, stream.read(&mut byte)).await {
			Ok(Ok(0)) | Ok(Err(_)) => return true,
			Ok(Ok(_)) => continue,
			Err(_) => return false,
		}
	}
}

/// Connections cost the node only within bounds: past the per-address cap a connection
/// is closed at once, one that never sends CONNECT is closed after the CONNECT timeout,
/// and a connected client silent past its keep-alive and a half is closed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_silent_ones_closed() {
	use tokio::{io::AsyncWriteExt, net::TcpStream};
	let dir = tempfile::tempdir().unwrap();
	let connections = ConnectionLimits {
		max_connections: 100,
		max_per_address: 2,
		connect_timeout: Duration::from_millis(500),
		..Default::default()
	};
	let (port, _, tally) = start_with(dir.path(), Limits::default(), connections).await;
	let connect = || TcpStream::connect(("127.0.0.1", port));
	let mut first = connect().await.unwrap();
	let mut second = connect().await.unwrap();
	let mut third = connect().await.unwrap();
	assert!(closed_within(&mut third, Duration::from_secs(2)).await, "over the cap: closed");
	assert!(tally.refused_sorted().contains(&"too_many_connections"));
	// The first two sent nothing: closed after the CONNECT timeout, not before.
	assert!(!closed_within(&mut first, Duration::from_millis(200)).await);
	assert!(closed_within(&mut first, Duration::from_secs(2)).await);
	assert!(closed_within(&mut second, Duration::from_secs(2)).await);
	// A client sending its CONNECT a byte at a time is closed at the CONNECT timeout
	// all the same.
	let mut slow = connect().await.unwrap();
	let mut hello = bytes::BytesMut::new();
	rumqttc::mqttbytes::v4::Connect::new("a-slow-client-with-a-long-name")
		.write(&mut hello)
		.unwrap();
	let started = std::time::Instant::now();
	let mut cut = false;
	for byte in hello.iter() {
		tokio::time::sleep(Duration::from_millis(100)).await;
		if slow.write_all(&[*byte]).await.is_err() || closed_within(&mut slow, Duration::ZERO).await
		{
			cut = true;
			break;
		}
	}
	assert!(cut, "a CONNECT dribbled over {:?} was served", started.elapsed());
	// Their places are free again. A client with a keep-alive of 1 s is served, then
	// closed once silent for 1.5 s.
	let mut client = connect().await.unwrap();
	let mut packet = bytes::BytesMut::new();
	let mut hello = rumqttc::mqttbytes::v4::Connect::new("quiet");
	hello.keep_alive = 1;
	hello.write(&mut packet).unwrap();
	client.write_all(&packet).await.unwrap();
	assert!(!closed_within(&mut client, Duration::from_millis(1200)).await, "within 1.5 s");
	assert!(closed_within(&mut client, Duration::from_secs(2)).await, "silent past 1.5 s");
}

/// Everything the endpoint sends on `stream` until it closes it or `within` passes.
async fn drain(stream: &mut tokio::net::TcpStream, within: Duration) -> (usize, bool) {
	use tokio::io::AsyncReadExt;
	let deadline = tokio::time::Instant::now() + within;
	let mut buffer = vec![0u8; 64 << 10];
	let mut total = 0;
	loop {
		match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
			Ok(Ok(0)) | Ok(Err(_)) => return (total, true),
			Ok(Ok(read)) => total += read,
			Err(_) => return (total, false),
		}
	}
}

/// A connected client subscribed to its error topic, on a raw socket.
async fn raw_client(port: u16, client_id: &str) -> tokio::net::TcpStream {
	use tokio::io::AsyncWriteExt;
	let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
	let mut packets = bytes::BytesMut::new();
	rumqttc::mqttbytes::v4::Connect::new(client_id).write(&mut packets).unwrap();
	rumqttc::mqttbytes::v4::Subscribe::new(format!("w3b/errors/{client_id}"), QoS::AtMostOnce)
		.write(&mut packets)
		.unwrap();
	stream.write_all(&packets).await.unwrap();
	stream
}

/// A client cannot make the endpoint write much more than it sends: every refused
/// publish is reported on the client's error topic, so 4-byte junk publishes (empty
/// topic and payload) once each cost the node a report of some hundred bytes plus the
/// client id (up to 64 KiB). Client ids are short, publishes are charged to their
/// sender before they are decoded, and error reports stop at a bound per read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_publishes_cost_their_sender_and_get_no_flood_of_reports() {
	use tokio::io::AsyncWriteExt;
	let dir = tempfile::tempdir().unwrap();
	let limits = Limits {
		sender_rate: w3b_ingest::rate::Rate { per_second: 1_000.0, burst: 20_000.0 },
		..Limits::default()
	};
	let (port, store, tally) = start_with(dir.path(), limits, ConnectionLimits::default()).await;
	let junk = [0x30u8, 0x02, 0x00, 0x00].repeat(15_000);

	// A client id of 60,000 bytes is refused at CONNECT.
	let long = "x".repeat(60_000);
	let mut stream = raw_client(port, &long).await;
	stream.write_all(&junk).await.ok();
	let (sent, closed) = drain(&mut stream, Duration::from_secs(5)).await;
	assert!(closed, "a client with a 60,000-byte id was served");
	assert!(sent < 64, "{sent} bytes sent to a client whose id was refused");

	// Within its sender's budget (1,000 a second, bursts of 20,000): 15,000 junk
	// publishes (60 KB) get a bounded answer, not 15,000 reports (about 2 MB).
	let mut stream = raw_client(port, "junk").await;
	stream.write_all(&junk).await.unwrap();
	let (sent, _) = drain(&mut stream, Duration::from_secs(3)).await;
	assert!(sent < 256 << 10, "{sent} bytes of reports for 60 KB of junk");
	assert!(tally.refused_sorted().contains(&"malformed"));

	// The sender's budget runs out during the next flood: the rest is refused before it
	// is decoded, and the client is closed to come back later.
	let mut stream = raw_client(port, "junk-again").await;
	stream.write_all(&junk).await.ok();
	let (sent, closed) = drain(&mut stream, Duration::from_secs(5)).await;
	assert!(closed && sent < 128 << 10, "{sent} bytes, closed: {closed}");
	assert!(tally.refused_sorted().contains(&"rate_limited"));
	assert!(store.pending(1).unwrap().is_empty());
}

/// While the node is behind on one project, the publishes before the first one to that
/// project in a read (to projects it keeps up with) are taken and acknowledged; that one
/// and those after it are not (the connection closes), nothing of them is stored, and
/// they are taken once the node caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_publishes_from_the_first_to_a_project_the_node_is_behind_on_wait() {
	use rumqttc::mqttbytes::v4::Publish;
	use tokio::io::AsyncWriteExt;
	let dir = tempfile::tempdir().unwrap();
	let (chain, devices) = fixture();
	chain.set_project(4, w3b_primitives::ProjectStatus::Active);
	common::register(&chain, 4, &devices[0], w3b_primitives::project::DeviceStatus::Active);
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let backlog = Arc::new(w3b_ingest::backlog::Backlog::new(Duration::from_secs(6)));
	let (port, tally) = common::mqtt_endpoint_behind(
		store.clone(),
		chain,
		Limits::default(),
		ConnectionLimits::default(),
		Some(backlog.clone()),
	)
	.await;
	assert_eq!(backlog.report(1, Duration::from_secs(13), false), Some(true), "behind on 1");
	let publishes = [
		(1, "w3b/projects/4/events", devices[0].message(4, 1, b"kept up with").to_string()),
		(2, "w3b/projects/1/events", devices[0].message(1, 1, b"behind on").to_string()),
		(3, "w3b/projects/4/events", devices[0].message(4, 2, b"after it").to_string()),
	];
	let write = |from: u16| {
		let mut packets = bytes::BytesMut::new();
		for (pkid, topic, body) in publishes.iter().filter(|(pkid, ..)| *pkid >= from) {
			let mut publish = Publish::new(*topic, QoS::AtLeastOnce, body.clone());
			publish.pkid = *pkid;
			publish.write(&mut packets).unwrap();
		}
		packets
	};
	// PUBACK pkids in what the endpoint sent until it closed the connection.
	async fn acknowledged(stream: &mut tokio::net::TcpStream) -> (Vec<u16>, bool) {
		use tokio::io::AsyncReadExt;
		let (mut sent, mut buffer) = (Vec::new(), vec![0u8; 4096]);
		let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
		let closed = loop {
			match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
				Ok(Ok(0)) | Ok(Err(_)) => break true,
				Ok(Ok(read)) => sent.extend_from_slice(&buffer[..read]),
				Err(_) => break false,
			}
		};
		let acks = sent
			.windows(4)
			.filter(|w| w[0] == 0x40 && w[1] == 0x02)
			.map(|w| u16::from_be_bytes([w[2], w[3]]))
			.collect();
		(acks, closed)
	}

	let mut stream = raw_client(port, "mixed").await;
	stream.write_all(&write(1)).await.unwrap();
	let (acks, closed) = acknowledged(&mut stream).await;
	assert_eq!(acks, [1], "only the publish before the first to the project behind");
	assert!(closed, "closed, for the client to send the rest again");
	assert_eq!(store.pending(4).unwrap().len(), 1);
	assert!(store.pending(1).unwrap().is_empty(), "nothing of the refused stored");
	assert!(tally.refused_sorted().iter().all(|code| *code == "backlogged"));

	// Caught up: the rest, sent again, is taken.
	assert_eq!(backlog.report(1, Duration::from_secs(1), true), Some(false));
	let mut stream = raw_client(port, "mixed").await;
	stream.write_all(&write(2)).await.unwrap();
	let (acks, _) = acknowledged(&mut stream).await;
	assert_eq!(acks, [2, 3]);
	assert_eq!(store.pending(1).unwrap().len(), 1);
	assert_eq!(store.pending(4).unwrap().len(), 2);
}
