//! Tests of the governance pallet.

use crate::{mock::*, Event};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::{DispatchError, DispatchResult};

/// A `Root`-only call: writes `value` under `key`.
fn set_storage(key: &[u8], value: &[u8]) -> Box<RuntimeCall> {
	Box::new(RuntimeCall::System(frame_system::Call::set_storage {
		items: vec![(key.to_vec(), value.to_vec())],
	}))
}

fn last_result() -> DispatchResult {
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Governance(Event::DispatchedAsRoot { result }) => Some(result),
			_ => None,
		})
		.expect("DispatchedAsRoot was emitted")
}

#[docify::export]
#[test]
fn council_origin_dispatches_as_root() {
	new_test_ext().execute_with(|| {
		assert_ok!(Governance::dispatch_as_root(
			RuntimeOrigin::signed(COUNCIL),
			set_storage(b":w3b:test", b"council")
		));
		assert_eq!(sp_io::storage::get(b":w3b:test").as_deref(), Some(&b"council"[..]));
		assert_eq!(last_result(), Ok(()));

		// Anyone else, signed, is refused and changes nothing.
		assert_noop!(
			Governance::dispatch_as_root(
				RuntimeOrigin::signed(STRANGER),
				set_storage(b":w3b:test", b"stranger")
			),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn root_and_unsigned_origins_are_not_the_council() {
	new_test_ext().execute_with(|| {
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				Governance::dispatch_as_root(origin, set_storage(b":w3b:test", b"x")),
				DispatchError::BadOrigin
			);
		}
	});
}

#[test]
fn the_calls_own_failure_is_reported_not_hidden() {
	new_test_ext().execute_with(|| {
		// `remark_with_event` needs a signed origin, so as Root it fails.
		let call = Box::new(RuntimeCall::System(frame_system::Call::remark_with_event {
			remark: b"hello".to_vec(),
		}));
		assert_ok!(Governance::dispatch_as_root(RuntimeOrigin::signed(COUNCIL), call));
		assert_eq!(last_result(), Err(DispatchError::BadOrigin));
	});
}
