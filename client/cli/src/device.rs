//! `w3b device ...`: device keys, registration, and a device simulator.

use std::{path::PathBuf, time::Duration};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use sp_core::{Pair, H256};
use subxt::utils::Static;
use w3b_primitives::{Message, ProjectId};

use crate::{
	chain::{rpc_params, within, Context},
	keys::{hex_0x, parse_h256, DeviceKeys},
	output::describe,
	project::resolve,
	runtime, CliError,
};

/// Messages per HTTP request when sending many.
const HTTP_BATCH: usize = 100;
/// Pause before sending again what the node asked to have later, unless it said how long.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Longest pause a node's `Retry-After` gets (`--timeout` bounds the whole wait anyway).
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// How long to wait before sending again what `response` (a 503 or 429) refused for now:
/// its `Retry-After` in seconds when it has one (a node behind on its work says a pass),
/// within [`RETRY_PAUSE`] and [`MAX_RETRY_PAUSE`], else [`RETRY_PAUSE`].
fn retry_pause(response: &ureq::Response) -> Duration {
	response
		.header("Retry-After")
		.and_then(|seconds| seconds.trim().parse::<u64>().ok())
		.map_or(RETRY_PAUSE, |seconds| {
			Duration::from_secs(seconds).clamp(RETRY_PAUSE, MAX_RETRY_PAUSE)
		})
}

/// `w3b device ...`
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCmd {
	/// Generate a device key (ed25519) into a key file and print its id and public key.
	Keygen {
		/// Where to write the key file (refuses to overwrite one).
		#[arg(long)]
		out: PathBuf,
	},
	/// Register a device's key in a project (you pay its deposit).
	Register {
		/// Project id or name.
		project: String,
		/// The device's key file (from `device keygen`).
		#[arg(long)]
		device_key: Option<PathBuf>,
		/// Or its ed25519 public key in hex.
		#[arg(long, conflicts_with = "device_key")]
		public: Option<String>,
	},
	/// Revoke a device: nodes refuse its messages from now on.
	Revoke {
		/// Project id or name.
		project: String,
		/// The device id (hex), as `device keygen` or `device list` print it.
		device: String,
	},
	/// List a project's devices.
	List {
		/// Project id or name.
		project: String,
	},
	/// Sign readings with a device key and publish them over HTTP or MQTT, as a device
	/// would; prints each acknowledged message's hash.
	#[command(
		after_help = "Example: w3b device send thermo --device-key sensor.key --http http://127.0.0.1:8080 --count 100"
	)]
	Send {
		/// Project id or name.
		project: String,
		/// The device's key file; its next sequence number moves on with each message
		/// acknowledged.
		#[arg(long)]
		device_key: PathBuf,
		/// A node's HTTP ingestion endpoint (`http://HOST:PORT`).
		#[arg(long, required_unless_present = "mqtt", conflicts_with = "mqtt")]
		http: Option<String>,
		/// A node's MQTT endpoint (`HOST:PORT`).
		#[arg(long)]
		mqtt: Option<String>,
		/// How many readings.
		#[arg(long, default_value_t = 1)]
		count: u64,
		/// The event type (routes the message to an applet handler).
		#[arg(long, default_value = "reading")]
		event_type: String,
		/// The payload; `{i}` is replaced by the reading's number (from 0) and `{seq}` by
		/// its sequence number. Default: `{"reading": {i}}`.
		#[arg(long)]
		payload: Option<String>,
		/// Pause between readings, in milliseconds.
		#[arg(long, default_value_t = 0)]
		interval_ms: u64,
	},
}

pub async fn run(cmd: DeviceCmd, context: &Context) -> Result<(), CliError> {
	let out = context.out;
	match cmd {
		DeviceCmd::Keygen { out: path } => {
			let keys = DeviceKeys::generate(&path);
			keys.create()?;
			let shown = json!({
				"file": path.display().to_string(),
				"deviceId": keys.file.device_id,
				"publicKey": keys.file.public,
			});
			out.result(&shown, || describe(&shown));
		}
		DeviceCmd::Register { project, device_key, public } => {
			let key = match (device_key, public) {
				(Some(path), _) => DeviceKeys::load(&path)?.device_key(),
				(None, Some(public)) => {
					let bytes: [u8; 32] =
						crate::keys::parse_hex(&public, "--public")?
							.try_into()
							.map_err(|_| CliError::bad("--public must be a 32-byte ed25519 key"))?;
					w3b_primitives::DeviceKey::Ed25519(bytes)
				}
				(None, None) => {
					return Err(CliError::bad("give --device-key FILE or --public HEX"))
				}
			};
			let signer = context.signer()?;
			let chain = context.connect().await?;
			let id = resolve(&chain, &project).await?;
			let device = key.device_id();
			let call = runtime::tx().projects().register_device(id, Static(key), None);
			chain.submit(&format!("register device {device:?}"), &call, &signer).await?;
			let shown = json!({"project": id, "deviceId": hex_0x(device.as_bytes())});
			out.result(&shown, || format!("device {device:?} registered in project {project}"));
		}
		DeviceCmd::Revoke { project, device } => {
			let device = parse_h256(&device, "the device id")?;
			let signer = context.signer()?;
			let chain = context.connect().await?;
			let id = resolve(&chain, &project).await?;
			let call = runtime::tx().projects().revoke_device(id, device);
			chain.submit(&format!("revoke device {device:?}"), &call, &signer).await?;
			let shown =
				json!({"project": id, "deviceId": hex_0x(device.as_bytes()), "revoked": true});
			out.result(&shown, || format!("device {device:?} revoked"));
		}
		DeviceCmd::List { project } => {
			let chain = context.connect().await?;
			let id = resolve(&chain, &project).await?;
			let at = chain.api.at_current_block().await.map_err(other)?;
			let mut entries = at
				.storage()
				.iter(runtime::storage().projects().devices(), (id,))
				.await
				.map_err(other)?;
			let mut devices = Vec::new();
			while let Some(entry) = entries.next().await {
				let entry = entry.map_err(other)?;
				let (_, device) = entry.key().map_err(other)?.decode().map_err(other)?;
				let record: Value = chain
					.read(
						"w3b_getDevice",
						rpc_params(&[id.into(), hex_0x(device.as_bytes()).into()]),
					)
					.await?;
				devices.push(record);
			}
			let list = Value::Array(devices);
			out.result(&list, || {
				if list.as_array().is_some_and(Vec::is_empty) {
					"no devices".into()
				} else {
					describe(&list)
				}
			});
		}
		DeviceCmd::Send {
			project,
			device_key,
			http,
			mqtt,
			count,
			event_type,
			payload,
			interval_ms,
		} => {
			let mut keys = DeviceKeys::load(&device_key)?;
			let project = match project.parse::<ProjectId>() {
				Ok(id) => id,
				// A name needs the chain; a device knows its project's id.
				Err(_) => resolve(&context.connect().await?, &project).await?,
			};
			let template = payload.unwrap_or_else(|| r#"{"reading": {i}}"#.to_string());
			let mut sender = match (&http, &mqtt) {
				(Some(url), _) => Sender::Http {
					url: format!("{}/v1/projects/{project}/events", url.trim_end_matches('/')),
					timeout: context.timeout,
				},
				(None, Some(address)) => Sender::mqtt(address, project, context.timeout).await?,
				(None, None) => return Err(CliError::bad("give --http URL or --mqtt HOST:PORT")),
			};
			let mut sent = Vec::new();
			let mut pending = Vec::new();
			for i in 0..count {
				let seq = keys.file.next_seq + pending.len() as u64;
				let body =
					template.replace("{i}", &i.to_string()).replace("{seq}", &seq.to_string());
				pending.push(signed(&keys, project, seq, &event_type, body.into_bytes()));
				let last = i + 1 == count;
				if pending.len() >= sender.batch() || last || interval_ms > 0 {
					// The numbers are used up before they are sent: whatever happens to
					// the request (a refusal half way, a timeout after the node stored
					// them), the next run starts past them. Gaps are fine: the node only
					// wants each message's number above the last it took.
					keys.file.next_seq += pending.len() as u64;
					keys.save()?;
					let hashes =
						within(context.timeout, "the node to acknowledge", sender.send(&pending))
							.await?;
					for ((message, _), hash) in pending.drain(..).zip(hashes) {
						if out.json {
							println!(
								"{}",
								json!({"seq": message.seq, "hash": hex_0x(hash.as_bytes())})
							);
						}
						sent.push((message.seq, hash));
					}
				}
				if interval_ms > 0 && !last {
					tokio::time::sleep(Duration::from_millis(interval_ms)).await;
				}
			}
			if !out.json {
				if let (Some(first), Some(last)) = (sent.first(), sent.last()) {
					println!(
						"{} messages acknowledged (seq {}..={}), last hash {}",
						sent.len(),
						first.0,
						last.0,
						hex_0x(last.1.as_bytes())
					);
				}
			}
		}
	}
	Ok(())
}

fn other(e: impl std::fmt::Display) -> CliError {
	CliError::Other(e.to_string())
}

/// Message `seq` of the device, signed: the message and its JSON as devices send it
/// (the form `client/ingest/src/wire.rs` documents; the CLI's end-to-end test sends it
/// to real nodes).
fn signed(
	keys: &DeviceKeys,
	project: ProjectId,
	seq: u64,
	event_type: &str,
	payload: Vec<u8>,
) -> (Message, Value) {
	let message = Message {
		project,
		device: keys.device_id(),
		seq,
		timestamp_ms: std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map(|d| d.as_millis() as u64)
			.unwrap_or_default(),
		event_type: event_type.as_bytes().to_vec(),
		payload,
		encrypted: false,
	};
	let signature = keys.pair.sign(message.hash().as_bytes());
	let wire = json!({
		"project": message.project,
		"device": hex_0x(message.device.as_bytes()),
		"seq": message.seq,
		"timestamp_ms": message.timestamp_ms,
		"event_type": event_type,
		"payload": hex_0x(&message.payload),
		"encrypted": false,
		"signature": hex_0x(&signature.0),
	});
	(message, wire)
}

/// Where readings go.
enum Sender {
	Http { url: String, timeout: u64 },
	Mqtt { client: AsyncClient, events: rumqttc::EventLoop, topic: String },
}

impl Sender {
	/// A persistent MQTT session with the node at `address` (`HOST:PORT`), subscribed
	/// to its refusals of this client's messages.
	async fn mqtt(address: &str, project: ProjectId, timeout: u64) -> Result<Self, CliError> {
		let (host, port) = address
			.rsplit_once(':')
			.and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
			.ok_or_else(|| CliError::bad(format!("--mqtt {address:?}: write HOST:PORT")))?;
		let client_id = format!("w3b-cli-{}", std::process::id());
		let mut options = MqttOptions::new(&client_id, host, port);
		options.set_keep_alive(Duration::from_secs(30));
		let (client, events) = AsyncClient::new(options, 256);
		client
			.subscribe(format!("w3b/errors/{client_id}"), QoS::AtLeastOnce)
			.await
			.map_err(other)?;
		let mut sender =
			Sender::Mqtt { client, events, topic: format!("w3b/projects/{project}/events") };
		// Connect now, so that an unreachable broker is reported as such.
		within(timeout, "the MQTT broker to accept the connection", sender.wait_subscribed())
			.await?;
		Ok(sender)
	}

	fn batch(&self) -> usize {
		match self {
			Sender::Http { .. } => HTTP_BATCH,
			Sender::Mqtt { .. } => 64,
		}
	}

	async fn wait_subscribed(&mut self) -> Result<(), CliError> {
		let Sender::Mqtt { events, .. } = self else { return Ok(()) };
		loop {
			match events.poll().await {
				Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
				Ok(_) => {}
				Err(e) => {
					return Err(CliError::Unreachable {
						url: "the MQTT endpoint".into(),
						reason: e.to_string(),
					})
				}
			}
		}
	}

	/// Sends `messages`; returns their hashes once every one is acknowledged (stored by
	/// the node), or the node's refusal.
	async fn send(&mut self, messages: &[(Message, Value)]) -> Result<Vec<H256>, CliError> {
		match self {
			Sender::Http { url, timeout } => {
				// Messages the node may take later (device registration not yet final
				// on this node, rate limit, the node behind on the project, storage
				// trouble) are sent again after a
				// pause; one stored by an earlier attempt comes back as a duplicate,
				// which is its acknowledgement. `--timeout` bounds the whole wait.
				let mut hashes: Vec<Option<H256>> = vec![None; messages.len()];
				let mut remaining: Vec<usize> = (0..messages.len()).collect();
				while !remaining.is_empty() {
					let body =
						Value::Array(remaining.iter().map(|&i| messages[i].1.clone()).collect());
					let post = url.clone();
					// A node that stalls is given up on: `--timeout` also bounds the
					// wait, but cannot stop a blocking request.
					let agent =
						ureq::AgentBuilder::new().timeout(Duration::from_secs(*timeout)).build();
					let answer =
						tokio::task::spawn_blocking(move || agent.post(&post).send_json(body))
							.await
							.map_err(other)?;
					let answer: Value = match answer {
						Ok(response) => response.into_json().map_err(other)?,
						Err(ureq::Error::Status(503 | 429, response)) => {
							tokio::time::sleep(retry_pause(&response)).await;
							continue;
						}
						Err(ureq::Error::Status(status, response)) => {
							let body = response.into_string().unwrap_or_default();
							let error: Value =
								serde_json::from_str(&body).unwrap_or(Value::String(body));
							return Err(CliError::Refused {
								by: "the node",
								what: "the readings".into(),
								reason: format!("HTTP {status}: {error}"),
								hint: refusal_hint(&error),
							});
						}
						Err(e) => {
							return Err(CliError::Unreachable {
								url: "the HTTP endpoint".into(),
								reason: e.to_string(),
							})
						}
					};
					let results = answer["results"].as_array().cloned().unwrap_or_default();
					if results.len() != remaining.len() {
						return Err(CliError::Other(format!("the node answered {answer}")));
					}
					let mut again = Vec::new();
					for (&i, result) in remaining.iter().zip(&results) {
						let message = &messages[i].0;
						if let Some(hash) = result["hash"].as_str() {
							let acknowledged =
								parse_h256(hash, "the acknowledged hash").map_err(|e| {
									CliError::NodeSaid {
										method: "HTTP ingestion".into(),
										message: e.to_string(),
									}
								})?;
							if acknowledged != message.hash() {
								return Err(CliError::NodeSaid {
									method: "HTTP ingestion".into(),
									message: format!(
										"it acknowledged reading seq {} with another hash ({hash})",
										message.seq
									),
								});
							}
							hashes[i] = Some(acknowledged);
							continue;
						}
						let error = &result["error"];
						match error["code"].as_str().unwrap_or_default() {
							"duplicate" => hashes[i] = Some(message.hash()),
							"device_not_final" | "rate_limited" | "backlogged" |
							"storage_failure" => {
								again.push(i)
							}
							_ => {
								return Err(CliError::Refused {
									by: "the node",
									what: format!("reading seq {}", message.seq),
									reason: error.to_string(),
									hint: refusal_hint(error),
								})
							}
						}
					}
					if !again.is_empty() {
						tokio::time::sleep(RETRY_PAUSE).await;
					}
					remaining = again;
				}
				Ok(hashes
					.into_iter()
					.map(|hash| hash.expect("every message acknowledged"))
					.collect())
			}
			Sender::Mqtt { client, events, topic } => {
				for (_, wire) in messages {
					client
						.publish(
							topic.clone(),
							QoS::AtLeastOnce,
							false,
							wire.to_string().into_bytes(),
						)
						.await
						.map_err(other)?;
				}
				let mut acknowledged = 0;
				while acknowledged < messages.len() {
					match events.poll().await {
						Ok(Event::Incoming(Packet::PubAck(_))) => acknowledged += 1,
						Ok(Event::Incoming(Packet::Publish(refusal))) => {
							let error: Value =
								serde_json::from_slice(&refusal.payload).unwrap_or_default();
							return Err(CliError::Refused {
								by: "the node",
								what: "a reading".into(),
								reason: error.to_string(),
								hint: refusal_hint(&error),
							});
						}
						Ok(_) => {}
						Err(e) => {
							return Err(CliError::Unreachable {
								url: "the MQTT endpoint".into(),
								reason: e.to_string(),
							})
						}
					}
				}
				Ok(messages.iter().map(|(message, _)| message.hash()).collect())
			}
		}
	}
}

/// What to do after the node refused a reading.
fn refusal_hint(error: &Value) -> Option<String> {
	let hint = match error["code"].as_str()? {
		"stale_seq" => {
			"the key file's next_seq is behind the node's: raise it past the last accepted"
		}
		"unknown_device" => {
			"register the device first (`w3b device register`), and wait for the block to be final"
		}
		"unknown_project" | "not_served" => {
			"this node does not take the project's messages: send to one of its operators"
		}
		"project_not_active" => {
			"the project takes messages once enough operators joined its subnet (min_operators)"
		}
		"revoked_device" => "the project's owner revoked this device",
		_ => return None,
	};
	Some(hint.to_string())
}
