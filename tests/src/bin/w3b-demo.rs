//! `w3b-demo`: runs a W3bstream workload against a running local network and reports
//! it live: creates a project with an applet, has the validators' operators (Alice,
//! Bob, Charlie, Dave) join its subnet, registers simulated devices, publishes signed
//! readings over MQTT and HTTP to different validators, and follows batches and
//! GRANDPA-final proofs, printing one progress line every two seconds and a summary
//! with the publish-to-final-proof latency and the sustained rate.
//!
//! With `--projects N` (N > 1) it is a load test of the chain: N projects with the
//! same applet, each with one operator (the validators take turns) and its share of the
//! devices publishing to that operator's node, and a summary of how full the finalized
//! blocks were (normal-class weight and extrinsics per block). Ports are read as
//! `scripts/local-net.sh` lays them out (MQTT 1883 + i, HTTP 8080 + i, RPC 9944 + i for
//! Alice, Bob, Charlie, Dave): a node takes messages only for the projects it operates,
//! and only it holds their batches' bodies, so each project is followed through its
//! operator's RPC.
//!
//! ```text
//! w3b-demo --applet FILE.wasm [--rpc PORT] [--mqtt PORT,PORT] [--http PORT,PORT]
//!          [--devices N] [--rate MSGS_PER_SEC] [--duration SECS] [--drain SECS]
//!          [--projects N] [--bridge on|off] [--bridge-dir DIR]
//! ```
//!
//! With `--bridge on` (the default) the alerts go on to an EVM chain
//! ([`w3b_e2e_tests::demo_bridge`]): ganache with IoTeX testnet's chain id, the bridge
//! deployed by `w3b-node bridge deploy` and registered by a council motion, a receiver contract per
//! project, and `w3b-node bridge relay` (state and log in `--bridge-dir`); the live line
//! counts the alerts the receivers recorded.

use std::{
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave};
use w3b_e2e_tests::{
	demo::{
		setup_projects, ChainLoad, Counters, Monitor, Progress, ProjectSpec, Publisher, Transport,
	},
	demo_bridge::EvmSide,
	Result, Rpc,
};
use w3b_primitives::operator::MaxSubnetsPerOperator;

struct Options {
	applet: String,
	rpc: u16,
	mqtt: Vec<u16>,
	http: Vec<u16>,
	devices: usize,
	rate: f64,
	duration: u64,
	drain: u64,
	projects: usize,
	bridge: bool,
	bridge_dir: std::path::PathBuf,
}

fn parse() -> Result<Options> {
	let mut options = Options {
		applet: String::new(),
		rpc: 9944,
		mqtt: vec![1883, 1885],
		http: vec![8081, 8083],
		devices: 20,
		rate: 100.0,
		duration: 60,
		drain: 60,
		projects: 1,
		bridge: true,
		bridge_dir: std::env::temp_dir().join(format!("w3b-demo-bridge-{}", std::process::id())),
	};
	let ports = |v: &str| -> Result<Vec<u16>> {
		v.split(',').filter(|p| !p.is_empty()).map(|p| Ok(p.parse()?)).collect()
	};
	let mut args = std::env::args().skip(1);
	while let Some(flag) = args.next() {
		let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
		match flag.as_str() {
			"--applet" => options.applet = value,
			"--rpc" => options.rpc = value.parse()?,
			"--mqtt" => options.mqtt = ports(&value)?,
			"--http" => options.http = ports(&value)?,
			"--devices" => options.devices = value.parse()?,
			"--rate" => options.rate = value.parse()?,
			"--duration" => options.duration = value.parse()?,
			"--drain" => options.drain = value.parse()?,
			"--projects" => options.projects = value.parse()?,
			"--bridge" => {
				options.bridge = match value.as_str() {
					"on" => true,
					"off" => false,
					other => return Err(format!("--bridge on|off, not {other}").into()),
				}
			}
			"--bridge-dir" => options.bridge_dir = value.into(),
			other => return Err(format!("unknown option {other} (see the source's header)").into()),
		}
	}
	if options.applet.is_empty() {
		return Err("--applet FILE.wasm is required".into());
	}
	if options.devices == 0 || options.mqtt.len() + options.http.len() == 0 {
		return Err("at least one device and one MQTT or HTTP port are needed".into());
	}
	if options.projects == 0 {
		return Err("--projects must be at least 1".into());
	}
	Ok(options)
}

/// The validators of `scripts/local-net.sh`, in the order of its ports.
const VALIDATORS: [Sr25519Keyring; 4] = [Alice, Bob, Charlie, Dave];

/// The endpoints, MQTT ones first, each with the index in [`VALIDATORS`] of the node
/// behind it as `scripts/local-net.sh` numbers the ports (`None` for a port it does not
/// use).
fn endpoints(options: &Options) -> Vec<(Transport, Option<u16>)> {
	let validator = |port: u16, first: u16| {
		let index = port.wrapping_sub(first);
		(usize::from(index) < VALIDATORS.len()).then_some(index)
	};
	let mqtt = options.mqtt.iter().map(|&port| (Transport::Mqtt(port), validator(port, 1883)));
	let http = options.http.iter().map(|&port| (Transport::Http(port), validator(port, 8080)));
	mqtt.chain(http).collect()
}

fn main() -> Result<()> {
	let options = parse()?;
	let rpc = Rpc::new(options.rpc);
	let code = std::fs::read(&options.applet)
		.map_err(|e| format!("reading the applet {}: {e}", options.applet))?;
	let endpoints = endpoints(&options);
	let most = endpoints.len() * <MaxSubnetsPerOperator as sp_core::Get<u32>>::get() as usize;
	if options.projects > 1 && options.projects > most {
		return Err(format!(
			"at most {most} projects: each of the {} endpoints' operators joins at most {} subnets",
			endpoints.len(),
			most / endpoints.len()
		)
		.into());
	}
	let transports: Vec<Transport> = endpoints.iter().map(|(t, _)| *t).collect();
	let devices: Vec<ed25519::Pair> =
		(0..options.devices.max(options.projects)).map(|_| ed25519::Pair::generate().0).collect();
	let name = format!("demo-{}", std::process::id());
	let base = ProjectSpec {
		owner: sp_keyring::Sr25519Keyring::Ferdie,
		name: name.clone(),
		code,
		routes: vec![],
		env: vec![("THRESHOLD".into(), "32".into())],
		operators: vec![Alice, Bob, Charlie, Dave],
		devices: devices.clone(),
		attestation_deadline: 20,
		// Operators let go of settled data after two minutes: a long run stays bounded.
		retain_secs: 120,
		min_operators: None,
	};
	// One project with every validator as operator and every endpoint, or N with one
	// operator each, publishing to its node.
	let lanes: Vec<(ProjectSpec, Vec<Transport>, Rpc)> = if options.projects == 1 {
		vec![(base, transports.clone(), rpc.clone())]
	} else {
		(0..options.projects)
			.map(|k| {
				let (transport, validator) = endpoints[k % endpoints.len()];
				let validator =
					validator.ok_or_else(|| {
						format!("{transport:?} is not one of scripts/local-net.sh's validators' endpoints")
					})?;
				let spec = ProjectSpec {
					name: format!("{name}-{k}"),
					operators: vec![VALIDATORS[usize::from(validator)]],
					devices: devices.iter().skip(k).step_by(options.projects).cloned().collect(),
					// One operator: a subnet of one finalizes alone.
					min_operators: Some(1),
					..base.clone()
				};
				Ok((spec, vec![transport], Rpc::new(options.rpc + validator)))
			})
			.collect::<Result<_>>()?
	};
	println!(
		"[demo] setting up {} project(s) ({name}): applet {} ({} bytes), {} devices, operators {}",
		lanes.len(),
		options.applet,
		lanes[0].0.code.len(),
		devices.len(),
		if lanes.len() == 1 { "Alice, Bob, Charlie, Dave" } else { "one each, in turn" },
	);
	let specs: Vec<ProjectSpec> = lanes.iter().map(|(spec, ..)| spec.clone()).collect();
	let setup_started = Instant::now();
	let node_url = format!("http://127.0.0.1:{}", options.rpc);
	let mut evm = if options.bridge {
		let evm = EvmSide::start(&rpc, &node_url)?;
		println!(
			"[demo] EVM chain {} at {}: bridge {:?} deployed for the validators and registered",
			w3b_e2e_tests::evm::CHAIN_ID,
			evm.evm_url(),
			evm.bridge
		);
		Some(evm)
	} else {
		None
	};
	let projects = setup_projects(&rpc, &specs, Duration::from_secs(300))?;
	if let Some(evm) = &mut evm {
		let receiving: Vec<_> = projects.iter().copied().zip(&specs).collect();
		evm.receive_for(&rpc, &receiving)?;
		evm.start_relayer(&node_url, &options.bridge_dir)?;
		println!(
			"[demo] a receiver contract per project; relayer running (log: {})",
			options.bridge_dir.join("relayer.log").display()
		);
	}
	println!(
		"[demo] project(s) {}..={} Active in {:.0}s; publishing {} messages/s for {}s",
		projects[0],
		projects[projects.len() - 1],
		setup_started.elapsed().as_secs_f64(),
		options.rate,
		options.duration
	);

	let start = Instant::now();
	let counters = std::sync::Arc::new(Counters::default());
	let per_project = options.rate / projects.len() as f64;
	let mut publishers = Vec::new();
	let mut monitors = Vec::new();
	for ((spec, transports, operator_rpc), &project) in lanes.into_iter().zip(&projects) {
		publishers.push(Publisher::start_counting(
			project,
			spec.devices,
			&transports,
			per_project,
			counters.clone(),
		));
		monitors.push(Monitor::new(operator_rpc, project));
	}
	let mut load = ChainLoad::from_now(rpc.clone())?;
	// The alerts the receivers recorded (None without an EVM side or when unreadable),
	// and how the live line says it.
	let bridged = |evm: &mut Option<EvmSide>| -> (Option<u64>, String) {
		let Some(evm) = evm else { return (None, String::new()) };
		if !evm.relayer_running() {
			return (None, " | relayer stopped (see its log)".into());
		}
		match evm.delivered() {
			Ok(n) => {
				(Some(n), format!(" | {n} delivered on chain {}", w3b_e2e_tests::evm::CHAIN_ID))
			}
			Err(e) => (None, format!(" | deliveries unknown: {e}")),
		}
	};
	let bridge_on = evm.is_some();
	let mut last_line = Instant::now();
	// Each monitor reads a few RPCs per poll: with many projects, poll less often.
	let poll_every = Duration::from_millis(if monitors.len() == 1 { 250 } else { 2000 });
	let progress = |monitors: &[Monitor]| {
		let mut total = Progress::default();
		for monitor in monitors {
			total.absorb(&monitor.progress);
		}
		total
	};
	// Polls the chain and prints a line every two seconds; returns what the receivers
	// recorded.
	let mut follow = |monitors: &mut Vec<Monitor>, load: &mut ChainLoad, counters: &Counters| {
		std::thread::sleep(poll_every);
		for monitor in monitors.iter_mut() {
			if let Err(e) = monitor.poll(counters) {
				eprintln!("[demo] reading progress: {e}");
			}
		}
		if let Err(e) = load.poll() {
			eprintln!("[demo] reading blocks: {e}");
		}
		let (delivered, bridge_line) = bridged(&mut evm);
		if last_line.elapsed() >= Duration::from_secs(2) {
			println!("{}{bridge_line}", progress(monitors).line(start.elapsed(), counters));
			last_line = Instant::now();
		}
		delivered
	};
	let publish_until = start + Duration::from_secs(options.duration);
	while Instant::now() < publish_until {
		follow(&mut monitors, &mut load, &counters);
	}
	let published_for = start.elapsed();
	// Progress is followed while the publishers wait for their last acknowledgements: a
	// batch left unread longer than the network keeps bodies could not be counted.
	for publisher in &publishers {
		publisher.halt();
	}
	while !publishers.iter().all(Publisher::stopped) {
		follow(&mut monitors, &mut load, &counters);
	}
	for publisher in publishers {
		publisher.stop();
	}
	println!("[demo] publishing stopped; waiting up to {}s for the last proofs", options.drain);
	let drain_until = Instant::now() + Duration::from_secs(options.drain);
	let acked = counters.acked.load(Ordering::Relaxed);
	while Instant::now() < drain_until && progress(&monitors).messages_final < acked {
		follow(&mut monitors, &mut load, &counters);
	}
	// The last alerts reach the EVM chain a few blocks after their proofs are final.
	if bridge_on {
		let outputs = progress(&monitors).outputs;
		println!(
			"[demo] waiting up to {}s for the relayer to deliver {outputs} alerts",
			options.drain
		);
		let deliver_until = Instant::now() + Duration::from_secs(options.drain);
		while Instant::now() < deliver_until
			&& follow(&mut monitors, &mut load, &counters).unwrap_or(0) < outputs
		{}
	}
	let p = progress(&monitors);
	let (delivered, bridge_line) = bridged(&mut evm);
	println!("{}{bridge_line}", p.line(start.elapsed(), &counters));
	let fmt = |q| p.latency(q).map_or("-".into(), |s| format!("{s:.2}s"));
	println!(
		"[demo] summary: {} project(s), {acked} messages stored, {} in finalized proofs ({} batches, {} expired); \
		 sustained {:.0} msgs/s through the pipeline over {:.0}s; latency publish -> final proof \
		 p50 {} p99 {} (block time {}s)",
		projects.len(),
		p.messages_final,
		p.finalized,
		p.expired,
		p.messages_final as f64 / published_for.as_secs_f64(),
		published_for.as_secs_f64(),
		fmt(0.5),
		fmt(0.99),
		w3b_primitives::MILLISECS_PER_BLOCK / 1000,
	);
	println!("[demo] chain load: {}", load.summary());
	println!("[demo] weight by call: {}", load.by_call());
	println!("[demo] on chain: {}", load.per_thousand(p.messages_final));
	if bridge_on {
		let delivered = delivered.map_or("an unknown number".into(), |n| n.to_string());
		println!(
			"[demo] alerts: {} finalized, {delivered} delivered on chain {}",
			p.outputs,
			w3b_e2e_tests::evm::CHAIN_ID
		);
	}
	if p.messages_final < acked {
		return Err(format!(
			"{} stored messages are not in a finalized proof",
			acked - p.messages_final
		)
		.into());
	}
	if let Some(delivered) = delivered.filter(|&n| n < p.outputs) {
		return Err(format!(
			"{} of {} finalized alerts were not delivered on chain {} (relayer log: {})",
			p.outputs - delivered,
			p.outputs,
			w3b_e2e_tests::evm::CHAIN_ID,
			options.bridge_dir.join("relayer.log").display(),
		)
		.into());
	}
	Ok(())
}
