//! What ingestion needs to know from the chain, behind a trait so that the crate is
//! tested without a node; the node implements it over the runtime's `W3bstreamApi`.

use std::{
	collections::{HashMap, HashSet},
	sync::RwLock,
};

use w3b_primitives::{project::DeviceRecord, DeviceId, DeviceKey, ProjectId, ProjectStatus};

/// Projects and devices as the chain has them.
pub trait ChainView: Send + Sync {
	/// The status of a project, if it exists.
	fn project_status(&self, project: ProjectId) -> Option<ProjectStatus>;
	/// Whether this node commits the project's batches (its operator is in the project's
	/// subnet). A message for a project the node does not serve would be stored and never
	/// committed: it is refused instead, so that the device sends it to an operator.
	fn serves(&self, project: ProjectId) -> bool;
	/// A device of a project, as of the finalized block.
	fn device(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceRecord<u32>>;
	/// Whether a device [`ChainView::device`] does not know yet is registered in a block
	/// not final yet: its messages are refused for now, not for good.
	fn device_pending(&self, _project: ProjectId, _device: &DeviceId) -> bool {
		false
	}
	/// For a device registered by DID whose DID changed its authentication key in a block
	/// not final yet, the new key: messages under it are refused for now, not for good.
	fn pending_key(&self, _project: ProjectId, _device: &DeviceId) -> Option<DeviceKey> {
		None
	}
}

/// A chain view held in memory, updated by whoever owns it (tests, a cache the node
/// refreshes on each finalized block).
#[derive(Default)]
pub struct MemoryChain {
	projects: RwLock<HashMap<ProjectId, ProjectStatus>>,
	devices: RwLock<HashMap<(ProjectId, DeviceId), DeviceRecord<u32>>>,
	pending_devices: RwLock<HashSet<(ProjectId, DeviceId)>>,
	pending_keys: RwLock<HashMap<(ProjectId, DeviceId), DeviceKey>>,
	unserved: RwLock<HashSet<ProjectId>>,
}

impl MemoryChain {
	/// Sets a project's status.
	pub fn set_project(&self, project: ProjectId, status: ProjectStatus) {
		self.projects.write().expect("lock").insert(project, status);
	}

	/// Says whether this node serves `project` (every project is served until told
	/// otherwise).
	pub fn set_served(&self, project: ProjectId, served: bool) {
		let mut unserved = self.unserved.write().expect("lock");
		if served {
			unserved.remove(&project);
		} else {
			unserved.insert(project);
		}
	}

	/// Says whether a device is registered in a block not final yet.
	pub fn set_device_pending(&self, project: ProjectId, device: DeviceId, pending: bool) {
		let mut devices = self.pending_devices.write().expect("lock");
		if pending {
			devices.insert((project, device));
		} else {
			devices.remove(&(project, device));
		}
	}

	/// Sets (or clears) the key a DID device's DID set in a block not final yet.
	pub fn set_pending_key(&self, project: ProjectId, device: DeviceId, key: Option<DeviceKey>) {
		let mut keys = self.pending_keys.write().expect("lock");
		match key {
			Some(key) => keys.insert((project, device), key),
			None => keys.remove(&(project, device)),
		};
	}

	/// Adds or replaces a device.
	pub fn set_device(&self, project: ProjectId, record: DeviceRecord<u32>) {
		let id = record.id();
		self.devices.write().expect("lock").insert((project, id), record);
	}
}

impl ChainView for MemoryChain {
	fn project_status(&self, project: ProjectId) -> Option<ProjectStatus> {
		self.projects.read().expect("lock").get(&project).copied()
	}

	fn serves(&self, project: ProjectId) -> bool {
		!self.unserved.read().expect("lock").contains(&project)
	}

	fn device(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceRecord<u32>> {
		self.devices.read().expect("lock").get(&(project, *device)).cloned()
	}

	fn device_pending(&self, project: ProjectId, device: &DeviceId) -> bool {
		self.pending_devices.read().expect("lock").contains(&(project, *device))
	}

	fn pending_key(&self, project: ProjectId, device: &DeviceId) -> Option<DeviceKey> {
		self.pending_keys.read().expect("lock").get(&(project, *device)).cloned()
	}
}
