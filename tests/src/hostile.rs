//! Hostile traffic against one node's ingestion endpoints, beside honest devices: junk
//! and badly signed messages over HTTP and MQTT, a flood of MQTT connections that never
//! say CONNECT, and clients that send their CONNECT a byte at a time. Each kind comes
//! from its own loopback address (127.0.0.2 and up), so that the node's per-address
//! limits tell it from the honest devices on 127.0.0.1. Everything is bounded: it runs
//! until stopped, at a paced rate, with at most [`FLOOD_CONNECTIONS`] sockets held.

use std::{
	net::{IpAddr, Ipv4Addr, SocketAddr},
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc,
	},
	thread::JoinHandle,
	time::{Duration, Instant},
};

use sp_core::ed25519;
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpSocket, TcpStream},
};

/// What the hostile applet's `start` does, by payload (see `sdk/examples/hostile`): each
/// asks the engine for far more than it gives (time, memory, stack, host-call work).
pub const APPLET_ATTACKS: [&str; 10] = [
	"spin",
	"grow",
	"recurse",
	"gather",
	"huge_random",
	"fill_random",
	"flood_metrics",
	"hoard_data",
	"flood_state",
	"flood_log",
];

/// MQTT connections the flood holds open at most.
pub const FLOOD_CONNECTIONS: usize = 600;
/// Slow clients at once.
pub const SLOW_CLIENTS: usize = 40;

/// What the attackers did and what the node answered.
#[derive(Default, Debug)]
pub struct Counts {
	/// HTTP requests of junk or badly signed messages sent.
	pub http_requests: AtomicU64,
	/// Messages in them.
	pub http_messages: AtomicU64,
	/// Answered with a refusal (4xx), or with per-message refusals only.
	pub http_refused: AtomicU64,
	/// Answered `rate_limited`, whole or for some of its messages (the sender's budget
	/// was spent: they were not checked).
	pub http_throttled: AtomicU64,
	/// Answered with anything the node should not answer junk with (2xx with a stored
	/// message, 5xx).
	pub http_wrong: AtomicU64,
	/// MQTT publishes of junk or badly signed messages sent.
	pub mqtt_publishes: AtomicU64,
	/// Flood connections opened.
	pub flood_opened: AtomicU64,
	/// Flood connections the node closed (over the per-address cap at once, the others
	/// at the CONNECT timeout).
	pub flood_closed: AtomicU64,
	/// Slow clients the node closed before their CONNECT was complete.
	pub slow_closed: AtomicU64,
}

/// The attackers, running until [`HostileLoad::stop`].
pub struct HostileLoad {
	stop: Arc<AtomicBool>,
	threads: Vec<JoinHandle<()>>,
	/// What they did so far.
	pub counts: Arc<Counts>,
}

impl HostileLoad {
	/// Starts every attacker against the node's HTTP and MQTT ports on 127.0.0.1, for
	/// `project`, forging messages of its registered device `victim`.
	pub fn start(http: u16, mqtt: u16, project: u64, victim: ed25519::Pair) -> Self {
		let stop = Arc::new(AtomicBool::new(false));
		let counts = Arc::new(Counts::default());
		let spawn = |name: &str, attack: Attack| {
			let (stop, counts, victim) = (stop.clone(), counts.clone(), victim.clone());
			std::thread::Builder::new()
				.name(name.into())
				.spawn(move || {
					let runtime = tokio::runtime::Builder::new_current_thread()
						.enable_all()
						.build()
						.expect("tokio");
					let target = Target { http, mqtt, project, victim, stop, counts };
					runtime.block_on(attack.run(target));
				})
				.expect("attacker thread")
		};
		let threads = vec![
			spawn("junk-http", Attack::JunkHttp),
			spawn("junk-mqtt", Attack::JunkMqtt),
			spawn("flood", Attack::Flood),
			spawn("slow", Attack::Slow),
		];
		HostileLoad { stop, threads, counts }
	}

	/// Stops every attacker and waits for them.
	pub fn stop(self) -> Arc<Counts> {
		self.stop.store(true, Ordering::Relaxed);
		for thread in self.threads {
			thread.join().expect("an attacking thread panicked");
		}
		self.counts
	}
}

struct Target {
	http: u16,
	mqtt: u16,
	project: u64,
	victim: ed25519::Pair,
	stop: Arc<AtomicBool>,
	counts: Arc<Counts>,
}

impl Target {
	fn stopped(&self) -> bool {
		self.stop.load(Ordering::Relaxed)
	}
}

enum Attack {
	JunkHttp,
	JunkMqtt,
	Flood,
	Slow,
}

/// A TCP connection to `port` on 127.0.0.1 from `source` (another loopback address).
async fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
	let socket = TcpSocket::new_v4()?;
	socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
	socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// A message of `victim` whose signature does not verify (its payload changed after
/// signing).
fn forged(victim: &ed25519::Pair, project: u64, seq: u64) -> serde_json::Value {
	let (_, json) = crate::signed_message_with_hash(victim, project, seq, b"{\"t\":20}");
	let mut message: serde_json::Value = serde_json::from_str(&json).expect("JSON");
	message["payload"] = serde_json::json!("0x7b2274223a39397d");
	message
}

/// The HTTP status and answer of one `POST` of `body` (a connection each: `Connection:
/// close`).
async fn post(
	source: Ipv4Addr,
	port: u16,
	path: &str,
	body: &[u8],
) -> std::io::Result<(u16, String)> {
	let mut stream = connect_from(source, port).await?;
	let head = format!(
		"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
		body.len()
	);
	stream.write_all(head.as_bytes()).await?;
	stream.write_all(body).await?;
	let mut answer = Vec::new();
	tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
		.await
		.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))??;
	let answer = String::from_utf8_lossy(&answer).into_owned();
	let status = answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
	Ok((status, answer))
}

impl Attack {
	async fn run(self, target: Target) {
		match self {
			Attack::JunkHttp => junk_http(target).await,
			Attack::JunkMqtt => junk_mqtt(target).await,
			Attack::Flood => flood(target).await,
			Attack::Slow => slow(target).await,
		}
	}
}

/// From 127.0.0.2, ten requests a second, in turn: random bytes, 64 KiB of empty
/// messages (twenty thousand: over the per-request cap, refused before decoding; a body
/// of 4 MiB would cost more than the whole budget, refused unparsed), badly signed messages of a registered device (a thousand, and
/// three hundred every other time: a budget under 500/s refuses the thousand whole,
/// however slowly they come, and checks the three hundred).
async fn junk_http(target: Target) {
	let source = Ipv4Addr::new(127, 0, 0, 2);
	let path = format!("/v1/projects/{}/events", target.project);
	let empties = format!("[{}{{}}]", "{},".repeat((64 << 10) / 3 - 1)).into_bytes();
	// Above any seq an honest device here uses (they start at the clock in ms): below
	// it, a message is refused as stale before its signature is looked at.
	let mut seq = u64::MAX / 2;
	for round in 0u64.. {
		if target.stopped() {
			return;
		}
		let (body, messages) = match round % 3 {
			0 => ((0..1024).map(|i| (i * 7 + round) as u8).collect::<Vec<u8>>(), 1),
			1 => (empties.clone(), (64 << 10) / 3),
			_ => {
				let count = if round % 2 == 0 { 1_000 } else { 300 };
				let forged: Vec<_> = (0..count)
					.map(|_| {
						seq += 1;
						forged(&target.victim, target.project, seq)
					})
					.collect();
				(serde_json::to_vec(&forged).expect("JSON"), count)
			}
		};
		let counts = &target.counts;
		counts.http_requests.fetch_add(1, Ordering::Relaxed);
		counts.http_messages.fetch_add(messages, Ordering::Relaxed);
		match post(source, target.http, &path, &body).await {
			// A batch answers 200 with a refusal per message: never a hash.
			Ok((200 | 400..=499, answer)) if !answer.contains("\"hash\"") => {
				counts.http_refused.fetch_add(1, Ordering::Relaxed);
				if answer.contains("rate_limited") {
					counts.http_throttled.fetch_add(1, Ordering::Relaxed);
				}
			}
			_ => {
				counts.http_wrong.fetch_add(1, Ordering::Relaxed);
			}
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// From 127.0.0.5: one MQTT session publishing, at 200 a second, badly signed messages
/// and undecodable payloads with QoS 1; it reconnects when the node closes it.
async fn junk_mqtt(target: Target) {
	use rumqttc::mqttbytes::{
		v4::{Connect, Publish},
		QoS,
	};
	let source = Ipv4Addr::new(127, 0, 0, 5);
	let topic = format!("w3b/projects/{}/events", target.project);
	let mut seq = u64::MAX / 2 + (1 << 40);
	while !target.stopped() {
		let Ok(mut stream) = connect_from(source, target.mqtt).await else {
			tokio::time::sleep(Duration::from_millis(100)).await;
			continue;
		};
		let mut packet = bytes::BytesMut::new();
		Connect::new("junk").write(&mut packet).expect("CONNECT");
		if stream.write_all(&packet).await.is_err() {
			continue;
		}
		let mut pkid = 0u16;
		while !target.stopped() {
			packet.clear();
			pkid = pkid % 60_000 + 1;
			seq += 1;
			let payload = match seq % 2 {
				0 => forged(&target.victim, target.project, seq).to_string().into_bytes(),
				_ => vec![0xff; 64],
			};
			let mut publish = Publish::new(&topic, QoS::AtLeastOnce, payload);
			publish.pkid = pkid;
			publish.write(&mut packet).expect("PUBLISH");
			if stream.write_all(&packet).await.is_err() {
				break;
			}
			target.counts.mqtt_publishes.fetch_add(1, Ordering::Relaxed);
			// Drain what the node answers (PUBACKs) without reading it.
			let mut sink = [0u8; 4096];
			let _ = tokio::time::timeout(Duration::from_millis(5), stream.read(&mut sink)).await;
		}
	}
}

/// From 127.0.0.3: holds up to [`FLOOD_CONNECTIONS`] connections that never send a byte,
/// opening new ones as the node closes them.
async fn flood(target: Target) {
	let source = Ipv4Addr::new(127, 0, 0, 3);
	let open = Arc::new(AtomicU64::new(0));
	while !target.stopped() {
		if open.load(Ordering::Relaxed) as usize >= FLOOD_CONNECTIONS {
			tokio::time::sleep(Duration::from_millis(50)).await;
			continue;
		}
		let Ok(mut stream) = connect_from(source, target.mqtt).await else {
			tokio::time::sleep(Duration::from_millis(50)).await;
			continue;
		};
		target.counts.flood_opened.fetch_add(1, Ordering::Relaxed);
		open.fetch_add(1, Ordering::Relaxed);
		let (open, counts, stop) = (open.clone(), target.counts.clone(), target.stop.clone());
		tokio::spawn(async move {
			let mut byte = [0u8; 1];
			let deadline = Instant::now() + Duration::from_secs(60);
			while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
				match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte)).await
				{
					Ok(Ok(0)) | Ok(Err(_)) => {
						counts.flood_closed.fetch_add(1, Ordering::Relaxed);
						break;
					}
					_ => {}
				}
			}
			open.fetch_sub(1, Ordering::Relaxed);
		});
		tokio::task::yield_now().await;
	}
	// Let the holders see the stop.
	tokio::time::sleep(Duration::from_millis(300)).await;
}

/// From 127.0.0.4: [`SLOW_CLIENTS`] clients at a time sending a CONNECT a byte every
/// half second (it would take them longer than the CONNECT timeout).
async fn slow(target: Target) {
	use rumqttc::mqttbytes::v4::Connect;
	let source = Ipv4Addr::new(127, 0, 0, 4);
	let mut hello = bytes::BytesMut::new();
	let mut connect = Connect::new("a-very-slow-client-with-a-long-id-to-spell-out");
	connect.keep_alive = 60;
	connect.write(&mut hello).expect("CONNECT");
	let hello = hello.to_vec();
	let mut clients = tokio::task::JoinSet::new();
	while !target.stopped() {
		while clients.len() < SLOW_CLIENTS {
			let (hello, counts, stop) = (hello.clone(), target.counts.clone(), target.stop.clone());
			let port = target.mqtt;
			clients.spawn(async move {
				let Ok(mut stream) = connect_from(source, port).await else { return };
				for byte in hello {
					if stop.load(Ordering::Relaxed) {
						return;
					}
					tokio::time::sleep(Duration::from_millis(500)).await;
					if stream.write_all(&[byte]).await.is_err() {
						counts.slow_closed.fetch_add(1, Ordering::Relaxed);
						return;
					}
				}
			});
		}
		let _ = tokio::time::timeout(Duration::from_millis(200), clients.join_next()).await;
	}
	clients.abort_all();
}
