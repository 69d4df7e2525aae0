//! The web console's server (`--w3b-console-port`): the console's static files from
//! `--w3b-console-dir`, and `GET /config.json`, which tells the page where this node's
//! JSON-RPC listens. The page talks to the node over that WebSocket only; this server
//! holds no state and reads nothing but the files under the directory.
//!
//! The page handles its users' secret keys (owner actions are signed in the browser),
//! so its responses forbid what it does not need: scripts and styles from this origin
//! only, no framing, connections to WebSockets and this origin only.

use std::{
	net::SocketAddr,
	path::{Component, Path, PathBuf},
	sync::Arc,
};

use axum::{
	extract::{Path as UrlPath, State},
	http::{header, HeaderValue, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Json, Router,
};
use sc_service::TaskManager;
use serde_json::json;

/// Largest file served: the console's biggest (a bundled library) is about 1 MiB.
const MAX_FILE: u64 = 4 << 20;
/// Files read at once: each is held in memory until sent, so a flood of requests costs
/// at most this many files' worth.
const MAX_READS: usize = 16;

/// What every response carries: the console's scripts need this origin, WASM (the
/// crypto library compiles its WASM) and WebSocket connections to nodes.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
	(
		header::CONTENT_SECURITY_POLICY,
		"default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
		 img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; \
		 base-uri 'none'; form-action 'none'",
	),
	(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
	(header::REFERRER_POLICY, "no-referrer"),
	(header::CACHE_CONTROL, "no-cache"),
];

/// What the handlers share.
#[derive(Clone)]
struct Console {
	/// The console's directory, canonical.
	root: PathBuf,
	/// This node's JSON-RPC port, for `/config.json`.
	rpc_port: u16,
	/// Permits to read a file (at most [`MAX_READS`] at once).
	reads: Arc<tokio::sync::Semaphore>,
}

/// The console directory of a node built from this repository.
pub fn default_dir() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("../console")
}

/// Starts the console server on `address` as a node task.
pub fn start(
	address: SocketAddr,
	dir: &Path,
	rpc_port: u16,
	task_manager: &TaskManager,
) -> Result<(), String> {
	let root = dir.canonicalize().map_err(|e| {
		format!("--w3b-console-dir {}: {e} (the console's files are in console/)", dir.display())
	})?;
	if !root.join("index.html").is_file() {
		return Err(format!("--w3b-console-dir {}: no index.html", root.display()));
	}
	if !root.join("vendor").is_dir() {
		return Err(format!(
			"--w3b-console-dir {}: no vendor/ (run `npm ci` in the console directory)",
			root.display()
		));
	}
	let listener = std::net::TcpListener::bind(address)
		.map_err(|e| format!("binding the console to {address}: {e}"))?;
	listener.set_nonblocking(true).map_err(|e| e.to_string())?;
	if !address.ip().is_loopback() {
		log::warn!(
			"the W3bstream console on {address} is plain HTTP and its page asks for secret keys: \
			 serve it to other machines only behind HTTPS"
		);
	}
	log::info!("🖥️  W3bstream console on http://{address}");
	let reads = Arc::new(tokio::sync::Semaphore::new(MAX_READS));
	let app = router(Console { root, rpc_port, reads });
	task_manager.spawn_handle().spawn("w3b-console", Some("w3b"), async move {
		match tokio::net::TcpListener::from_std(listener) {
			Ok(listener) => {
				if let Err(e) = axum::serve(listener, app).await {
					log::error!("W3bstream console stopped: {e}");
				}
			}
			Err(e) => log::error!("W3bstream console: {e}"),
		}
	});
	Ok(())
}

fn router(console: Console) -> Router {
	Router::new()
		.route("/", get(|State(c): State<Console>| async move { file(&c, "index.html").await }))
		.route("/config.json", get(config))
		.route("/{*path}", get(static_file))
		.with_state(console)
}

async fn config(State(console): State<Console>) -> Response {
	secure(Json(json!({ "rpcPort": console.rpc_port })).into_response())
}

async fn static_file(State(console): State<Console>, UrlPath(path): UrlPath<String>) -> Response {
	file(&console, &path).await
}

/// The file at `path` under `root`, if `path` names one the console serves: plain
/// components only (no `..`, no hidden files, nothing under `node_modules`), and still
/// inside `root` once symbolic links are followed.
async fn file(console: &Console, path: &str) -> Response {
	let root = &console.root;
	let not_found = || secure((StatusCode::NOT_FOUND, "not found").into_response());
	let relative = Path::new(path);
	let plain = relative.components().all(|component| match component {
		Component::Normal(name) => {
			let name = name.to_string_lossy();
			!name.starts_with('.') && name != "node_modules" && !name.contains('\\')
		}
		_ => false,
	});
	if !plain || path.is_empty() {
		return not_found();
	}
	let Ok(_permit) = console.reads.acquire().await else { return not_found() };
	let Ok(full) = tokio::fs::canonicalize(root.join(relative)).await else { return not_found() };
	if !full.starts_with(root) {
		return not_found();
	}
	let Ok(meta) = tokio::fs::metadata(&full).await else { return not_found() };
	if !meta.is_file() || meta.len() > MAX_FILE {
		return not_found();
	}
	match tokio::fs::read(&full).await {
		Ok(bytes) => {
			let mut response = bytes.into_response();
			response
				.headers_mut()
				.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&full)));
			secure(response)
		}
		Err(_) => not_found(),
	}
}

fn secure(mut response: Response) -> Response {
	for (name, value) in SECURITY_HEADERS {
		response.headers_mut().insert(name, HeaderValue::from_static(value));
	}
	response
}

fn content_type(path: &Path) -> &'static str {
	match path.extension().and_then(|e| e.to_str()) {
		Some("html") => "text/html; charset=utf-8",
		Some("js" | "mjs") => "text/javascript; charset=utf-8",
		Some("css") => "text/css; charset=utf-8",
		Some("json") => "application/json",
		Some("svg") => "image/svg+xml",
		Some("png") => "image/png",
		Some("wasm") => "application/wasm",
		_ => "application/octet-stream",
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn console_dir() -> tempfile::TempDir {
		let dir = tempfile::tempdir().expect("temp dir");
		std::fs::write(dir.path().join("index.html"), "<h1>console</h1>").expect("write");
		std::fs::create_dir(dir.path().join("vendor")).expect("mkdir");
		std::fs::write(dir.path().join("vendor/lib.js"), "let a;").expect("write");
		std::fs::create_dir(dir.path().join("node_modules")).expect("mkdir");
		std::fs::write(dir.path().join("node_modules/x.js"), "secret").expect("write");
		std::fs::write(dir.path().join(".env"), "secret").expect("write");
		dir
	}

	async fn get_status(root: &Path, path: &str) -> (StatusCode, String) {
		let console = Console {
			root: root.to_path_buf(),
			rpc_port: 9944,
			reads: Arc::new(tokio::sync::Semaphore::new(MAX_READS)),
		};
		let response = file(&console, path).await;
		let status = response.status();
		let csp = response.headers().get(header::CONTENT_SECURITY_POLICY).is_some();
		assert!(csp, "every response carries the content security policy");
		let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
		(status, String::from_utf8_lossy(&body).into_owned())
	}

	#[tokio::test]
	async fn serves_the_console_files() {
		let dir = console_dir();
		let root = dir.path().canonicalize().expect("canonical");
		assert_eq!(get_status(&root, "index.html").await.0, StatusCode::OK);
		assert_eq!(get_status(&root, "vendor/lib.js").await, (StatusCode::OK, "let a;".into()));
		assert_eq!(content_type(Path::new("a/app.js")), "text/javascript; charset=utf-8");
	}

	#[tokio::test]
	async fn nothing_outside_the_console_is_served() {
		let dir = console_dir();
		let outside = tempfile::tempdir().expect("temp dir");
		std::fs::write(outside.path().join("secret.txt"), "secret").expect("write");
		std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.txt"))
			.expect("symlink");
		let root = dir.path().canonicalize().expect("canonical");
		let attempts = [
			"../secret.txt",
			"vendor/../../secret.txt",
			"/etc/passwd",
			"%2e%2e/secret.txt",
			".env",
			"node_modules/x.js",
			"vendor/..\\..\\secret.txt",
			"link.txt",
			"vendor",
			"",
			"missing.js",
		];
		for path in attempts {
			let (status, body) = get_status(&root, path).await;
			assert_eq!(status, StatusCode::NOT_FOUND, "{path:?} was served");
			assert!(!body.contains("secret"), "{path:?} leaked a file");
		}
	}
}
