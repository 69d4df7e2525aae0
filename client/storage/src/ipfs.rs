//! The VFS on IPFS, through the Kubo RPC API (`/api/v0/...` of a Kubo-compatible
//! daemon). Blobs are added as raw leaves with CIDv1, so their CIDs are the ones the
//! embedded VFS computes; every answer is checked against the CID it should have.

use std::io;

use crate::{cid::Cid, vfs::Vfs};

/// A Kubo RPC endpoint, e.g. `http://127.0.0.1:5001`.
pub struct IpfsVfs {
	api: String,
	agent: ureq::Agent,
}

/// Longest wait to reach the daemon.
const RPC_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest wait for the daemon's next bytes (or to take ours).
const RPC_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn rpc_error(e: ureq::Error) -> io::Error {
	io::Error::other(format!("IPFS RPC: {e}"))
}

impl IpfsVfs {
	/// A VFS on the daemon at `api`.
	pub fn new(api: &str) -> Self {
		// Bounded calls: a daemon asked for a blob it does not hold looks for it on the
		// network for as long as it is let, and the worker's pass waits on it.
		let agent = ureq::AgentBuilder::new()
			.timeout_connect(RPC_CONNECT_TIMEOUT)
			.timeout_read(RPC_READ_TIMEOUT)
			.timeout_write(RPC_READ_TIMEOUT)
			.build();
		IpfsVfs { api: api.trim_end_matches('/').to_string(), agent }
	}

	/// The daemon's version: whether it answers.
	pub fn version(&self) -> io::Result<String> {
		let answer: Version = self.call("version")?.into_json()?;
		Ok(answer.version)
	}

	fn call(&self, path: &str) -> io::Result<ureq::Response> {
		self.agent.post(&format!("{}/api/v0/{path}", self.api)).call().map_err(rpc_error)
	}

	/// [`IpfsVfs::call`], with the daemon's refusal (HTTP 500: a blob it does not hold, a
	/// pin it does not have) apart from a failure to reach it (`Err`).
	fn call_or_refused(&self, path: &str) -> io::Result<Result<ureq::Response, String>> {
		match self.agent.post(&format!("{}/api/v0/{path}", self.api)).call() {
			Ok(response) => Ok(Ok(response)),
			Err(ureq::Error::Status(500, response)) => {
				Ok(Err(response.into_string().unwrap_or_default()))
			}
			Err(e) => Err(rpc_error(e)),
		}
	}
}

impl Vfs for IpfsVfs {
	fn put(&self, data: &[u8]) -> io::Result<Cid> {
		let boundary = "w3b-blob-boundary";
		let mut body = format!(
			"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n"
		)
		.into_bytes();
		body.extend_from_slice(data);
		body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
		let response = self
			.agent
			.post(&format!("{}/api/v0/add?raw-leaves=true&cid-version=1&pin=true", self.api))
			.set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
			.send_bytes(&body)
			.map_err(rpc_error)?;
		let answer: Added = response.into_json()?;
		let cid: Cid = answer
			.hash
			.parse()
			.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}")))?;
		if cid != Cid::of(data) {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!(
					"the daemon answered {cid}, expected {} (blob larger than one block?)",
					Cid::of(data)
				),
			));
		}
		Ok(cid)
	}

	fn get(&self, cid: &Cid) -> io::Result<Option<Vec<u8>>> {
		// Offline: a blob the daemon does not hold is not looked for on the network (for
		// as long as a committer that withholds it likes); peers serve bodies instead.
		let response = match self.call_or_refused(&format!("cat?arg={cid}&offline=true"))? {
			Ok(response) => response,
			Err(_) => return Ok(None),
		};
		let mut data = Vec::new();
		io::Read::read_to_end(&mut response.into_reader(), &mut data)?;
		if Cid::of(&data) != *cid {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!("blob {cid} is corrupt"),
			));
		}
		Ok(Some(data))
	}

	fn pin(&self, cid: &Cid) -> io::Result<()> {
		self.call(&format!("pin/add?arg={cid}")).map(drop)
	}

	fn unpin(&self, cid: &Cid) -> io::Result<()> {
		// "not pinned" is what we want.
		self.call_or_refused(&format!("pin/rm?arg={cid}")).map(drop)
	}

	fn is_pinned(&self, cid: &Cid) -> io::Result<bool> {
		Ok(self.call_or_refused(&format!("pin/ls?arg={cid}&type=recursive"))?.is_ok())
	}

	fn collect(&self) -> io::Result<usize> {
		let response = self.call("repo/gc")?;
		let mut text = String::new();
		io::Read::read_to_string(&mut response.into_reader(), &mut text)?;
		Ok(text.lines().filter(|l| l.contains("\"Key\"")).count())
	}
}

/// Answer of `/api/v0/add`.
#[derive(serde::Deserialize)]
struct Added {
	#[serde(rename = "Hash")]
	hash: String,
}

/// The answer of `/api/v0/version`.
#[derive(serde::Deserialize)]
struct Version {
	#[serde(rename = "Version")]
	version: String,
}
