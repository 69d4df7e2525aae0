//! Fuel for the work an instruction does per byte. Wasmtime charges one unit of fuel per
//! instruction, so `memory.fill` of 64 MiB cost as much as an `i32.add` (6 ms of work for
//! one unit: an applet filling its memory in a loop ran a batch for hours of fuel-free
//! time on every operator). Before it is compiled, applet code is rewritten so that each
//! bulk instruction (`memory.fill`, `memory.copy`, `memory.init`, `table.fill`,
//! `table.copy`, `table.init`) longer than [`UNMETERED_LEN`] first calls
//! [`METER_MODULE`].[`METER_FUNCTION`] with its length, which charges the fuel
//! ([`crate::host`] links it).
//! The chain keeps and hashes the code as uploaded; every operator rewrites it the same
//! way, so the fuel an event burns is the same everywhere.

use wasm_encoder::{
	reencode::{self, Reencode},
	BlockType, CodeSection, EntityType, Function, ImportSection, Instruction, Module, SectionId,
	TypeSection, ValType,
};
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef};

/// Module of the metering import: not one an applet may import from (the chain accepts
/// only `env`, `stat` and `wasi_snapshot_preview1`), so it cannot collide with theirs.
pub(crate) const METER_MODULE: &str = "w3b:meter";
/// `(len: i32)`: charges fuel for `len` bytes (or elements).
pub(crate) const METER_FUNCTION: &str = "bulk";

/// Applet code rewritten for the engine, with what an instantiation costs.
pub(crate) struct Metered {
	/// The rewritten module.
	pub wasm: Vec<u8>,
	/// Bytes of the active data segments, which every instantiation (one per event)
	/// copies into the new instance's memory.
	pub active_data_bytes: u64,
}

/// Rewrites `wasm` (valid applet code) so that its bulk instructions pay per byte.
pub(crate) fn meter(wasm: &[u8]) -> Result<Metered, String> {
	let mut rewriter = Rewriter::default();
	let mut bulk = false;
	for payload in Parser::new(0).parse_all(wasm) {
		match payload.map_err(|e| e.to_string())? {
			Payload::TypeSection(reader) => {
				for ty in reader.into_iter_err_on_gc_types() {
					let ty = ty.map_err(|e| e.to_string())?;
					rewriter.params_of_type.push(ty.params().len() as u32);
				}
			}
			Payload::FunctionSection(reader) => {
				for ty in reader {
					rewriter.type_of_function.push(ty.map_err(|e| e.to_string())?);
				}
			}
			Payload::ImportSection(reader) => {
				for import in reader {
					if matches!(import.map_err(|e| e.to_string())?.ty, TypeRef::Func(_)) {
						rewriter.imported_functions += 1;
					}
				}
			}
			Payload::DataSection(reader) => {
				for data in reader {
					let data = data.map_err(|e| e.to_string())?;
					if matches!(data.kind, DataKind::Active { .. }) {
						rewriter.active_data_bytes += data.data.len() as u64;
					}
				}
			}
			Payload::CodeSectionEntry(body) if !bulk => {
				for operator in body.get_operators_reader().map_err(|e| e.to_string())? {
					bulk |= is_bulk(&operator.map_err(|e| e.to_string())?);
				}
			}
			_ => {}
		}
	}
	if !bulk {
		// Nothing to meter: an import the code never calls would still cost every
		// instantiation (about a microsecond for a module that imports nothing else).
		return Ok(Metered { wasm: wasm.to_vec(), active_data_bytes: rewriter.active_data_bytes });
	}
	let mut module = Module::new();
	rewriter.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
	Ok(Metered { wasm: module.finish(), active_data_bytes: rewriter.active_data_bytes })
}

/// Lengths up to which a bulk instruction is not metered: copying 256 bytes costs about
/// what the handful of instructions around it do, and a host call for each of the small
/// copies compiled code is full of would slow every applet down (AssemblyScript's by a
/// fifth).
pub(crate) const UNMETERED_LEN: i32 = 256;

/// The rewriting: one type and one function import appended, the functions defined
/// after the imports shifted by one, before each bulk instruction a call to the meter
/// when its length is over [`UNMETERED_LEN`].
#[derive(Default)]
struct Rewriter {
	/// The number of parameters of each type the module declares: the meter's type is
	/// the next.
	params_of_type: Vec<u32>,
	/// The type of each function the module defines.
	type_of_function: Vec<u32>,
	/// Function bodies rewritten so far.
	bodies: usize,
	/// Functions the module imports: the meter is the next, the defined ones follow it.
	imported_functions: u32,
	imports_written: bool,
	active_data_bytes: u64,
}

impl Rewriter {
	fn meter_import(&mut self, imports: &mut ImportSection) {
		imports.import(
			METER_MODULE,
			METER_FUNCTION,
			EntityType::Function(self.params_of_type.len() as u32),
		);
		self.imports_written = true;
	}
}

impl Reencode for Rewriter {
	type Error = std::convert::Infallible;

	fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
		Ok(if func >= self.imported_functions { func + 1 } else { func })
	}

	fn parse_type_section(
		&mut self,
		types: &mut TypeSection,
		section: wasmparser::TypeSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_type_section(self, types, section)?;
		types.ty().function([ValType::I32], []);
		Ok(())
	}

	fn parse_import_section(
		&mut self,
		imports: &mut ImportSection,
		section: wasmparser::ImportSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_import_section(self, imports, section)?;
		self.meter_import(imports);
		Ok(())
	}

	/// Writes the import section a module without one now needs, where it belongs: after
	/// the type section (which a module with code has), before every other section.
	fn intersperse_section_hook(
		&mut self,
		module: &mut Module,
		_after: Option<SectionId>,
		before: Option<SectionId>,
	) -> Result<(), reencode::Error<Self::Error>> {
		if !self.imports_written && !matches!(before, Some(SectionId::Type | SectionId::Import)) {
			let mut imports = ImportSection::new();
			self.meter_import(&mut imports);
			module.section(&imports);
		}
		Ok(())
	}

	/// Custom sections go: the engine needs none, and the name section's function
	/// indices would be off by one.
	fn parse_custom_section(
		&mut self,
		_module: &mut Module,
		_section: wasmparser::CustomSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		Ok(())
	}

	fn parse_function_body(
		&mut self,
		code: &mut CodeSection,
		body: wasmparser::FunctionBody<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		// One more local, after the function's parameters and locals, holds the length.
		let params = self
			.type_of_function
			.get(self.bodies)
			.and_then(|ty| self.params_of_type.get(*ty as usize))
			.copied()
			.unwrap_or_default();
		self.bodies += 1;
		let mut locals = Vec::new();
		let mut length = params;
		for declared in body.get_locals_reader()? {
			let (count, ty) = declared?;
			locals.push((count, self.val_type(ty)?));
			length += count;
		}
		locals.push((1, ValType::I32));
		let mut function = Function::new(locals);
		let meter = self.imported_functions;
		let mut reader = body.get_operators_reader()?;
		while !reader.eof() {
			let operator = reader.read()?;
			// The length is on top of the stack for each of them.
			if is_bulk(&operator) {
				function
					.instruction(&Instruction::LocalTee(length))
					.instruction(&Instruction::I32Const(UNMETERED_LEN))
					.instruction(&Instruction::I32GtU)
					.instruction(&Instruction::If(BlockType::Empty))
					.instruction(&Instruction::LocalGet(length))
					.instruction(&Instruction::Call(meter))
					.instruction(&Instruction::End)
					.instruction(&Instruction::LocalGet(length));
			}
			function.instruction(&self.instruction(operator)?);
		}
		code.function(&function);
		Ok(())
	}
}

/// Whether `operator` does work in proportion to a length it takes from the stack.
fn is_bulk(operator: &Operator<'_>) -> bool {
	matches!(
		operator,
		Operator::MemoryFill { .. }
			| Operator::MemoryCopy { .. }
			| Operator::MemoryInit { .. }
			| Operator::TableFill { .. }
			| Operator::TableCopy { .. }
			| Operator::TableInit { .. }
	)
}

#[cfg(test)]
mod tests {
	use super::*;
	use w3b_primitives::code::{applet_module, section, APPLET_FEATURES};

	/// What a rewritten module holds: its imports, the function `alloc` exports, the
	/// calls to function `meter` and the bulk instructions in its code.
	struct Summary {
		imports: Vec<(String, String)>,
		alloc: Option<u32>,
		meter_calls: usize,
		bulk: usize,
	}

	fn summarize(wasm: &[u8], meter: u32) -> Summary {
		wasmparser::Validator::new_with_features(APPLET_FEATURES)
			.validate_all(wasm)
			.expect("the rewritten module is valid");
		let mut summary = Summary { imports: Vec::new(), alloc: None, meter_calls: 0, bulk: 0 };
		for payload in Parser::new(0).parse_all(wasm) {
			match payload.unwrap() {
				Payload::ImportSection(reader) => {
					for import in reader {
						let import = import.unwrap();
						summary.imports.push((import.module.into(), import.name.into()));
					}
				}
				Payload::ExportSection(reader) => {
					for export in reader {
						let export = export.unwrap();
						if export.name == "alloc" {
							summary.alloc = Some(export.index);
						}
					}
				}
				Payload::CodeSectionEntry(body) => {
					for operator in body.get_operators_reader().unwrap() {
						match operator.unwrap() {
							Operator::Call { function_index } if function_index == meter => {
								summary.meter_calls += 1
							}
							Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } => {
								summary.bulk += 1
							}
							_ => {}
						}
					}
				}
				_ => {}
			}
		}
		summary
	}

	#[test]
	fn every_bulk_instruction_calls_the_meter_first() {
		// fill(0, 0, 16), copy(16, 0, 16) twice, then a call to alloc (function 0).
		let bulk = [
			0x41, 0, 0x41, 0, 0x41, 16, 0xfc, 0x0b, 0, //
			0x41, 16, 0x41, 0, 0x41, 16, 0xfc, 0x0a, 0, 0, //
			0x41, 16, 0x41, 0, 0x41, 16, 0xfc, 0x0a, 0, 0,
		];
		let mut body = vec![0];
		body.extend_from_slice(&bulk);
		body.extend_from_slice(&[0x41, 0, 0x10, 0, 0x0b]);
		let module = applet_module(&["bulk"], &[body]);
		let metered = meter(&module).expect("rewritten");
		// No import section before: one now, with the meter as function 0.
		let summary = summarize(&metered.wasm, 0);
		assert_eq!(summary.imports, [(METER_MODULE.to_string(), METER_FUNCTION.to_string())]);
		assert_eq!((summary.meter_calls, summary.bulk), (3, 3));
		assert_eq!(summary.alloc, Some(1), "the defined functions moved up by one");
		assert_eq!(metered.active_data_bytes, 0);
	}

	#[test]
	fn code_without_bulk_instructions_is_kept_as_it_is_and_a_missing_import_section_is_added() {
		let mut module = b"\0asm\x01\0\0\0".to_vec();
		section(5, vec![1, 0, 1], &mut module);
		// Two active segments of 3 and 2 bytes, and a passive one of 4.
		let data = vec![
			3, 0, 0x41, 0, 0x0b, 3, 1, 2, 3, //
			0, 0x41, 8, 0x0b, 2, 4, 5, //
			1, 4, 6, 7, 8, 9,
		];
		section(11, data, &mut module);
		let metered = meter(&module).expect("rewritten");
		assert_eq!(metered.wasm, module, "no bulk instruction: nothing to rewrite");
		assert_eq!(metered.active_data_bytes, 5, "only active segments are copied per instance");
		// A function filling memory, in a module without an import section.
		let mut module = b"\0asm\x01\0\0\0".to_vec();
		section(1, vec![1, 0x60, 0, 0], &mut module);
		section(3, vec![1, 0], &mut module);
		section(5, vec![1, 0, 1], &mut module);
		section(10, vec![1, 11, 0, 0x41, 0, 0x41, 0, 0x41, 1, 0xfc, 0x0b, 0, 0x0b], &mut module);
		let metered = meter(&module).expect("rewritten");
		let summary = summarize(&metered.wasm, 0);
		assert_eq!(summary.imports, [(METER_MODULE.to_string(), METER_FUNCTION.to_string())]);
		assert_eq!((summary.meter_calls, summary.bulk), (1, 1));
	}
}
