//! Property-based fuzzing of the embedded MQTT endpoint through its socket, as a
//! stranger reaches it: random bytes, a valid CONNECT followed by random bytes, and valid
//! packets carrying random topics and payloads, each written in random pieces. For every
//! connection the endpoint answers only well-formed packets, a CONNECT with a successful
//! CONNACK, every QoS 1 publish with its PUBACK in order and every refusal on the error
//! topic, and closes once the client has sent everything; no connection task panics.
//! Afterwards a well-behaved client still publishes a signed message, gets its PUBACK,
//! and the store holds exactly that message.

mod common;

use std::{
	sync::{Arc, Mutex},
	time::Duration,
};

use bytes::BytesMut;
use common::{fixture, Tally};
use proptest::{
	prelude::*,
	sample::Index,
	test_runner::{Config as ProptestConfig, TestRunner},
};
use rumqttc::mqttbytes::{
	v4::{Connect, Packet, PingReq, Publish, Subscribe},
	QoS,
};
use serde_json::Value;
use sp_core::H256;
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::TcpStream,
	time::timeout,
};
use w3b_ingest::{
	mqtt::{ConnectionLimits, MAX_PACKET},
	now_ms,
	wire::{ProtoMessage, WireMessage},
	ChainView, Ingestor, Limits,
};
use w3b_primitives::Message;
use w3b_storage::{EmbeddedStore, MessageStore};

/// Cases (connections) the endpoint is fuzzed with.
const CASES: u32 = 256;

/// Longest any single step of a case may take (connect, an answer, the close).
const STEP: Duration = Duration::from_secs(10);

/// A CONNECT of a random client.
#[derive(Debug, Clone)]
struct Hello {
	client_id: String,
	keep_alive: u16,
	clean_session: bool,
}

impl Hello {
	fn packet(&self) -> BytesMut {
		let mut connect = Connect::new(self.client_id.clone());
		connect.keep_alive = self.keep_alive;
		connect.clean_session = self.clean_session;
		let mut out = BytesMut::new();
		connect.write(&mut out).expect("a CONNECT encodes");
		out
	}
}

fn hello() -> impl Strategy<Value = Hello> {
	("[a-zA-Z0-9/+#-]{0,23}", any::<u16>(), any::<bool>()).prop_map(
		|(client_id, keep_alive, clean_session)| Hello { client_id, keep_alive, clean_session },
	)
}

/// A packet a valid client may send after its CONNECT.
#[derive(Debug, Clone)]
enum Sent {
	Publish {
		topic: String,
		qos: u8,
		pkid: u16,
		retain: bool,
		payload: Vec<u8>,
	},
	PingReq,
	/// A subscription to a filter that is not the error topic.
	Subscribe {
		pkid: u16,
		filter: String,
	},
}

impl Sent {
	fn write(&self, out: &mut BytesMut) {
		match self {
			Sent::Publish { topic, qos, pkid, retain, payload } => {
				let qos = rumqttc::mqttbytes::qos(*qos).expect("0 to 2");
				let mut publish = Publish::new(topic.clone(), qos, payload.clone());
				publish.pkid = *pkid;
				publish.retain = *retain;
				publish.write(out).expect("a PUBLISH encodes");
			}
			Sent::PingReq => {
				PingReq.write(out).expect("a PINGREQ encodes");
			}
			Sent::Subscribe { pkid, filter } => {
				let mut subscribe = Subscribe::new(filter.clone(), QoS::AtMostOnce);
				subscribe.pkid = *pkid;
				subscribe.write(out).expect("a SUBSCRIBE encodes");
			}
		}
	}
}

/// A message of a registered device (or a random one) in a form the endpoint decodes,
/// with a signature that does not verify: refused whatever else it holds. With its
/// project and event type.
fn unsigned_message() -> impl Strategy<Value = (u64, String, Vec<u8>)> {
	(
		prop_oneof![Just(1u64), Just(2), any::<u64>()],
		any::<Option<Index>>(),
		any::<u64>(),
		prop_oneof![Just(now_ms()), any::<u64>()],
		prop_oneof![Just("TEMPERATURE".to_string()), "[A-Z_]{0,70}"],
		prop_oneof![
			prop::collection::vec(any::<u8>(), 0..64),
			// Over the endpoint's 64 KiB payload limit, well within a packet in JSON.
			(65_000usize..70_000).prop_map(|n| vec![0xa5; n]),
		],
		prop::collection::vec(any::<u8>(), 0..70),
		any::<bool>(),
	)
		.prop_map(|(project, device, seq, timestamp_ms, event_type, payload, signature, json)| {
			let (_, devices) = fixture();
			let device = match device {
				Some(index) => devices[index.index(devices.len())].key().device_id(),
				None => H256::repeat_byte(0xee),
			};
			let message = Message {
				project,
				device,
				seq,
				timestamp_ms,
				event_type: event_type.clone().into_bytes(),
				payload,
				encrypted: false,
			};
			let bytes = if json {
				serde_json::to_vec(&WireMessage::new(&message, &signature)).expect("serializes")
			} else {
				prost::Message::encode_to_vec(&ProtoMessage::new(&message, &signature))
			};
			(project, event_type, bytes)
		})
}

fn topic() -> impl Strategy<Value = String> {
	prop_oneof![
		(0u64..4).prop_map(|p| format!("w3b/projects/{p}/events")),
		(0u64..4, "[a-z]{0,8}", prop_oneof![Just("TEMPERATURE".to_string()), "[A-Z]{0,8}"])
			.prop_map(|(p, token, ty)| format!("{p}/push/{token}/{ty}")),
		"[a-z0-9/]{1,40}",
		"\\PC{1,20}",
	]
}

/// A topic and a payload: random bytes, or a message on a random topic or on its own.
fn topic_and_payload() -> impl Strategy<Value = (String, Vec<u8>)> {
	prop_oneof![
		(topic(), prop::collection::vec(any::<u8>(), 0..600)),
		(topic(), unsigned_message()).prop_map(|(topic, (_, _, bytes))| (topic, bytes)),
		(unsigned_message(), any::<bool>()).prop_map(|((project, event_type, bytes), push)| {
			let topic = match push {
				true => format!("{project}/push/token/{event_type}"),
				false => format!("w3b/projects/{project}/events"),
			};
			(topic, bytes)
		}),
	]
}

fn sent() -> impl Strategy<Value = Sent> {
	prop_oneof![
		6 => (topic_and_payload(), 0u8..=2, 1..=u16::MAX, any::<bool>()).prop_map(
			|((topic, payload), qos, pkid, retain)| Sent::Publish {
				topic,
				qos,
				pkid,
				retain,
				payload,
			}
		),
		1 => Just(Sent::PingReq),
		1 => (1..=u16::MAX, "[a-z0-9/+#]{1,30}")
			.prop_filter("not the error topic", |(_, f)| !f.starts_with("w3b/errors/"))
			.prop_map(|(pkid, filter)| Sent::Subscribe { pkid, filter }),
	]
}

/// What one connection does.
#[derive(Debug, Clone)]
enum Case {
	/// Random bytes.
	Raw { bytes: Vec<u8> },
	/// A valid CONNECT, then random bytes (starting with a plausible packet type).
	ConnectThen { hello: Hello, first: u8, bytes: Vec<u8> },
	/// A valid CONNECT, an optional subscription to the error topic, then valid packets.
	Packets { hello: Hello, errors: bool, sent: Vec<Sent> },
	/// A valid CONNECT and a PUBLISH larger than the endpoint takes.
	Oversized { hello: Hello, size: usize },
}

fn case() -> impl Strategy<Value = Case> {
	prop_oneof![
		2 => prop::collection::vec(any::<u8>(), 0..2048).prop_map(|bytes| Case::Raw { bytes }),
		2 => (
			hello(),
			prop::sample::select(vec![0x10u8, 0x30, 0x32, 0x34, 0x3b, 0x62, 0x82, 0xc0, 0xe0, 0xf0]),
			prop::collection::vec(any::<u8>(), 0..2048),
		)
			.prop_map(|(hello, first, bytes)| Case::ConnectThen { hello, first, bytes }),
		5 => (hello(), any::<bool>(), prop::collection::vec(sent(), 0..12))
			.prop_map(|(hello, errors, sent)| Case::Packets { hello, errors, sent }),
		1 => (hello(), MAX_PACKET + 1..MAX_PACKET + 4096)
			.prop_map(|(hello, size)| Case::Oversized { hello, size }),
	]
}

/// Writes `bytes` in pieces cut at `cuts`, letting the endpoint read between them. A
/// write the endpoint refuses (it closed the connection) ends the writing.
async fn write_in_pieces(stream: &mut TcpStream, bytes: &[u8], cuts: &[Index]) {
	let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
	at.push(0);
	at.push(bytes.len());
	at.sort_unstable();
	for piece in at.windows(2) {
		let piece = &bytes[piece[0]..piece[1]];
		if piece.is_empty() {
			continue;
		}
		match timeout(STEP, stream.write_all(piece)).await {
			Ok(Ok(())) => tokio::time::sleep(Duration::from_micros(200)).await,
			Ok(Err(_)) => return,
			Err(_) => panic!("the endpoint stopped reading for {STEP:?}"),
		}
	}
}

/// Everything the endpoint sends until it closes the connection, as packets. Fails if
/// it neither closes nor sends for [`STEP`], or sends something that is not an MQTT
/// packet. A connection closed with a reset (the endpoint hung up on unread input) may
/// lose the end of what was sent: a cut last packet is then not a failure.
async fn answers(stream: &mut TcpStream) -> Result<Vec<Packet>, TestCaseError> {
	let mut received = BytesMut::new();
	let reset = loop {
		match timeout(STEP, stream.read_buf(&mut received)).await {
			Ok(Ok(0)) => break false,
			Ok(Err(_)) => break true,
			Ok(Ok(_)) => {}
			Err(_) => return Err(TestCaseError::fail("the endpoint did not close the connection")),
		}
	};
	let mut packets = Vec::new();
	loop {
		match Packet::read(&mut received, usize::MAX) {
			Ok(packet) => packets.push(packet),
			Err(rumqttc::mqttbytes::Error::InsufficientBytes(_))
				if received.is_empty() || reset =>
			{
				return Ok(packets)
			}
			Err(e) => return Err(TestCaseError::fail(format!("endpoint sent garbage: {e:?}"))),
		}
	}
}

/// Connects and says hello; checks the CONNACK (a success, whatever the client).
async fn connect(port: u16, hello: &Hello) -> Result<TcpStream, TestCaseError> {
	let mut stream = timeout(STEP, TcpStream::connect(("127.0.0.1", port)))
		.await
		.map_err(|_| TestCaseError::fail("connect timed out"))?
		.map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
	stream.write_all(&hello.packet()).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
	let mut connack = [0u8; 4];
	timeout(STEP, stream.read_exact(&mut connack))
		.await
		.map_err(|_| TestCaseError::fail("no CONNACK"))?
		.map_err(|e| TestCaseError::fail(format!("no CONNACK: {e}")))?;
	prop_assert_eq!(connack, [0x20, 0x02, u8::from(!hello.clean_session), 0x00]);
	Ok(stream)
}

async fn run_case(port: u16, case: Case, cuts: Vec<Index>) -> Result<(), TestCaseError> {
	match case {
		Case::Raw { bytes } => {
			let mut stream = TcpStream::connect(("127.0.0.1", port))
				.await
				.map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
			write_in_pieces(&mut stream, &bytes, &cuts).await;
			let _ = stream.shutdown().await;
			answers(&mut stream).await?;
		}
		Case::ConnectThen { hello, first, bytes } => {
			let mut stream = connect(port, &hello).await?;
			write_in_pieces(&mut stream, &[&[first][..], &bytes].concat(), &cuts).await;
			let _ = stream.shutdown().await;
			answers(&mut stream).await?;
		}
		Case::Oversized { hello, size } => {
			let mut stream = connect(port, &hello).await?;
			let mut out = BytesMut::new();
			Sent::Publish {
				topic: "w3b/projects/1/events".into(),
				qos: 1,
				pkid: 1,
				retain: false,
				payload: vec![b'{'; size],
			}
			.write(&mut out);
			write_in_pieces(&mut stream, &out, &cuts).await;
			let _ = stream.shutdown().await;
			let packets = answers(&mut stream).await?;
			prop_assert!(packets.is_empty(), "answered an oversized packet: {:?}", packets);
		}
		Case::Packets { hello, errors, sent } => {
			let mut stream = connect(port, &hello).await?;
			if errors {
				let mut out = BytesMut::new();
				let filter = format!("w3b/errors/{}", hello.client_id);
				Sent::Subscribe { pkid: 1, filter }.write(&mut out);
				stream.write_all(&out).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
				let mut suback = [0u8; 5];
				timeout(STEP, stream.read_exact(&mut suback))
					.await
					.map_err(|_| TestCaseError::fail("no SUBACK"))?
					.map_err(|e| TestCaseError::fail(format!("no SUBACK: {e}")))?;
				prop_assert_eq!(suback, [0x90, 0x03, 0x00, 0x01, 0x00]);
			}
			let mut out = BytesMut::new();
			for packet in &sent {
				packet.write(&mut out);
			}
			write_in_pieces(&mut stream, &out, &cuts).await;
			stream.shutdown().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
			let packets = answers(&mut stream).await?;
			check_answers(&hello, errors, &sent, &packets)?;
		}
	}
	Ok(())
}

/// Every publish here is refused (none is signed), for good: each QoS 1 publish is
/// acknowledged in order, each is reported on the error topic when subscribed, each
/// PINGREQ and SUBSCRIBE answered.
fn check_answers(
	hello: &Hello,
	errors: bool,
	sent: &[Sent],
	packets: &[Packet],
) -> Result<(), TestCaseError> {
	let publishes: Vec<(u8, u16)> = sent
		.iter()
		.filter_map(|s| match s {
			Sent::Publish { qos, pkid, .. } => Some((*qos, if *qos == 0 { 0 } else { *pkid })),
			_ => None,
		})
		.collect();
	let want_acks: Vec<u16> =
		publishes.iter().filter(|(qos, _)| *qos == 1).map(|(_, pkid)| *pkid).collect();
	let want_errors: Vec<u16> =
		if errors { publishes.iter().map(|(_, pkid)| *pkid).collect() } else { Vec::new() };
	let (mut acks, mut reported, mut pongs, mut subacks) = (Vec::new(), Vec::new(), 0, 0);
	for packet in packets {
		match packet {
			Packet::PubAck(ack) => acks.push(ack.pkid),
			Packet::Publish(p) => {
				prop_assert_eq!(&p.topic, &format!("w3b/errors/{}", hello.client_id));
				let body: Value = serde_json::from_slice(&p.payload)
					.map_err(|e| TestCaseError::fail(format!("error body: {e}")))?;
				prop_assert!(body["code"].is_string() && body["message"].is_string());
				reported.push(body["pkid"].as_u64().unwrap_or(u64::MAX) as u16);
			}
			Packet::PingResp => pongs += 1,
			Packet::SubAck(_) => subacks += 1,
			other => prop_assert!(false, "unexpected {:?}", other),
		}
	}
	prop_assert_eq!(acks, want_acks, "PUBACKs");
	prop_assert_eq!(reported, want_errors, "refusals reported");
	prop_assert_eq!(pongs, sent.iter().filter(|s| matches!(s, Sent::PingReq)).count());
	prop_assert_eq!(subacks, sent.iter().filter(|s| matches!(s, Sent::Subscribe { .. })).count());
	Ok(())
}

/// Panics on threads other than the test's (the endpoint's tasks), recorded instead of
/// printed.
fn record_panics() -> Arc<Mutex<Vec<String>>> {
	let panics = Arc::new(Mutex::new(Vec::new()));
	let recorded = panics.clone();
	let test_thread = std::thread::current().id();
	std::panic::set_hook(Box::new(move |info| {
		if std::thread::current().id() != test_thread {
			recorded.lock().unwrap().push(info.to_string());
		}
	}));
	panics
}

#[test]
fn the_endpoint_survives_hostile_connections() {
	let panics = record_panics();
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let dir = tempfile::tempdir().unwrap();
	let (chain, devices) = fixture();
	let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
	let tally = Arc::new(Tally::default());
	let ingestor = Arc::new(
		Ingestor::new(store.clone(), chain as Arc<dyn ChainView>, Limits::default())
			.with_observer(tally.clone()),
	);
	let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
	let port = listener.local_addr().unwrap().port();
	runtime.spawn(w3b_ingest::mqtt::serve(listener, ingestor, ConnectionLimits::default()));

	let mut runner = TestRunner::new(ProptestConfig {
		cases: CASES,
		failure_persistence: None,
		..ProptestConfig::default()
	});
	let strategy = (case(), prop::collection::vec(any::<Index>(), 0..4));
	if let Err(e) =
		runner.run(&strategy, |(case, cuts)| runtime.block_on(run_case(port, case, cuts)))
	{
		panic!("{e}");
	}
	assert!(panics.lock().unwrap().is_empty(), "endpoint tasks panicked: {:?}", panics.lock());

	// A well-behaved client is still served, and only its message was ever stored.
	let body = devices[0].message(1, 1, b"after the fuzzing").to_string();
	let expected = match w3b_ingest::wire::parse_one(body.as_bytes()) {
		Ok((message, _)) => message.hash(),
		Err(e) => panic!("the sample message decodes: {e}"),
	};
	runtime.block_on(async {
		let mut options = rumqttc::MqttOptions::new("well-behaved", "127.0.0.1", port);
		options.set_keep_alive(Duration::from_secs(30));
		let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
		client
			.publish("w3b/projects/1/events", rumqttc::QoS::AtLeastOnce, false, body)
			.await
			.unwrap();
		let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
		loop {
			let event = tokio::time::timeout_at(deadline, eventloop.poll())
				.await
				.expect("a PUBACK within 20 s")
				.expect("the connection works");
			if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) = event {
				break;
			}
		}
	});
	assert_eq!(store.pending(1).unwrap(), vec![expected]);
	assert_eq!(tally.stored.load(std::sync::atomic::Ordering::Relaxed), 1);
	assert!(panics.lock().unwrap().is_empty(), "endpoint tasks panicked: {:?}", panics.lock());
}
