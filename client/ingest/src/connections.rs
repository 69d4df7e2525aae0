//! What connections may hold of the node, for the MQTT and HTTP endpoints alike: a cap
//! on connections open at once, in all and per sender ([`sender_of`]: an IPv4 address,
//! or an IPv6 /64, which one machine usually has whole).

use std::{
	collections::HashMap,
	future::Future,
	net::{IpAddr, SocketAddr},
	pin::Pin,
	sync::{Arc, Mutex},
	task::{Context, Poll},
	time::Duration,
};

use tokio::{
	io::{AsyncRead, AsyncWrite, ReadBuf},
	net::{TcpListener, TcpStream},
};

use crate::Ingestor;

/// What connections may hold of the node.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
	/// Connections open at once.
	pub max_connections: usize,
	/// Connections open at once from one sender ([`sender_of`]).
	pub max_per_address: usize,
	/// Time a new MQTT connection has to send its whole CONNECT.
	pub connect_timeout: Duration,
	/// Time an HTTP client has to send a whole request, from its connection or from the
	/// node's last answer on it: a client dribbling bytes (slowloris) or saying nothing
	/// is closed then.
	pub request_timeout: Duration,
	/// Bytes per second that earn an HTTP client more time: each byte it sends pushes its
	/// deadline by `1 / min_request_rate` s, so a large body over a slow link gets
	/// through while a client dribbling a few bytes still meets the timeout.
	pub min_request_rate: u32,
}

impl Default for ConnectionLimits {
	/// 10,000 connections, 256 per sender, 10 s to CONNECT, 30 s per HTTP request plus
	/// a second per 8 KiB it sends (a 4 MiB body over a 64 kbit/s link: 30 s + 512 s).
	fn default() -> Self {
		ConnectionLimits {
			max_connections: 10_000,
			max_per_address: 256,
			connect_timeout: Duration::from_secs(10),
			request_timeout: Duration::from_secs(30),
			min_request_rate: 8 << 10,
		}
	}
}

/// The sender every JSON-RPC submission (`w3b_submitEvent`) is charged to: the RPC server
/// does not tell its methods who calls, so they share one budget (an address no peer
/// has); `--rpc-rate-limit` bounds each connection besides.
pub const RPC_SENDER: IpAddr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);

/// Who a peer address counts as: an IPv4 address (IPv4-mapped IPv6 included), or the /64
/// of an IPv6 one (a single host gets at least a /64 and could rotate through it).
pub fn sender_of(address: IpAddr) -> IpAddr {
	match address {
		IpAddr::V4(v4) => IpAddr::V4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
		},
	}
}

/// Connections open, in all and per sender.
#[derive(Clone, Default)]
pub(crate) struct Open(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
	total: usize,
	by_sender: HashMap<IpAddr, usize>,
}

impl Open {
	pub(crate) fn new() -> Self {
		Self::default()
	}

	/// A place for a connection from `address`, or `None` when `limits` are reached.
	pub(crate) fn admit(&self, address: IpAddr, limits: &ConnectionLimits) -> Option<Admitted> {
		let sender = sender_of(address);
		let mut counts = self.0.lock().expect("connection counts");
		let from_sender = counts.by_sender.get(&sender).copied().unwrap_or(0);
		if counts.total >= limits.max_connections || from_sender >= limits.max_per_address {
			return None;
		}
		counts.total += 1;
		counts.by_sender.insert(sender, from_sender + 1);
		Some(Admitted { open: self.clone(), sender })
	}
}

/// A connection counted in [`Open`] until it is dropped.
pub(crate) struct Admitted {
	open: Open,
	sender: IpAddr,
}

impl Drop for Admitted {
	fn drop(&mut self) {
		let mut counts = self.open.0.lock().expect("connection counts");
		counts.total -= 1;
		if let Some(n) = counts.by_sender.get_mut(&self.sender) {
			*n -= 1;
			if *n == 0 {
				counts.by_sender.remove(&self.sender);
			}
		}
	}
}

/// A TCP listener for axum that closes connections over the limits at once.
pub struct LimitedListener {
	listener: TcpListener,
	open: Open,
	limits: ConnectionLimits,
	ingestor: Arc<Ingestor>,
}

impl LimitedListener {
	pub(crate) fn new(
		listener: TcpListener,
		limits: ConnectionLimits,
		ingestor: Arc<Ingestor>,
	) -> Self {
		LimitedListener { listener, open: Open::new(), limits, ingestor }
	}
}

/// The peer of an HTTP connection (what handlers get as `ConnectInfo`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, LimitedListener>>
	for Peer
{
	fn connect_info(stream: axum::serve::IncomingStream<'_, LimitedListener>) -> Self {
		*stream.remote_addr()
	}
}

/// A connection that keeps its place in [`Open`] while it lives, and fails its reads once
/// the client took longer than the request timeout since the connection or the node's
/// last answer, plus the time the bytes it sent since earned it
/// ([`ConnectionLimits::min_request_rate`]).
pub struct LimitedStream {
	stream: TcpStream,
	_admitted: Admitted,
	timeout: Duration,
	min_rate: u32,
	deadline: Pin<Box<tokio::time::Sleep>>,
}

impl axum::serve::Listener for LimitedListener {
	type Io = LimitedStream;
	type Addr = Peer;

	async fn accept(&mut self) -> (Self::Io, Self::Addr) {
		loop {
			let (stream, peer) = match self.listener.accept().await {
				Ok(accepted) => accepted,
				Err(e) => {
					// Out of descriptors, for instance: wait rather than spin.
					tracing::debug!(target: "w3b::ingest", error = %e, "accepting failed");
					tokio::time::sleep(Duration::from_millis(50)).await;
					continue;
				}
			};
			match self.open.admit(peer.ip(), &self.limits) {
				Some(admitted) => {
					let timeout = self.limits.request_timeout;
					let deadline = Box::pin(tokio::time::sleep(timeout));
					let min_rate = self.limits.min_request_rate.max(1);
					let stream =
						LimitedStream { stream, _admitted: admitted, timeout, min_rate, deadline };
					return (stream, Peer(peer));
				}
				None => self.ingestor.observe_refusal("too_many_connections"),
			}
		}
	}

	fn local_addr(&self) -> std::io::Result<Self::Addr> {
		self.listener.local_addr().map(Peer)
	}
}

impl AsyncRead for LimitedStream {
	fn poll_read(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &mut ReadBuf<'_>,
	) -> Poll<std::io::Result<()>> {
		// Polled first, so the task wakes when the deadline passes even if the client
		// sends nothing more.
		if self.deadline.as_mut().poll(cx).is_ready() {
			return Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()));
		}
		let before = buf.filled().len();
		let read = Pin::new(&mut self.stream).poll_read(cx, buf);
		let received = buf.filled().len() - before;
		if received > 0 {
			let earned = Duration::from_secs_f64(received as f64 / f64::from(self.min_rate));
			let later = self.deadline.deadline() + earned;
			self.deadline.as_mut().reset(later);
		}
		read
	}
}

impl AsyncWrite for LimitedStream {
	fn poll_write(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &[u8],
	) -> Poll<std::io::Result<usize>> {
		let written = Pin::new(&mut self.stream).poll_write(cx, buf);
		if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
			// The node answered: the client's time for its next request starts now.
			let next = tokio::time::Instant::now() + self.timeout;
			self.deadline.as_mut().reset(next);
		}
		written
	}

	fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
		Pin::new(&mut self.stream).poll_flush(cx)
	}

	fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
		Pin::new(&mut self.stream).poll_shutdown(cx)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn senders_are_ipv4_addresses_or_ipv6_64s() {
		let ip = |s: &str| s.parse::<IpAddr>().unwrap();
		assert_eq!(sender_of(ip("192.0.2.7")), ip("192.0.2.7"));
		assert_eq!(sender_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
		assert_eq!(sender_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
		assert_eq!(sender_of(ip("2001:db8:1:2:bbbb::9")), sender_of(ip("2001:db8:1:2::5")));
		assert_ne!(sender_of(ip("2001:db8:1:3::1")), sender_of(ip("2001:db8:1:2::1")));
		let open = Open::new();
		let limits =
			ConnectionLimits { max_connections: 3, max_per_address: 2, ..Default::default() };
		let a = open.admit(ip("2001:db8::1"), &limits).unwrap();
		let _b = open.admit(ip("2001:db8::2"), &limits).unwrap();
		assert!(open.admit(ip("2001:db8::3"), &limits).is_none(), "the same /64");
		let _c = open.admit(ip("192.0.2.1"), &limits).unwrap();
		assert!(open.admit(ip("192.0.2.2"), &limits).is_none(), "over the total");
		drop(a);
		assert!(open.admit(ip("192.0.2.2"), &limits).is_some(), "a place freed");
	}
}
