//! The pallets whose benchmarks the runtime exposes to `w3b-node benchmark pallet`.

frame_benchmarking::define_benchmarks!(
	[frame_system, SystemBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_governance, Governance]
	[pallet_validators, Validators]
	[pallet_projects, Projects]
	[pallet_operators, Operators]
	[pallet_commitments, Commitments]
	[pallet_attestations, Attestations]
	[pallet_bridge, Bridge]
	[pallet_inbound, Inbound]
	[pallet_did, Did]
	[pallet_credentials, Credentials]
);

impl frame_system_benchmarking::Config for crate::Runtime {}
