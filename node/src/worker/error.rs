//! What can stop the worker's work on a project for now (it tries again on the next
//! block).

/// A failure of the worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
	/// The runtime API failed.
	#[error("runtime API: {0}")]
	Api(#[from] sp_api::ApiError),
	/// The block database failed.
	#[error("blockchain: {0}")]
	Blockchain(#[from] sp_blockchain::Error),
	/// Sealing failed.
	#[error("sealing: {0}")]
	Seal(#[from] w3b_worker::SealError),
	/// The message store failed.
	#[error(transparent)]
	Store(#[from] w3b_storage::StoreError),
	/// A batch body could not be loaded.
	#[error("batch body: {0}")]
	Body(#[from] w3b_storage::LoadError),
	/// The applet engine failed outside any event.
	#[error("applet engine: {0}")]
	Executor(#[from] w3b_executor::ExecutorError),
	/// Changes a peer handed over do not fit the state here.
	#[error("agreed changes: {0}")]
	Adopt(#[from] w3b_worker::state::AdoptError),
	/// The project's state could not be loaded or saved.
	#[error("project state: {0}")]
	State(std::io::Error),
	/// The project's SQL database failed.
	#[error("project SQL database: {0}")]
	Sql(#[from] w3b_executor::SqlError),
	/// A transaction could not be signed or submitted.
	#[error("submitting {what}: {reason}")]
	Submit {
		/// What was submitted.
		what: &'static str,
		/// Why it failed.
		reason: String,
	},
	/// A setting is unusable (an EVM endpoint's URL).
	#[error("{0}")]
	Config(String),
	/// The chain lacks something it should hold (a block, code on chain).
	#[error("{0}")]
	Missing(String),
}
