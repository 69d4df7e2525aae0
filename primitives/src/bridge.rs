//! The secp256k1 session key that validators use to sign proofs for the IoTeX bridge.
//!
//! secp256k1 is what the EVM verifies natively (`ecrecover`), so the bridge verifier
//! contract can check validator signatures for a few thousand gas each. The key is a
//! session key like the Aura and GRANDPA keys: it is generated in the validator's
//! keystore, registered on chain with `session.set_keys`, and rotates with the set.

use sp_core::crypto::KeyTypeId;

/// Key type of the bridge signing key: `w3b_`.
pub const BRIDGE_KEY_TYPE: KeyTypeId = KeyTypeId(*b"w3b_");

mod app {
	use sp_application_crypto::{app_crypto, ecdsa};
	app_crypto!(ecdsa, super::BRIDGE_KEY_TYPE);
}

/// Public secp256k1 key of a validator's bridge signer.
pub type BridgeAuthorityId = app::Public;

/// Signature made by a bridge signer.
pub type BridgeAuthoritySignature = app::Signature;

/// Key pair of a bridge signer (node side only).
#[cfg(feature = "std")]
pub type BridgeAuthorityPair = app::Pair;
