//! The exports the host uses in an applet's instances, found and type-checked once when
//! the module is linked in a lane, not by name for every event: wasmtime's typed lookup
//! loads the function's type from the engine's type registry (a lock and two reference
//! counts) and was 8% of a no-op event.

use std::collections::HashMap;

use wasmtime::{
	AsContextMut, ExternType, Func, Instance, Memory, Module, ModuleExport, ValRaw, ValType,
};

/// Where the host finds its exports in an instance of one module.
pub(crate) struct Exports {
	memory: Option<ModuleExport>,
	alloc: Option<ModuleExport>,
	initialize: Option<ModuleExport>,
	/// Every exported function of type `(i32) -> i32`, by name.
	handlers: HashMap<String, ModuleExport>,
}

impl Exports {
	/// `module`'s exports the host may use, with their types checked.
	pub fn of(module: &Module) -> Self {
		let mut exports =
			Exports { memory: None, alloc: None, initialize: None, handlers: HashMap::new() };
		for export in module.exports() {
			let Some(index) = module.get_export_index(export.name()) else { continue };
			match export.ty() {
				ExternType::Memory(_) if export.name() == "memory" => exports.memory = Some(index),
				ExternType::Func(ty) => {
					let params: Vec<ValType> = ty.params().collect();
					let results: Vec<ValType> = ty.results().collect();
					match (params.as_slice(), results.as_slice()) {
						([ValType::I32], [ValType::I32]) => {
							exports.handlers.insert(export.name().to_string(), index);
						}
						([], []) if export.name() == "_initialize" => {
							exports.initialize = Some(index)
						}
						_ => {}
					}
				}
				_ => {}
			}
		}
		exports.alloc = exports.handlers.get("alloc").cloned();
		exports
	}

	/// The instance's memory, exported as `memory`.
	pub fn memory(&self, instance: &Instance, store: impl AsContextMut) -> Option<Memory> {
		instance.get_module_export(store, self.memory.as_ref()?)?.into_memory()
	}

	/// The instance's `alloc`, which the host calls to hand the applet bytes.
	pub fn alloc(&self, instance: &Instance, store: impl AsContextMut) -> Option<I32Function> {
		self.function(instance, store, self.alloc.as_ref()?).map(I32Function)
	}

	/// The handler `name`, if the module exports a function `(i32) -> i32` by that name.
	pub fn handler(
		&self,
		instance: &Instance,
		store: impl AsContextMut,
		name: &str,
	) -> Option<I32Function> {
		self.function(instance, store, self.handlers.get(name)?).map(I32Function)
	}

	/// Calls the instance's `_initialize() -> ()` (WASI reactors set up their runtime
	/// there), if it exports one.
	pub fn initialize(
		&self,
		instance: &Instance,
		mut store: impl AsContextMut,
	) -> Option<wasmtime::Result<()>> {
		let initialize = self.function(instance, &mut store, self.initialize.as_ref()?)?;
		// SAFETY: `initialize` is a function of `instance`, which lives in `store`, and
		// `of` checked that it takes and returns nothing.
		Some(unsafe { initialize.call_unchecked(store, &mut []) })
	}

	fn function(
		&self,
		instance: &Instance,
		store: impl AsContextMut,
		export: &ModuleExport,
	) -> Option<Func> {
		instance.get_module_export(store, export)?.into_func()
	}
}

/// A function of an instance whose type [`Exports::of`] checked to be `(i32) -> i32`.
#[derive(Clone, Copy)]
pub(crate) struct I32Function(Func);

impl I32Function {
	/// Calls it with `arg` in `store`, which must be the store of its instance (wasmtime
	/// checks that, and panics otherwise).
	pub fn call(self, store: impl AsContextMut, arg: i32) -> wasmtime::Result<i32> {
		let mut slot = [ValRaw::i32(arg)];
		// SAFETY: the function's type was checked to be (i32) -> i32 (`Exports::of`): one
		// slot holds its parameter, then its result.
		unsafe { self.0.call_unchecked(store, &mut slot)? };
		Ok(slot[0].get_i32())
	}
}
