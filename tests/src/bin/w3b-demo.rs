//! `w3b-demo`: runs a W3bstream workload against a running local network and reports
//! it live: creates a project with an applet, has the validators' operators (Alice,
//! Bob, Charlie, Dave) join its subnet, registers simulated devices, publishes signed
//! readings over MQTT and HTTP to different validators, and follows batches and
//! GRANDPA-final proofs, printing one progress line every two seconds and a summary
//! with the publish-to-final-proof latency and the sustained rate.
//!
//! ```text
//! w3b-demo --applet FILE.wasm [--rpc PORT] [--mqtt PORT,PORT] [--http PORT,PORT]
//!          [--devices N] [--rate MSGS_PER_SEC] [--duration SECS] [--drain SECS]
//! ```

use std::{
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave};
use w3b_e2e_tests::{
	demo::{setup_project, Counters, Monitor, ProjectSpec, Publisher, Transport},
	Result, Rpc,
};

struct Options {
	applet: String,
	rpc: u16,
	mqtt: Vec<u16>,
	http: Vec<u16>,
	devices: usize,
	rate: f64,
	duration: u64,
	drain: u64,
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
			other => return Err(format!("unknown option {other} (see the source's header)").into()),
		}
	}
	if options.applet.is_empty() {
		return Err("--applet FILE.wasm is required".into());
	}
	if options.devices == 0 || options.mqtt.len() + options.http.len() == 0 {
		return Err("at least one device and one MQTT or HTTP port are needed".into());
	}
	Ok(options)
}

fn main() -> Result<()> {
	let options = parse()?;
	let rpc = Rpc::new(options.rpc);
	let code = std::fs::read(&options.applet)
		.map_err(|e| format!("reading the applet {}: {e}", options.applet))?;
	let devices: Vec<ed25519::Pair> =
		(0..options.devices).map(|_| ed25519::Pair::generate().0).collect();
	let name = format!("demo-{}", std::process::id());
	println!(
		"[demo] setting up project {name}: applet {} ({} bytes), {} devices, operators Alice, Bob, Charlie, Dave",
		options.applet,
		code.len(),
		devices.len()
	);
	let spec = ProjectSpec {
		owner: sp_keyring::Sr25519Keyring::Ferdie,
		name,
		code,
		env: vec![("THRESHOLD".into(), "32".into())],
		operators: vec![Alice, Bob, Charlie, Dave],
		devices: devices.clone(),
		attestation_deadline: 20,
		// Operators let go of settled data after two minutes: a long run stays bounded.
		retain_secs: 120,
		min_operators: None,
	};
	let project = setup_project(&rpc, &spec, Duration::from_secs(120))?;
	println!(
		"[demo] project {project} is Active; publishing {} messages/s for {}s",
		options.rate, options.duration
	);

	let transports: Vec<Transport> = options
		.mqtt
		.iter()
		.map(|p| Transport::Mqtt(*p))
		.chain(options.http.iter().map(|p| Transport::Http(*p)))
		.collect();
	let start = Instant::now();
	let publisher = Publisher::start(project, devices, &transports, options.rate);
	let counters = publisher.counters.clone();
	let mut monitor = Monitor::new(rpc, project);
	let mut last_line = Instant::now();
	// Polls the chain every 250 ms and prints a line every two seconds.
	let mut follow = |monitor: &mut Monitor, counters: &Counters| {
		std::thread::sleep(Duration::from_millis(250));
		if let Err(e) = monitor.poll(counters) {
			eprintln!("[demo] reading progress: {e}");
		}
		if last_line.elapsed() >= Duration::from_secs(2) {
			println!("{}", monitor.line(start.elapsed(), counters));
			last_line = Instant::now();
		}
	};
	let publish_until = start + Duration::from_secs(options.duration);
	while Instant::now() < publish_until {
		follow(&mut monitor, &counters);
	}
	let counters = publisher.stop();
	let published_for = start.elapsed();
	println!("[demo] publishing stopped; waiting up to {}s for the last proofs", options.drain);
	let drain_until = Instant::now() + Duration::from_secs(options.drain);
	while Instant::now() < drain_until
		&& monitor.progress.messages_final < counters.acked.load(Ordering::Relaxed)
	{
		follow(&mut monitor, &counters);
	}
	println!("{}", monitor.line(start.elapsed(), &counters));
	let p = &monitor.progress;
	let acked = counters.acked.load(Ordering::Relaxed);
	let fmt = |q| p.latency(q).map_or("-".into(), |s| format!("{s:.2}s"));
	println!(
		"[demo] summary: {acked} messages stored, {} in finalized proofs ({} batches, {} expired); \
		 sustained {:.0} msgs/s through the pipeline over {:.0}s; latency publish -> final proof \
		 p50 {} p99 {} (block time {}s)",
		p.messages_final,
		p.finalized,
		p.expired,
		p.messages_final as f64 / published_for.as_secs_f64(),
		published_for.as_secs_f64(),
		fmt(0.5),
		fmt(0.99),
		w3b_primitives::MILLISECS_PER_BLOCK / 1000,
	);
	if p.messages_final < acked {
		return Err(format!(
			"{} stored messages are not in a finalized proof",
			acked - p.messages_final
		)
		.into());
	}
	Ok(())
}
