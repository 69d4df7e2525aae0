//! Storage of a W3bstream node: the content-addressed VFS where batch bodies live, and
//! the message store where every acknowledged device message is kept until its batch is
//! finalized and retention lets it go. The message store has two backends behind
//! [`MessageStore`]: [`EmbeddedStore`] (the default, nothing to set up) and [`PgStore`]
//! (PostgreSQL); the VFS too: [`FsVfs`] (embedded) and [`ipfs::IpfsVfs`] (a Kubo daemon).

#![deny(missing_docs)]

pub mod body;
pub mod cid;
pub mod ipfs;
pub mod postgres;
pub mod retention;
pub mod store;
pub mod vfs;

pub use body::{check_body, load_body, BatchBody, BodyError, LoadError};
pub use cid::{Cid, CidError};
pub use postgres::PgStore;
pub use store::{EmbeddedStore, MessageStore, Rejection, StoreError, StoreOptions, StoredMessage};
pub use vfs::{FsVfs, Vfs};
