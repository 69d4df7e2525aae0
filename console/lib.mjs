// What the console's pages use of the polkadot-js libraries, bundled into
// vendor/polkadot.js by vendor.mjs.
export { ApiPromise, WsProvider } from "@polkadot/api";
export { Keyring } from "@polkadot/keyring";
export { blake2AsHex, cryptoWaitReady } from "@polkadot/util-crypto";
