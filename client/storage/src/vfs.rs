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
	/// Stores `data`; returns its CID. Storing the same data again is a no-op.
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
			let name = entry.file_name();
			if !self.pins.join(&name).exists() {
				fs::remove_file(entry.path())?;
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
		vfs.pin(&a).unwrap();
		assert!(vfs.is_pinned(&a).unwrap() && !vfs.is_pinned(&b).unwrap());
		assert!(vfs.pin(&Cid::of(b"absent")).is_err());
		assert_eq!(vfs.collect().unwrap(), 1);
		assert!(vfs.get(&b).unwrap().is_none() && vfs.get(&a).unwrap().is_some());
		vfs.unpin(&a).unwrap();
		vfs.unpin(&a).unwrap();
		assert_eq!(vfs.collect().unwrap(), 1);
		// Survives a reopen; a corrupted blob is reported, not returned.
		let c = vfs.put(b"batch c").unwrap();
		let vfs = FsVfs::open(dir.path()).unwrap();
		assert!(vfs.get(&c).unwrap().is_some());
		fs::write(dir.path().join("blobs").join(FsVfs::name(&c)), b"tampered").unwrap();
		assert!(vfs.get(&c).is_err());
	}
}
