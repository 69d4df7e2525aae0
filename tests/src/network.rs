//! Four validators (Alice, Bob, Charlie, Dave) on loopback with workers and device
//! endpoints, for the end-to-end tests of the whole pipeline.

use std::{path::Path, time::Duration};

use crate::{dev_node_key, free_port, Node, NodeConfig, Result};

/// The validators' development identities, in order.
pub const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];
/// How long a validator may take to start (the first start compiles the runtime).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// A running four-validator network.
pub struct Validators {
	/// The nodes, in [`VALIDATORS`] order.
	pub nodes: Vec<Node>,
	/// Each node's HTTP ingestion port.
	pub http: Vec<u16>,
	/// Each node's MQTT ingestion port.
	pub mqtt: Vec<u16>,
}

impl Validators {
	/// Starts the four validators under `dir`; validator `i` also gets `extra(i)` as
	/// arguments. Returns once every one finalized block 1.
	pub fn start(dir: &Path, extra: impl Fn(usize) -> Vec<String>) -> Result<Self> {
		let http: Vec<u16> = VALIDATORS.iter().map(|_| free_port()).collect();
		let mqtt: Vec<u16> = VALIDATORS.iter().map(|_| free_port()).collect();
		let mut nodes: Vec<Node> = Vec::new();
		for (i, identity) in VALIDATORS.iter().enumerate() {
			let mut extra_args = vec![
				format!("--w3b-http-port={}", http[i]),
				format!("--w3b-mqtt-port={}", mqtt[i]),
				// Devices in the tests publish faster than the default allows.
				"--w3b-device-rate=1000".into(),
			];
			extra_args.extend(extra(i));
			let config = NodeConfig {
				identity,
				chain: "local".into(),
				node_key: dev_node_key(i as u8 + 1),
				bootnodes: nodes.first().map(|alice| vec![alice.multiaddr()]).unwrap_or_default(),
				extra_args,
			};
			let mut node = Node::start(config, dir)?;
			node.wait_rpc_ready(START_TIMEOUT)?;
			nodes.push(node);
		}
		for node in &nodes {
			node.wait_finalized(1, START_TIMEOUT)?;
		}
		Ok(Validators { nodes, http, mqtt })
	}

	/// Every node's log lines holding any of `needles`, for a failure message.
	pub fn log_lines(&self, needles: &[&str]) -> String {
		self.nodes
			.iter()
			.map(|n| format!("----- {} -----\n{}\n", n.identity, n.log_lines(needles)))
			.collect()
	}

	/// The last log lines of every node, for a failure message.
	pub fn logs(&self, lines: usize) -> String {
		self.nodes
			.iter()
			.map(|n| {
				format!("----- last log lines of {} -----\n{}\n", n.identity, n.log_tail(lines))
			})
			.collect()
	}
}
