//! Files the worker must find whole after a crash.

use std::{io, path::Path};

/// Writes `bytes` to `path` durably (write a sibling file, fsync it, rename it over
/// `path`, fsync the directory): a crash leaves the previous or the new content, never
/// a torn file.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
	use std::io::Write;
	let tmp = path.with_extension("tmp");
	let mut file = std::fs::File::create(&tmp)?;
	file.write_all(bytes)?;
	file.sync_all()?;
	std::fs::rename(&tmp, path)?;
	if let Some(dir) = path.parent() {
		std::fs::File::open(dir)?.sync_all()?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_write_replaces_the_whole_file_and_leaves_no_sibling() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("journal");
		write(&path, b"a longer first content").unwrap();
		write(&path, b"second").unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"second");
		assert!(!path.with_extension("tmp").exists());
	}

	#[test]
	fn a_missing_directory_is_an_error_not_a_panic() {
		let dir = tempfile::tempdir().unwrap();
		assert!(write(&dir.path().join("absent/journal"), b"x").is_err());
	}
}
