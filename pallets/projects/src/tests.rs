//! Unit tests: every call, its events and every error path.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use sp_core::Pair as _;
use w3b_primitives::{
	code::sample_module,
	project::{EnvVar, Strategy, DEFAULT_EVENT_TYPE},
	DeviceKey,
};

fn create(owner: u64, project_name: &str, min_operators: u32) -> ProjectId {
	let id = NextProjectId::<Test>::get();
	assert_ok!(Projects::create_project(
		RuntimeOrigin::signed(owner),
		name(project_name),
		Default::default(),
		config(min_operators)
	));
	id
}

fn upload(who: u64, handlers: &[&str]) -> H256 {
	let code = sample_module(handlers, 0);
	assert_ok!(Projects::upload_code(RuntimeOrigin::signed(who), code.clone()));
	code_hash(&code)
}

fn strategies(routes: &[(&[u8], &str)]) -> Strategies {
	routes
		.iter()
		.map(|(ty, handler)| Strategy {
			event_type: ty.to_vec().try_into().unwrap(),
			handler: handler.as_bytes().to_vec().try_into().unwrap(),
		})
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

fn default_route() -> Strategies {
	strategies(&[(DEFAULT_EVENT_TYPE, "start")])
}

fn held(who: u64) -> u64 {
	Balances::total_balance_on_hold(&who)
}

fn status(project: ProjectId) -> ProjectStatus {
	Projects::status(project).unwrap()
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

#[test]
fn create_project_holds_deposit_and_starts_pending() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "weather", 2);
		assert_eq!(p, 0);
		assert_eq!(held(OWNER), PROJECT_DEPOSIT);
		let info = ProjectInfos::<Test>::get(p).unwrap();
		assert_eq!((info.owner, info.status, info.deposit), (OWNER, ProjectStatus::Pending, 100));
		assert_eq!(ProjectNames::<Test>::get(name("weather")), Some(p));
		System::assert_last_event(
			Event::ProjectCreated { project: p, owner: OWNER, name: name("weather") }.into(),
		);
		assert_eq!(create(OTHER, "traffic", 1), 1);
	});
}

#[test]
fn create_project_rejects_bad_names_configs_and_poor_callers() {
	new_test_ext().execute_with(|| {
		let new = |who, n: &str, c| {
			Projects::create_project(RuntimeOrigin::signed(who), name(n), Default::default(), c)
		};
		assert_noop!(new(OWNER, "", config(1)), Error::<Test>::InvalidName);
		let not_utf8 = Name::try_from(vec![0xff, 0xfe]).unwrap();
		assert_noop!(
			Projects::create_project(
				RuntimeOrigin::signed(OWNER),
				not_utf8,
				Default::default(),
				config(1)
			),
			Error::<Test>::InvalidName
		);
		assert_noop!(new(OWNER, "p", config(0)), Error::<Test>::InvalidMinOperators);
		for fuel in [0, w3b_primitives::project::MAX_FUEL_PER_BATCH + 1] {
			let c = ProjectConfig { fuel_per_batch: fuel, ..config(1) };
			assert_noop!(new(OWNER, "p", c), Error::<Test>::InvalidFuel);
		}
		for deadline in [1, 101] {
			let c = ProjectConfig { attestation_deadline: deadline, ..config(1) };
			assert_noop!(new(OWNER, "p", c), Error::<Test>::InvalidDeadline);
		}
		let var = |k: &str| EnvVar {
			key: k.as_bytes().to_vec().try_into().unwrap(),
			value: b"v".to_vec().try_into().unwrap(),
		};
		for env in [vec![var("")], vec![var("A"), var("B"), var("A")]] {
			let c = ProjectConfig { env: env.try_into().unwrap(), ..config(1) };
			assert_noop!(new(OWNER, "p", c), Error::<Test>::InvalidEnv);
		}
		assert!(new(POOR, "p", config(1)).is_err());
		assert_eq!(NextProjectId::<Test>::get(), 0);
		create(OWNER, "p", 1);
		let most = ProjectConfig {
			fuel_per_batch: w3b_primitives::project::MAX_FUEL_PER_BATCH,
			..config(1)
		};
		assert_ok!(new(OWNER, "most", most));
		assert_noop!(new(OTHER, "p", config(1)), Error::<Test>::NameTaken);
		assert_noop!(
			Projects::create_project(
				RuntimeOrigin::none(),
				name("q"),
				Default::default(),
				config(1)
			),
			sp_runtime::DispatchError::BadOrigin
		);
	});
}

#[test]
fn project_becomes_active_when_subnet_reaches_min_operators_and_falls_back() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 2);
		set_subnet_size(p, 1);
		assert_eq!(status(p), ProjectStatus::Pending);
		set_subnet_size(p, 2);
		assert_eq!(status(p), ProjectStatus::Active);
		System::assert_last_event(
			Event::ProjectStatusChanged { project: p, status: ProjectStatus::Active }.into(),
		);
		set_subnet_size(p, 1);
		assert_eq!(status(p), ProjectStatus::Pending);
		// Raising or lowering min_operators re-evaluates at once.
		assert_ok!(Projects::set_config(RuntimeOrigin::signed(OWNER), p, config(1)));
		assert_eq!(status(p), ProjectStatus::Active);
		assert_ok!(Projects::set_config(RuntimeOrigin::signed(OWNER), p, config(3)));
		assert_eq!(status(p), ProjectStatus::Pending);
		// A paused project ignores subnet changes.
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		set_subnet_size(p, 5);
		assert_eq!(status(p), ProjectStatus::Paused);
		// Unknown projects are ignored.
		set_subnet_size(42, 5);
		assert!(Projects::status(42).is_none());
	});
}

#[test]
fn set_config_replaces_config_for_owner_only() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let c = ProjectConfig { fuel_per_batch: 7, reward_per_batch: 5, ..config(1) };
		assert_noop!(
			Projects::set_config(RuntimeOrigin::signed(OTHER), p, c.clone()),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Projects::set_config(RuntimeOrigin::signed(OWNER), 9, c.clone()),
			Error::<Test>::UnknownProject
		);
		assert_noop!(
			Projects::set_config(RuntimeOrigin::signed(OWNER), p, config(0)),
			Error::<Test>::InvalidMinOperators
		);
		assert_ok!(Projects::set_config(RuntimeOrigin::signed(OWNER), p, c.clone()));
		assert_eq!(ProjectInfos::<Test>::get(p).unwrap().config, c);
		System::assert_has_event(Event::ProjectConfigured { project: p }.into());
	});
}

#[test]
fn transfer_hands_over_control_but_not_the_deposit() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		assert_noop!(
			Projects::transfer_project(RuntimeOrigin::signed(OTHER), p, OTHER),
			Error::<Test>::NotOwner
		);
		assert_ok!(Projects::transfer_project(RuntimeOrigin::signed(OWNER), p, OTHER));
		System::assert_last_event(
			Event::ProjectTransferred { project: p, from: OWNER, to: OTHER }.into(),
		);
		assert_noop!(
			Projects::pause_project(RuntimeOrigin::signed(OWNER), p),
			Error::<Test>::NotOwner
		);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OTHER), p));
		// The deposit goes back to whoever paid it.
		assert_eq!(held(OWNER), 0);
		assert_eq!(Balances::free_balance(OWNER), 1_000_000);
	});
}

#[test]
fn pause_and_resume() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 2);
		assert_noop!(
			Projects::resume_project(RuntimeOrigin::signed(OWNER), p),
			Error::<Test>::NotPaused
		);
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_eq!(status(p), ProjectStatus::Paused);
		assert_noop!(
			Projects::pause_project(RuntimeOrigin::signed(OWNER), p),
			Error::<Test>::AlreadyPaused
		);
		assert_noop!(
			Projects::resume_project(RuntimeOrigin::signed(OTHER), p),
			Error::<Test>::NotOwner
		);
		assert_ok!(Projects::resume_project(RuntimeOrigin::signed(OWNER), p));
		assert_eq!(status(p), ProjectStatus::Pending);
		set_subnet_size(p, 2);
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_ok!(Projects::resume_project(RuntimeOrigin::signed(OWNER), p));
		assert_eq!(status(p), ProjectStatus::Active);
		System::assert_last_event(
			Event::ProjectStatusChanged { project: p, status: ProjectStatus::Active }.into(),
		);
	});
}

#[test]
fn close_releases_deposit_name_and_code_and_is_final() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let code = upload(OWNER, &["start"]);
		for n in ["a", "b"] {
			assert_ok!(Projects::register_applet(
				RuntimeOrigin::signed(OWNER),
				p,
				name(n),
				code,
				default_route()
			));
		}
		assert_eq!(CodeInfos::<Test>::get(code).unwrap().refs, 2);
		assert_noop!(
			Projects::close_project(RuntimeOrigin::signed(OTHER), p),
			Error::<Test>::NotOwner
		);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), p));
		assert_eq!(status(p), ProjectStatus::Closed);
		assert_eq!(CodeInfos::<Test>::get(code).unwrap().refs, 0);
		assert_eq!(Projects::applets(p), vec![]);
		System::assert_has_event(Event::AppletRemoved { project: p, applet: 1 }.into());
		assert!(ProjectNames::<Test>::get(name("p")).is_none());
		// Only the code deposit is still held.
		assert_eq!(held(OWNER), Projects::code_deposit(sample_module(&["start"], 0).len() as u32));
		assert_noop!(
			Projects::close_project(RuntimeOrigin::signed(OWNER), p),
			Error::<Test>::ProjectClosed
		);
		for call in [
			Projects::pause_project(RuntimeOrigin::signed(OWNER), p),
			Projects::resume_project(RuntimeOrigin::signed(OWNER), p),
			Projects::set_config(RuntimeOrigin::signed(OWNER), p, config(1)),
			Projects::transfer_project(RuntimeOrigin::signed(OWNER), p, OTHER),
			Projects::register_applet(
				RuntimeOrigin::signed(OWNER),
				p,
				name("c"),
				code,
				default_route(),
			),
			Projects::register_device(
				RuntimeOrigin::signed(OWNER),
				p,
				DeviceKey::Ed25519([1; 32]),
				None,
			),
		] {
			assert_eq!(call, Err(Error::<Test>::ProjectClosed.into()));
		}
		// Closed projects ignore subnet changes and the name is free again.
		set_subnet_size(p, 3);
		assert_eq!(status(p), ProjectStatus::Closed);
		assert_eq!(create(OTHER, "p", 1), 1);
		// Now the code can go.
		assert_ok!(Projects::remove_code(RuntimeOrigin::signed(OWNER), code));
		assert_eq!(held(OWNER), 0);
	});
}

#[test]
fn upload_code_validates_and_holds_deposit_per_byte() {
	new_test_ext().execute_with(|| {
		let code = sample_module(&["start", "on_alert"], 10);
		assert_ok!(Projects::upload_code(RuntimeOrigin::signed(OWNER), code.clone()));
		let hash = code_hash(&code);
		let info = CodeInfos::<Test>::get(hash).unwrap();
		assert_eq!(info.len as usize, code.len());
		assert_eq!(info.deposit, CODE_DEPOSIT_BASE + code.len() as u64);
		assert_eq!(held(OWNER), info.deposit);
		let exports: Vec<&[u8]> = info.exports.iter().map(|e| e.as_slice()).collect();
		assert_eq!(exports, [&b"alloc"[..], b"start", b"on_alert"]);
		assert_eq!(Code::<Test>::get(hash).unwrap().to_vec(), code);
		System::assert_last_event(
			Event::CodeUploaded {
				code_hash: hash,
				owner: OWNER,
				len: info.len,
				deposit: info.deposit,
			}
			.into(),
		);
		assert_noop!(
			Projects::upload_code(RuntimeOrigin::signed(OTHER), code),
			Error::<Test>::CodeExists
		);
	});
}

#[test]
fn upload_code_rejects_what_is_not_applet_code() {
	new_test_ext().execute_with(|| {
		let up = |code: Vec<u8>| Projects::upload_code(RuntimeOrigin::signed(OWNER), code);
		assert_noop!(up(b"garbage".to_vec()), Error::<Test>::InvalidWasm);
		assert_noop!(up(b"\0asm\x01\0\0\0".to_vec()), Error::<Test>::NoMemoryExport);
		let mut no_alloc = sample_module(&["start"], 0);
		let at = no_alloc.windows(5).position(|w| w == b"alloc").unwrap();
		no_alloc[at] = b'm';
		assert_noop!(up(no_alloc), Error::<Test>::NoAllocExport);
		let mut import = b"\0asm\x01\0\0\0".to_vec();
		import.extend_from_slice(&[1, 4, 1, 0x60, 0, 0, 2, 0x0b, 1, 3, b'n', b'e', b't', 3]);
		import.extend_from_slice(b"get\0\0");
		assert_noop!(up(import), Error::<Test>::ForbiddenImport);
		// env.teleport: a module the host serves, a function it does not provide.
		let mut import = b"\0asm\x01\0\0\0".to_vec();
		import.extend_from_slice(&[1, 4, 1, 0x60, 0, 0, 2, 0x10, 1, 3, b'e', b'n', b'v', 8]);
		import.extend_from_slice(b"teleport\0\0");
		assert_noop!(up(import), Error::<Test>::UnknownImport);
		// A memory of 1,025 pages at start: more than an instance gets.
		let mut large = sample_module(&["start"], 0);
		let at = large.windows(5).position(|w| w == [5, 3, 1, 0, 1]).unwrap();
		large.splice(at..at + 5, [5, 4, 1, 0, 0x81, 0x08]);
		assert_noop!(up(large), Error::<Test>::CodeInstanceTooLarge);
		let too_large = sample_module(&["start"], MAX_CODE_SIZE);
		assert_noop!(up(too_large), Error::<Test>::CodeTooLarge);
		// One br_table with a target more than a function may branch to: small, and too
		// costly to compile.
		let mut table = vec![0u8, 0x02, 0x40, 0x20, 0, 0x0e];
		let targets = w3b_primitives::code::MAX_BRANCHES_PER_FUNCTION - 1;
		w3b_primitives::code::leb128_u32(targets, &mut table);
		table.extend(std::iter::repeat_n(0u8, targets as usize + 1));
		table.extend_from_slice(&[0x0b, 0x41, 0, 0x0b]);
		let branching = w3b_primitives::code::applet_module(&["start"], &[table]);
		assert!(branching.len() <= MAX_CODE_SIZE as usize);
		assert_noop!(up(branching), Error::<Test>::CodeTooComplex);
		let many: Vec<String> = (0..130).map(|i| format!("h{i}")).collect();
		let many: Vec<&str> = many.iter().map(String::as_str).collect();
		assert_noop!(up(sample_module(&many, 0)), Error::<Test>::TooManyExports);
		assert!(
			Projects::upload_code(RuntimeOrigin::signed(POOR), sample_module(&["x"], 0)).is_err()
		);
		assert_eq!(held(OWNER) + held(POOR), 0);
	});
}

#[test]
fn remove_code_only_by_owner_and_when_unused() {
	new_test_ext().execute_with(|| {
		let code = upload(OTHER, &["start"]);
		assert_noop!(
			Projects::remove_code(RuntimeOrigin::signed(OWNER), H256::zero()),
			Error::<Test>::UnknownCode
		);
		assert_noop!(
			Projects::remove_code(RuntimeOrigin::signed(OWNER), code),
			Error::<Test>::NotCodeOwner
		);
		assert_ok!(Projects::remove_code(RuntimeOrigin::signed(OTHER), code));
		assert_eq!(held(OTHER), 0);
		assert!(Code::<Test>::get(code).is_none() && CodeInfos::<Test>::get(code).is_none());
		System::assert_last_event(Event::CodeRemoved { code_hash: code }.into());
	});
}

/// Pointing applets at someone's code never locks the uploader's deposit: each applet
/// holds the code's deposit from its own project's owner; the uploader takes its deposit
/// back at any time, and the code stays while applets run it, going with the last.
#[test]
fn applets_pay_for_the_code_they_run_and_never_lock_the_uploader() {
	new_test_ext().execute_with(|| {
		let (p, q) = (create(OWNER, "p", 1), create(OTHER, "q", 1));
		let code = upload(OTHER, &["start"]);
		let deposit = Projects::code_deposit(sample_module(&["start"], 0).len() as u32);
		let (owner_held, other_held) = (held(OWNER), held(OTHER));
		let register = |who, project, n: &str| {
			Projects::register_applet(
				RuntimeOrigin::signed(who),
				project,
				name(n),
				code,
				default_route(),
			)
		};
		assert_ok!(register(OWNER, p, "a"));
		assert_ok!(register(OWNER, p, "b"));
		assert_ok!(register(OTHER, q, "a"));
		assert_eq!(held(OWNER), owner_held + 2 * deposit);
		assert_eq!(held(OTHER), other_held + deposit);
		assert_eq!(AppletDeposits::<Test>::get(p, 1), Some((OWNER, deposit)));

		// The uploader takes its upload deposit back while three applets run the code.
		assert_ok!(Projects::remove_code(RuntimeOrigin::signed(OTHER), code));
		System::assert_last_event(Event::CodeLeftToApplets { code_hash: code, applets: 3 }.into());
		// Its upload deposit is back; its own project's applet still holds one.
		assert_eq!(held(OTHER), other_held);
		assert!(Code::<Test>::contains_key(code));
		// Its applets go (one removed, one upgraded away, one with its closed project).
		let v2 = upload(OWNER, &["start", "x"]);
		assert_ok!(Projects::remove_applet(RuntimeOrigin::signed(OWNER), p, 0));
		assert_ok!(Projects::upgrade_applet(
			RuntimeOrigin::signed(OWNER),
			p,
			1,
			v2,
			default_route()
		));
		assert_eq!(CodeInfos::<Test>::get(code).unwrap().refs, 1);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OTHER), q));
		System::assert_has_event(Event::CodeRemoved { code_hash: code }.into());
		assert!(!Code::<Test>::contains_key(code) && !CodeInfos::<Test>::contains_key(code));
		assert_eq!(held(OTHER), 0, "nothing of the uploader's is held");
	});
}

#[test]
fn register_applet_checks_code_and_strategies() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let code = upload(OWNER, &["start", "on_alert"]);
		let reg = |who, n: &str, code, s| {
			Projects::register_applet(RuntimeOrigin::signed(who), p, name(n), code, s)
		};
		assert_noop!(reg(OTHER, "a", code, default_route()), Error::<Test>::NotOwner);
		assert_noop!(reg(OWNER, "", code, default_route()), Error::<Test>::InvalidName);
		assert_noop!(reg(OWNER, "a", H256::zero(), default_route()), Error::<Test>::UnknownCode);
		assert_noop!(reg(OWNER, "a", code, strategies(&[])), Error::<Test>::NoStrategies);
		assert_noop!(
			reg(OWNER, "a", code, strategies(&[(b"", "start")])),
			Error::<Test>::InvalidStrategy
		);
		assert_noop!(
			reg(OWNER, "a", code, strategies(&[(b"X", "start"), (b"X", "on_alert")])),
			Error::<Test>::InvalidStrategy
		);
		assert_noop!(
			reg(OWNER, "a", code, strategies(&[(b"X", "missing")])),
			Error::<Test>::UnknownHandler
		);
		assert_noop!(
			Projects::register_applet(
				RuntimeOrigin::signed(OWNER),
				7,
				name("a"),
				code,
				default_route()
			),
			Error::<Test>::UnknownProject
		);
		let routes = strategies(&[(b"ALERT", "on_alert"), (DEFAULT_EVENT_TYPE, "start")]);
		assert_ok!(reg(OWNER, "a", code, routes.clone()));
		System::assert_last_event(
			Event::AppletDeployed { project: p, applet: 0, code_hash: code, version: 1 }.into(),
		);
		let applet = Applets::<Test>::get(p, 0).unwrap();
		assert_eq!(applet.handler_for(b"ALERT").unwrap().as_slice(), b"on_alert");
		assert_eq!((applet.version, applet.strategies), (1, routes));
		assert_noop!(reg(OWNER, "a", code, default_route()), Error::<Test>::AppletNameTaken);
		assert_ok!(reg(OWNER, "b", code, default_route()));
		assert_ok!(reg(OWNER, "c", code, default_route()));
		assert_noop!(reg(OWNER, "d", code, default_route()), Error::<Test>::TooManyApplets);
		assert_eq!(CodeInfos::<Test>::get(code).unwrap().refs, 3);
		// Removing one frees a slot; ids are never reused.
		assert_ok!(Projects::remove_applet(RuntimeOrigin::signed(OWNER), p, 1));
		assert_ok!(reg(OWNER, "d", code, default_route()));
		let ids: Vec<AppletId> = Projects::applets(p).into_iter().map(|(id, _)| id).collect();
		assert_eq!(ids, [0, 2, 3]);
	});
}

#[test]
fn upgrade_applet_moves_code_references_and_bumps_version() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let v1 = upload(OWNER, &["start"]);
		let v2 = upload(OWNER, &["start", "handle"]);
		assert_ok!(Projects::register_applet(
			RuntimeOrigin::signed(OWNER),
			p,
			name("a"),
			v1,
			default_route()
		));
		let up = |who, applet, code, s| {
			Projects::upgrade_applet(RuntimeOrigin::signed(who), p, applet, code, s)
		};
		let routes = strategies(&[(DEFAULT_EVENT_TYPE, "handle")]);
		assert_noop!(up(OTHER, 0, v2, routes.clone()), Error::<Test>::NotOwner);
		assert_noop!(up(OWNER, 5, v2, routes.clone()), Error::<Test>::UnknownApplet);
		assert_noop!(up(OWNER, 0, H256::zero(), routes.clone()), Error::<Test>::UnknownCode);
		assert_noop!(up(OWNER, 0, v1, routes.clone()), Error::<Test>::UnknownHandler);
		assert_noop!(up(OWNER, 0, v2, strategies(&[])), Error::<Test>::NoStrategies);
		assert_ok!(up(OWNER, 0, v2, routes.clone()));
		let applet = Applets::<Test>::get(p, 0).unwrap();
		assert_eq!((applet.version, applet.code_hash, applet.strategies), (2, v2, routes));
		assert_eq!(CodeInfos::<Test>::get(v1).unwrap().refs, 0);
		assert_eq!(CodeInfos::<Test>::get(v2).unwrap().refs, 1);
		System::assert_last_event(
			Event::AppletDeployed { project: p, applet: 0, code_hash: v2, version: 2 }.into(),
		);
		// Upgrading to the same code keeps one reference.
		assert_ok!(up(OWNER, 0, v2, default_route()));
		assert_eq!(CodeInfos::<Test>::get(v2).unwrap().refs, 1);
		assert_eq!(Applets::<Test>::get(p, 0).unwrap().version, 3);
		// Also once its uploader let it go: the applet alone keeps it.
		assert_ok!(Projects::remove_code(RuntimeOrigin::signed(OWNER), v2));
		assert_ok!(up(OWNER, 0, v2, default_route()));
		assert_eq!(CodeInfos::<Test>::get(v2).unwrap().refs, 1);
		assert!(Code::<Test>::contains_key(v2));
	});
}

#[test]
fn remove_applet_errors() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let code = upload(OWNER, &["start"]);
		assert_ok!(Projects::register_applet(
			RuntimeOrigin::signed(OWNER),
			p,
			name("a"),
			code,
			default_route()
		));
		assert_noop!(
			Projects::remove_applet(RuntimeOrigin::signed(OTHER), p, 0),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Projects::remove_applet(RuntimeOrigin::signed(OWNER), p, 1),
			Error::<Test>::UnknownApplet
		);
		assert_ok!(Projects::remove_applet(RuntimeOrigin::signed(OWNER), p, 0));
		assert_eq!(last_event(), Event::AppletRemoved { project: p, applet: 0 }.into());
		assert_eq!(AppletCount::<Test>::get(p), 0);
	});
}

#[test]
fn devices_register_revoke_and_stay_bounded() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let keys = [
			DeviceKey::Ed25519([1; 32]),
			DeviceKey::Sr25519([1; 32]),
			DeviceKey::Secp256k1([2; 33]),
			DeviceKey::Ed25519([4; 32]),
		];
		let reg = |who, key: &DeviceKey| {
			Projects::register_device(RuntimeOrigin::signed(who), p, key.clone(), None)
		};
		assert_noop!(reg(OTHER, &keys[0]), Error::<Test>::NotOwner);
		let did: Did = b"did:io:0x1234".to_vec().try_into().unwrap();
		assert_ok!(Projects::register_device(
			RuntimeOrigin::signed(OWNER),
			p,
			keys[0].clone(),
			Some(did.clone())
		));
		let id = keys[0].device_id();
		System::assert_last_event(Event::DeviceRegistered { project: p, device: id }.into());
		let record = Devices::<Test>::get(p, id).unwrap();
		assert_eq!(
			(record.status, record.did, record.registered_at, record.revoked_at),
			(DeviceStatus::Active, Some(did), 1, None)
		);
		assert_noop!(reg(OWNER, &keys[0]), Error::<Test>::DeviceExists);
		// Same bytes on another curve is another device.
		assert_ok!(reg(OWNER, &keys[1]));
		assert_ok!(reg(OWNER, &keys[2]));
		assert_noop!(reg(OWNER, &keys[3]), Error::<Test>::TooManyDevices);
		assert_eq!(held(OWNER), PROJECT_DEPOSIT + 3 * DEVICE_DEPOSIT);
		assert_eq!(DeviceDeposits::<Test>::get(p, id), Some((OWNER, DEVICE_DEPOSIT)));
		// The same key may be registered in another project.
		let q = create(OWNER, "q", 1);
		assert_ok!(Projects::register_device(
			RuntimeOrigin::signed(OWNER),
			q,
			keys[0].clone(),
			None
		));

		let revoke = |who, device| Projects::revoke_device(RuntimeOrigin::signed(who), p, device);
		assert_noop!(revoke(OTHER, id), Error::<Test>::NotOwner);
		assert_noop!(revoke(OWNER, keys[3].device_id()), Error::<Test>::UnknownDevice);
		System::set_block_number(5);
		assert_ok!(revoke(OWNER, id));
		System::assert_last_event(Event::DeviceRevoked { project: p, device: id }.into());
		let record = Devices::<Test>::get(p, id).unwrap();
		assert_eq!(
			(record.status, record.registered_at, record.revoked_at),
			(DeviceStatus::Revoked, 1, Some(5))
		);
		let other = Devices::<Test>::get(q, id).unwrap();
		assert_eq!((other.status, other.revoked_at), (DeviceStatus::Active, None));
		System::set_block_number(6);
		assert_noop!(revoke(OWNER, id), Error::<Test>::DeviceAlreadyRevoked);
		assert_eq!(Devices::<Test>::get(p, id).unwrap().revoked_at, Some(5));
		// Revoked keys cannot come back.
		assert_noop!(reg(OWNER, &keys[0]), Error::<Test>::DeviceExists);
	});
}

/// A revoked device's record, and its deposit, go once nothing can need them: its
/// messages are too old for any new batch, and the batches that may hold them are out
/// of the commitment window. Its slot is free again, and so is its key.
#[test]
fn revoked_devices_are_removed_once_no_batch_needs_them() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let key = DeviceKey::Ed25519([1; 32]);
		let id = key.device_id();
		let reg = |key: &DeviceKey| {
			Projects::register_device(RuntimeOrigin::signed(OWNER), p, key.clone(), None)
		};
		let remove = |who| Projects::remove_device(RuntimeOrigin::signed(who), p, id);
		assert_ok!(reg(&key));
		assert_noop!(remove(OWNER), Error::<Test>::DeviceNotRevoked);
		assert_noop!(
			Projects::remove_device(RuntimeOrigin::signed(OWNER), p, [9; 32].into()),
			Error::<Test>::UnknownDevice
		);
		System::set_block_number(5);
		assert_ok!(Projects::revoke_device(RuntimeOrigin::signed(OWNER), p, id));
		assert_noop!(remove(OTHER), Error::<Test>::NotOwner);
		// Not before the delay has passed.
		let until = 5 + DEVICE_REMOVAL_DELAY;
		System::set_block_number(until);
		assert_noop!(remove(OWNER), Error::<Test>::DeviceStillNeeded);
		// Nor while a batch committed before then is in the window.
		System::set_block_number(until + 100);
		set_oldest_commitment(p, until);
		assert_noop!(remove(OWNER), Error::<Test>::DeviceStillNeeded);
		set_oldest_commitment(p, until + 1);
		let before = held(OWNER);
		assert_ok!(remove(OWNER));
		System::assert_last_event(Event::DeviceRemoved { project: p, device: id }.into());
		assert_eq!(held(OWNER), before - DEVICE_DEPOSIT);
		assert!(
			Devices::<Test>::get(p, id).is_none() && DeviceDeposits::<Test>::get(p, id).is_none()
		);
		assert_eq!(DeviceCount::<Test>::get(p), 0);
		// The key may come back, as a new registration.
		assert_ok!(reg(&key));
		assert_eq!(Devices::<Test>::get(p, id).unwrap().registered_at, until + 100);
	});
}

/// A closed project's devices (revoked or not) go, with their deposits, once evidence
/// against its batches is no longer taken: [`DEVICE_REMOVAL_DELAY`] after the closing,
/// whatever its commitment window still holds.
#[test]
fn a_closed_project_s_devices_go_after_the_delay() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let key = DeviceKey::Ed25519([1; 32]);
		assert_ok!(Projects::register_device(RuntimeOrigin::signed(OWNER), p, key.clone(), None));
		set_oldest_commitment(p, 1);
		System::set_block_number(5);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), p));
		assert_eq!(ClosedAt::<Test>::get(p), Some(5));
		let remove = |who| Projects::remove_device(RuntimeOrigin::signed(who), p, key.device_id());
		System::set_block_number(5 + DEVICE_REMOVAL_DELAY);
		assert_noop!(remove(OWNER), Error::<Test>::DeviceStillNeeded);
		System::set_block_number(6 + DEVICE_REMOVAL_DELAY);
		assert_noop!(remove(OTHER), Error::<Test>::NotOwner);
		assert_ok!(remove(OWNER));
		assert_eq!(held(OWNER), 0, "the project's and the device's deposits are back");
	});
}

/// The DID of `pair`'s key, created by [`OWNER`].
fn did_of(pair: &sp_core::ed25519::Pair) -> DidId {
	use sp_core::Pair;
	let creation = w3b_primitives::did::DidCreation::new(
		DeviceKey::Ed25519(pair.public().0),
		OWNER,
		System::block_number(),
	);
	let hash = creation.signing_hash(&System::block_hash(0));
	let signature = w3b_primitives::DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0);
	let did = creation.did();
	assert_ok!(DidRegistry::create(RuntimeOrigin::signed(OWNER), creation, signature));
	did
}

#[test]
fn a_device_registered_by_its_did_is_served_with_the_did_s_key() {
	new_test_ext().execute_with(|| {
		use sp_core::Pair;
		let p = create(OWNER, "p", 1);
		let first = sp_core::ed25519::Pair::from_seed(&[1; 32]);
		let second = sp_core::ed25519::Pair::from_seed(&[2; 32]);
		assert_noop!(
			Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), p, H256::repeat_byte(4)),
			Error::<Test>::UnknownDid
		);
		let did = did_of(&first);
		assert_noop!(
			Projects::register_device_by_did(RuntimeOrigin::signed(OTHER), p, did),
			Error::<Test>::NotOwner
		);
		assert_ok!(Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), p, did));
		assert_noop!(
			Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), p, did),
			Error::<Test>::DeviceExists
		);
		// Its id is the DID's; the deposit is a device's.
		let record = Projects::device(p, did).unwrap();
		assert_eq!((record.id(), record.by_did), (did, Some(did)));
		assert_eq!(record.key, DeviceKey::Ed25519(first.public().0));
		assert_eq!(DeviceDeposits::<Test>::get(p, did), Some((OWNER, DEVICE_DEPOSIT)));
		// The DID rotates its key: the device is served with the new one, not registered
		// again.
		let operation = w3b_primitives::did::DidOperation {
			did,
			counter: 1,
			valid_until: System::block_number(),
			action: w3b_primitives::did::DidAction::SetAuthenticationKey(DeviceKey::Ed25519(
				second.public().0,
			)),
		};
		let hash = operation.signing_hash(&System::block_hash(0));
		let signature = w3b_primitives::DeviceSignature::Ed25519(first.sign(hash.as_bytes()).0);
		assert_ok!(DidRegistry::update(RuntimeOrigin::signed(OTHER), operation, signature));
		assert_eq!(Projects::device(p, did).unwrap().key, DeviceKey::Ed25519(second.public().0));
		assert_eq!(Projects::device(p, did).unwrap().status, DeviceStatus::Active);
	});
}

/// An issuer DID whose authentication and assertion key is `pair`'s, created by
/// [`OWNER`].
fn issuer_of(pair: &sp_core::ed25519::Pair) -> DidId {
	use sp_core::Pair;
	let key = DeviceKey::Ed25519(pair.public().0);
	let mut creation =
		w3b_primitives::did::DidCreation::new(key.clone(), OWNER, System::block_number());
	creation.assertion = Some(key);
	let hash = creation.signing_hash(&System::block_hash(0));
	let signature = w3b_primitives::DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0);
	let did = creation.did();
	assert_ok!(DidRegistry::create(RuntimeOrigin::signed(OWNER), creation, signature));
	did
}

fn genuine() -> H256 {
	w3b_primitives::credential::credential_type_of("GenuineDeviceCredential")
}

/// `issuer` (its key `pair`) anchors a credential of `credential_type` about `subject`;
/// returns its hash.
fn anchor_credential(
	pair: &sp_core::ed25519::Pair,
	subject: DidId,
	credential_type: H256,
	index: u32,
) -> H256 {
	use sp_core::Pair;
	let anchor = w3b_primitives::credential::CredentialAnchor {
		issuer: w3b_primitives::did::did_id_of(&DeviceKey::Ed25519(pair.public().0)),
		hash: H256::from_low_u64_be(u64::from(index) + 1000),
		credential_type,
		subject: Some(subject),
		status_index: index,
		submitter: OTHER,
		valid_until: System::block_number(),
	};
	let hash = anchor.signing_hash(&System::block_hash(0));
	let signature = w3b_primitives::DeviceSignature::Ed25519(pair.sign(hash.as_bytes()).0);
	let credential = anchor.hash;
	assert_ok!(CredentialRegistry::anchor(RuntimeOrigin::signed(OTHER), anchor, signature));
	credential
}

/// `pair`, the issuer, sets credential `hash`'s status.
fn set_credential_status(pair: &sp_core::ed25519::Pair, hash: H256, status: CredentialStatus) {
	use sp_core::Pair;
	let issuer = w3b_primitives::did::did_id_of(&DeviceKey::Ed25519(pair.public().0));
	let revision = pallet_credentials::Credentials::<Test>::get(issuer, hash).unwrap().revision + 1;
	let change = w3b_primitives::credential::StatusChange {
		issuer,
		hash,
		revision,
		status,
		valid_until: System::block_number(),
	};
	let signing_hash = change.signing_hash(&System::block_hash(0));
	let signature = w3b_primitives::DeviceSignature::Ed25519(pair.sign(signing_hash.as_bytes()).0);
	assert_ok!(CredentialRegistry::set_status(RuntimeOrigin::signed(OTHER), change, signature));
}

fn policy(issuers: Vec<DidId>) -> CredentialPolicy {
	CredentialPolicy { credential_type: genuine(), issuers: issuers.try_into().unwrap() }
}

#[test]
fn set_device_credential_policy_is_for_the_owner_and_trusts_someone() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let manufacturer = issuer_of(&sp_core::ed25519::Pair::from_seed(&[7; 32]));
		let set = |who, policy| {
			Projects::set_device_credential_policy(RuntimeOrigin::signed(who), p, policy)
		};
		assert_noop!(set(OTHER, Some(policy(vec![manufacturer]))), Error::<Test>::NotOwner);
		assert_noop!(set(OWNER, Some(policy(vec![]))), Error::<Test>::NoTrustedIssuer);
		assert_noop!(
			Projects::set_device_credential_policy(
				RuntimeOrigin::signed(OWNER),
				p + 1,
				Some(policy(vec![manufacturer]))
			),
			Error::<Test>::UnknownProject
		);
		assert_ok!(set(OWNER, Some(policy(vec![manufacturer]))));
		System::assert_last_event(
			Event::DeviceCredentialPolicySet {
				project: p,
				policy: Some(policy(vec![manufacturer])),
			}
			.into(),
		);
		assert_eq!(DeviceCredentialPolicies::<Test>::get(p), Some(policy(vec![manufacturer])));
		assert_ok!(set(OWNER, None));
		assert_eq!(DeviceCredentialPolicies::<Test>::get(p), None);
	});
}

#[test]
fn under_a_credential_policy_only_credentialed_dids_register() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let manufacturer_key = sp_core::ed25519::Pair::from_seed(&[7; 32]);
		let manufacturer = issuer_of(&manufacturer_key);
		let stranger_key = sp_core::ed25519::Pair::from_seed(&[8; 32]);
		issuer_of(&stranger_key);
		assert_ok!(Projects::set_device_credential_policy(
			RuntimeOrigin::signed(OWNER),
			p,
			Some(policy(vec![manufacturer]))
		));
		let register = |did| Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), p, did);
		// By key: refused, the project wants credentials.
		assert_noop!(
			Projects::register_device(
				RuntimeOrigin::signed(OWNER),
				p,
				DeviceKey::Ed25519([1; 32]),
				None
			),
			Error::<Test>::CredentialRequired
		);
		let device = did_of(&sp_core::ed25519::Pair::from_seed(&[1; 32]));
		assert_noop!(register(device), Error::<Test>::CredentialRequired);
		// A credential from an issuer the project does not trust, or of another type.
		anchor_credential(&stranger_key, device, genuine(), 1);
		anchor_credential(&manufacturer_key, device, H256::repeat_byte(1), 2);
		assert_noop!(register(device), Error::<Test>::CredentialRequired);
		// A suspended one.
		let credential = anchor_credential(&manufacturer_key, device, genuine(), 3);
		set_credential_status(&manufacturer_key, credential, CredentialStatus::Suspended);
		assert_noop!(register(device), Error::<Test>::CredentialRequired);
		set_credential_status(&manufacturer_key, credential, CredentialStatus::Active);
		assert_ok!(register(device));
		assert_eq!(DeviceCredentials::<Test>::get(p, device), Some((manufacturer, credential)));
	});
}

#[test]
fn a_device_is_revoked_from_the_block_its_credential_stops_holding() {
	new_test_ext().execute_with(|| {
		let p = create(OWNER, "p", 1);
		let manufacturer_key = sp_core::ed25519::Pair::from_seed(&[7; 32]);
		let manufacturer = issuer_of(&manufacturer_key);
		assert_ok!(Projects::set_device_credential_policy(
			RuntimeOrigin::signed(OWNER),
			p,
			Some(policy(vec![manufacturer]))
		));
		let device = did_of(&sp_core::ed25519::Pair::from_seed(&[1; 32]));
		let credential = anchor_credential(&manufacturer_key, device, genuine(), 0);
		assert_ok!(Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), p, device));
		assert_eq!(Projects::device(p, device).unwrap().status, DeviceStatus::Active);
		// Suspended at block 4: revoked from 4 while it lasts.
		System::set_block_number(4);
		set_credential_status(&manufacturer_key, credential, CredentialStatus::Suspended);
		let record = Projects::device(p, device).unwrap();
		assert_eq!((record.status, record.revoked_at), (DeviceStatus::Revoked, Some(4)));
		System::set_block_number(5);
		set_credential_status(&manufacturer_key, credential, CredentialStatus::Active);
		assert_eq!(Projects::device(p, device).unwrap().revoked_at, None);
		// Revoked at block 6: for good.
		System::set_block_number(6);
		set_credential_status(&manufacturer_key, credential, CredentialStatus::Revoked);
		let record = Projects::device(p, device).unwrap();
		assert_eq!((record.status, record.revoked_at), (DeviceStatus::Revoked, Some(6)));
		// The owner removes it once the delay has passed, as any revoked device.
		System::set_block_number(7 + DEVICE_REMOVAL_DELAY);
		assert_ok!(Projects::remove_device(RuntimeOrigin::signed(OWNER), p, device));
		assert_eq!(DeviceCredentials::<Test>::get(p, device), None);
	});
}
