//! The node's client type, shared by the service, the RPC, ingestion and the worker.

use w3b_runtime::{apis::RuntimeApi, opaque::Block};

/// The client: the runtime executed as WASM only (there is no native runtime).
pub type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
