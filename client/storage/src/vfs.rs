//! The VFS: content-addressed blobs by [`Cid`], with pins. The embedded backend keeps
//! each blob in a file named by its digest, written to a temporary file, fsynced and
//! renamed into place (a crash leaves either the whole blob or nothing).

use std::{
	fs,
	io::{self, Write},
	path::{Path, PathBuf},
};

use crate::cid::Cid;

/// Content-addressed blob storage.
pub trait Vfs: Send + Sync {
	/// Stores `data` pinned; returns its CID. Storing the same data again pins it again.
	/// Pinned as it is stored, never after: a [`Vfs::collect`] running meanwhile (retention
	/// of another project) must not take a blob between its write and its pin.
	fn put(&self, data: &[u8]) -> io::Result<Cid>;
	/// The blob with this CID.
	fn get(&self, cid: &Cid) -> io::Result<Option<Vec<u8>>>;
	/// Keeps the blob through [`Vfs::collect`].
	fn pin(&self, cid: &Cid) -> io::Result<()>;
	/// Lets [`Vfs::collect`] remove the blob.
	fn unpin(&self, cid: &Cid) -> io::Result<()>;
	/// Whether the blob is pinned.
	fn is_pinned(&self, cid: &Cid) -> io::Result<bool>;
	/// Removes every unpinned blob; returns how many.
	fn collect(&self) -> io::Result<usize>;
}

/// Blobs in a directory.
pub struct FsVfs {
	blobs: PathBuf,
	pins: PathBuf,
}

impl FsVfs {
	/// A VFS in `dir` (created if needed).
	pub fn open(dir: &Path) -> io::Result<Self> {
		let (blobs, pins) = (dir.join("blobs"), dir.join("pins"));
		fs::create_dir_all(&blobs)?;
		fs::create_dir_all(&pins)?;
		Ok(FsVfs { blobs, pins })
	}

	fn name(cid: &Cid) -> String {
		sp_core::hexdisplay::HexDisplay::from(cid.digest()).to_string()
	}
}

/// Writes `data` to `path` atomically and durably.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
	let tmp = path.with_extension("tmp");
	let mut file = fs::File::create(&tmp)?;
	file.write_all(data)?;
	file.sync_all()?;
	fs::rename(&tmp, path)?;
	if let Some(dir) = path.parent() {
		fs::File::open(dir)?.sync_all()?;
	}
	Ok(())
}

impl Vfs for FsVfs {
	fn put(&self, data: &[u8]) -> io::Result<Cid> {
		let cid = Cid::of(data);
		// The pin first: `collect` keeps a pinned name's blob and its temporary file.
		write_atomically(&self.pins.join(Self::name(&cid)), b"")?;
		let path = self.blobs.join(Self::name(&cid));
		if !path.exists() {
			write_atomically(&path, data)?;
		}
		Ok(cid)
	}

	fn get(&self, cid: &Cid) -> io::Result<Option<Vec<u8>>> {
		match fs::read(self.blobs.join(Self::name(cid))) {
			Ok(data) if Cid::of(&data) == *cid => Ok(Some(data)),
			Ok(_) => {
				Err(io::Error::new(io::ErrorKind::InvalidData, format!("blob {cid} is corrupt")))
			}
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	fn pin(&self, cid: &Cid) -> io::Result<()> {
		if !self.blobs.join(Self::name(cid)).exists() {
			return Err(io::Error::new(io::ErrorKind::NotFound, format!("no blob {cid}")));
		}
		write_atomically(&self.pins.join(Self::name(cid)), b"")
	}

	fn unpin(&self, cid: &Cid) -> io::Result<()> {
		match fs::remove_file(self.pins.join(Self::name(cid))) {
			Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
			_ => Ok(()),
		}
	}

	fn is_pinned(&self, cid: &Cid) -> io::Result<bool> {
		Ok(self.pins.join(Self::name(cid)).exists())
	}

	fn collect(&self) -> io::Result<usize> {
		let mut removed = 0;
		for entry in fs::read_dir(&self.blobs)? {
			let entry = entry?;
			// `NAME.tmp` is a blob being written: it goes with NAME's pin.
			let path = entry.path();
			let Some(name) = path.file_stem() else { continue };
			if !self.pins.join(name).exists() {
				match fs::remove_file(&path) {
					// Renamed into place meanwhile.
					Err(e) if e.kind() == io::ErrorKind::NotFound => {}
					other => other?,
				}
				removed += 1;
			}
		}
		Ok(removed)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn put_get_pin_unpin_collect() {
		let dir = tempfile::tempdir().unwrap();
		let vfs = FsVfs::open(dir.path()).unwrap();
		let a = vfs.put(b"batch a").unwrap();
		let b = vfs.put(b"batch b").unwrap();
		assert_eq!(vfs.put(b"batch a").unwrap(), a);
		assert_eq!(vfs.get(&a).unwrap().as_deref(), Some(&b"batch a"[..]));
		assert_eq!(vfs.get(&Cid::of(b"other")).unwrap(), None);
		// Stored pinned: a collection right after a put takes nothing.
		assert!(vfs.is_pinned(&a).unwrap() && vfs.is_pinned(&b).unwrap());
		assert_eq!(vfs.collect().unwrap(), 0);
		vfs.unpin(&b).unwrap();
		vfs.pin(&a).unwrap();
		assert!(vfs.is_pinned(&a).unwrap() && !vfs.is_pinned(&b).unwrap());
		assert!(vfs.pin(&Cid::of(b"absent")).is_err());
		assert_eq!(vfs.collect().unwrap(), 1);
		assert!(vfs.get(&b).unwrap().is_none() && vfs.get(&a).unwrap().is_some());
		vfs.unpin(&a).unwrap();
		vfs.unpin(&a).unwrap();
		assert_eq!(vfs.collect().unwrap(), 1);
		// A blob being written (pinned, its temporary file not yet renamed) stays; one
		// left by a crash before its pin goes.
		let writing = Cid::of(b"being written");
		fs::write(dir.path().join("pins").join(FsVfs::name(&writing)), b"").unwrap();
		let partial = dir.path().join("blobs").join(format!("{}.tmp", FsVfs::name(&writing)));
		fs::write(&partial, b"being").unwrap();
		let orphan = dir.path().join("blobs").join(format!("{}.tmp", FsVfs::name(&a)));
		fs::write(&orphan, b"batch").unwrap();
		assert_eq!(vfs.collect().unwrap(), 1);
		assert!(partial.exists() && !orphan.exists());
		// Survives a reopen; a corrupted blob is reported, not returned.
		let c = vfs.put(b"batch c").unwrap();
		let vfs = FsVfs::open(dir.path()).unwrap();
		assert!(vfs.get(&c).unwrap().is_some());
		fs::write(dir.path().join("blobs").join(FsVfs::name(&c)), b"tampered").unwrap();
		assert!(vfs.get(&c).is_err());
	}
}
