//! `W3bBridge` as alloy sees it: the types, calls, events and errors generated from the
//! compiled artifact (`contracts/artifacts/W3bBridge.json`, the ABI and bytecode the
//! contract tests check against a fresh solc build), so this side cannot drift from it.

use alloy::{rpc::json_rpc::ErrorPayload, sol_types::SolError, transports::TransportError};

alloy::sol!(
	#[sol(rpc, all_derives)]
	W3bBridge,
	"../../contracts/artifacts/W3bBridge.json"
);

pub use W3bBridge::{Batch, Output, W3bBridgeErrors, W3bBridgeInstance};

/// What an EVM endpoint's error means for the relayer.
#[derive(Debug)]
pub enum CallError {
	/// The call reverts with one of the contract's errors.
	Contract(W3bBridgeErrors),
	/// The call reverts for another reason (a plain revert string, out of gas...).
	Reverted(String),
	/// The account cannot pay.
	InsufficientFunds(String),
	/// The endpoint is down, slow or failing: try again later.
	Transient(String),
}

impl CallError {
	/// Classifies `error` from a call, a gas estimate or a transaction sent.
	pub fn from_transport(error: TransportError) -> Self {
		match error.as_error_resp() {
			Some(payload) => Self::from_payload(payload),
			None => CallError::Transient(error.to_string()),
		}
	}

	fn from_payload(payload: &ErrorPayload) -> Self {
		if let Some(known) = payload.as_decoded_interface_error::<W3bBridgeErrors>() {
			return CallError::Contract(known);
		}
		let message = payload.message.to_lowercase();
		if message.contains("insufficient funds")
			|| message.contains("sender doesn't have enough funds")
		{
			CallError::InsufficientFunds(payload.message.to_string())
		} else if message.contains("revert")
			|| message.contains("out of gas")
			|| message.contains("invalid opcode")
		{
			let reason = payload
				.as_revert_data()
				.and_then(|data| alloy::sol_types::Revert::abi_decode(&data).ok())
				.map(|revert| revert.reason)
				.unwrap_or_else(|| payload.message.to_string());
			CallError::Reverted(reason)
		} else {
			CallError::Transient(payload.to_string())
		}
	}

	/// The error in words, for logs and the failure record.
	pub fn describe(&self) -> String {
		match self {
			// `BatchKnown(BatchKnown { nonce: 3 })`: the error with its fields.
			CallError::Contract(error) => format!("{error:?}"),
			CallError::Reverted(reason) => format!("reverted: {reason}"),
			CallError::InsufficientFunds(reason) => format!("insufficient funds: {reason}"),
			CallError::Transient(reason) => reason.clone(),
		}
	}
}
