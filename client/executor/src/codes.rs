//! Return codes of the host functions, as W3bstream applets expect them.
//!
//! 0 to 9 and -1 are W3bstream's; [`REFUSED`] is ours: a host call whose answer could
//! differ between operators (network, contract reads at "latest") is refused, because
//! every operator must compute the same result from the same batch.

/// Success.
pub const OK: i32 = 0;
/// The resource id, database key or similar does not exist.
pub const RESOURCE_NOT_FOUND: i32 = 2;
/// Handing data to the applet failed (its `alloc` returned a pointer outside its memory,
/// or a return pointer is outside its memory).
pub const TRANS_DATA_TO_VM_FAILED: i32 = 5;
/// Reading data from the applet failed (a pointer or length outside its memory, or text
/// that is not UTF-8 where text is required).
pub const TRANS_DATA_FROM_VM_FAILED: i32 = 6;
/// The host failed (for instance SQL that does not parse, or a bound exceeded).
pub const HOST_INTERNAL: i32 = 7;
/// `ws_get_env`: the project has no such environment variable.
pub const ENV_KEY_NOT_FOUND: i32 = 8;
/// `ws_get_sql_db` / `ws_set_sql_db`: the project has no SQL database.
pub const NO_DB_CONTEXT: i32 = 9;
/// The call could give different answers on different operators and is refused
/// (`ws_call_contract`, `ws_api_call`).
pub const REFUSED: i32 = 10;
/// Generic failure.
pub const FAILED: i32 = -1;
