//! Why a message was refused, with a stable code devices can act on.

use serde::Serialize;

/// A refusal. [`IngestError::code`] is stable (part of the HTTP and MQTT API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
	/// The request is not a message in the documented format.
	#[error("malformed message: {0}")]
	Malformed(String),
	/// No project has this id.
	#[error("unknown project {0}")]
	UnknownProject(u64),
	/// The project is Pending, Paused or Closed.
	#[error("project {0} is not active")]
	ProjectNotActive(u64),
	/// This node is not one of the project's operators: it would store the message and
	/// never commit it. The project's operators and their endpoints are on chain
	/// (`w3b_getSubnet`, `w3b_getOperator`).
	#[error("this node is not an operator of project {0}: send to one of its operators")]
	NotServed(u64),
	/// The message names another project than the endpoint it was sent to.
	#[error("the message is for project {message}, not {endpoint}")]
	WrongProject {
		/// The message's project.
		message: u64,
		/// The endpoint's (URL or topic) project.
		endpoint: u64,
	},
	/// No device with this id is registered in the project.
	#[error("unknown device")]
	UnknownDevice,
	/// The device is registered in a block not final yet: the node takes its messages
	/// once it is (a reorganisation could still take the registration away).
	#[error("the device's registration is not final yet: send again in a few seconds")]
	DeviceNotFinal,
	/// The device was revoked.
	#[error("the device is revoked")]
	RevokedDevice,
	/// The signature does not verify with the device's key.
	#[error("bad signature")]
	BadSignature,
	/// The payload is larger than allowed.
	#[error("payload of {size} bytes exceeds {max}")]
	PayloadTooLarge {
		/// Its size.
		size: usize,
		/// The limit.
		max: usize,
	},
	/// The message's timestamp is too far from the node's clock.
	#[error("timestamp {timestamp_ms} is more than {max_skew_ms} ms from the node's clock")]
	ClockSkew {
		/// The message's timestamp.
		timestamp_ms: u64,
		/// The allowed skew.
		max_skew_ms: u64,
	},
	/// The device already sent this `seq` or a higher one.
	#[error("seq {seq} is not above the device's last seq {last}")]
	StaleSeq {
		/// The message's seq.
		seq: u64,
		/// The last one stored.
		last: u64,
	},
	/// This exact message is already stored (a retry whose acknowledgement was lost).
	#[error("duplicate of stored message {0}")]
	Duplicate(String),
	/// A request holds more messages than one request may.
	#[error("more than {max} messages in one request")]
	TooManyMessages {
		/// The limit.
		max: usize,
	},
	/// The device, project or sender sends faster than allowed.
	#[error("rate limit of the {0} exceeded")]
	RateLimited(&'static str),
	/// The node runs behind on executing what it took ([`crate::backlog`]): nothing was
	/// acknowledged; send it again later, or to another node.
	#[error(
		"the node is behind on executing the messages it took: try again later, or another node"
	)]
	Backlogged,
	/// The node could not store the message; nothing was acknowledged.
	#[error("storage failure: {0}")]
	Storage(String),
}

impl IngestError {
	/// The stable code of this refusal.
	pub fn code(&self) -> &'static str {
		match self {
			IngestError::Malformed(_) => "malformed",
			IngestError::UnknownProject(_) => "unknown_project",
			IngestError::ProjectNotActive(_) => "project_not_active",
			IngestError::NotServed(_) => "not_served",
			IngestError::WrongProject { .. } => "wrong_project",
			IngestError::UnknownDevice => "unknown_device",
			IngestError::DeviceNotFinal => "device_not_final",
			IngestError::RevokedDevice => "revoked_device",
			IngestError::BadSignature => "bad_signature",
			IngestError::PayloadTooLarge { .. } => "payload_too_large",
			IngestError::TooManyMessages { .. } => "too_many_messages",
			IngestError::ClockSkew { .. } => "clock_skew",
			IngestError::StaleSeq { .. } => "stale_seq",
			IngestError::Duplicate(_) => "duplicate",
			IngestError::RateLimited(_) => "rate_limited",
			IngestError::Backlogged => "backlogged",
			IngestError::Storage(_) => "storage_failure",
		}
	}

	/// Whether the node may take this message later (over the rate now, behind on its
	/// work, storage failing, the device's registration not final yet): it must not be
	/// acknowledged as handled, so the device or broker sends it again. Every other
	/// refusal is final.
	pub fn is_transient(&self) -> bool {
		matches!(
			self,
			IngestError::RateLimited(_)
				| IngestError::Backlogged
				| IngestError::Storage(_)
				| IngestError::DeviceNotFinal
		)
	}

	/// The JSON body of this refusal: `{"code": ..., "message": ...}`.
	pub fn body(&self) -> ErrorBody {
		ErrorBody { code: self.code(), message: self.to_string() }
	}
}

/// A refusal as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
	/// Stable code.
	pub code: &'static str,
	/// Human-readable explanation.
	pub message: String,
}
