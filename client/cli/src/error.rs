//! What can go wrong, the exit code of each, and what to do about it.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
	/// An argument or an input file is wrong.
	#[error("{0}")]
	BadArgument(String),
	/// The node cannot be reached or answered something unusable.
	#[error("cannot reach the node at {url}: {reason}")]
	Unreachable { url: String, reason: String },
	/// The chain refused a transaction or it failed when executed, or a node refused a
	/// device's message.
	#[error("{by} refused {what}: {reason}")]
	Refused { by: &'static str, what: String, reason: String, hint: Option<String> },
	/// What was asked for does not exist.
	#[error("{0}")]
	NotFound(String),
	/// A proof did not verify.
	#[error("proof did not verify: {0}")]
	Unverified(String),
	/// Waited longer than `--timeout`.
	#[error("timed out after {secs} s waiting for {what}")]
	TimedOut { what: String, secs: u64 },
	/// The node answered a read with an error.
	#[error("the node could not answer {method}: {message}")]
	NodeSaid { method: String, message: String },
	/// Anything else (a file that cannot be written, a broker that hangs up...).
	#[error("{0}")]
	Other(String),
}

impl CliError {
	/// The process's exit code for this error (documented in `w3b --help`).
	pub fn exit_code(&self) -> u8 {
		match self {
			CliError::Other(_) | CliError::NodeSaid { .. } => 1,
			CliError::BadArgument(_) => 2,
			CliError::Unreachable { .. } => 3,
			CliError::Refused { .. } => 4,
			CliError::NotFound(_) => 5,
			CliError::Unverified(_) => 6,
			CliError::TimedOut { .. } => 7,
		}
	}

	/// What the user can do about it, when there is something to say.
	pub fn hint(&self) -> Option<String> {
		match self {
			CliError::Unreachable { .. } => Some(
				"start a node (`scripts/local-net.sh`) or point --url / W3B_URL at one".into(),
			),
			CliError::Refused { hint, .. } => hint.clone(),
			CliError::NodeSaid { message, .. }
				if message.contains("does not have the body") ||
					message.contains("keeps no W3bstream data") =>
				Some(
					"batch bodies are kept by the project's operators: ask one of their nodes (--url)"
						.into(),
				),
			CliError::TimedOut { .. } => Some(
				"is the chain producing and finalizing blocks? raise --timeout; a transaction \
				 may still land after this: check (`project show`, `operator status`...) before \
				 sending it again"
					.into(),
			),
			_ => None,
		}
	}

	/// A bad argument.
	pub fn bad(message: impl Into<String>) -> Self {
		CliError::BadArgument(message.into())
	}
}

impl From<std::io::Error> for CliError {
	fn from(e: std::io::Error) -> Self {
		CliError::Other(e.to_string())
	}
}
