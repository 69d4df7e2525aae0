//! Fuel for the work an instruction does in proportion to a length. Wasmtime charges one
//! unit of fuel per instruction, so `memory.fill` of 64 MiB cost as much as an `i32.add`
//! (an applet filled its memory a thousand times on 13,004 fuel), `table.init` of 256
//! elements from expressions 600 times what its fuel paid for, and a `memory.grow` of
//! 1,023 pages one unit, though every page an event touches then costs the kernel a
//! fault (an event touching 64 MiB ran 98 ms on 163,842 fuel). Before it is compiled,
//! applet code is rewritten so that, first:
//! - each `memory.fill`, `memory.copy` and `memory.init` longer than [`UNMETERED_LEN`]
//!   calls [`METER_MODULE`].[`BYTES`] with its length;
//! - each `table.fill`, `table.copy` and `table.init` calls [`METER_MODULE`].[`ELEMENTS`]
//!   with its length;
//! - each `memory.grow` becomes a call to [`METER_MODULE`].[`GROW`], which grows the
//!   memory the same way and charges for the pages it added.
//!
//! Those charge the fuel ([`crate::host`] links them); the pages a module's memory starts
//! with, and the bytes of its active data segments, are charged at each instantiation
//! ([`Metered::instantiation_fuel`]). The chain keeps and hashes the code as uploaded;
//! every operator rewrites it the same way, so the fuel an event burns is the same
//! everywhere.

use wasm_encoder::{
	reencode::{self, Reencode},
	BlockType, CodeSection, EntityType, Function, ImportSection, Instruction, Module, SectionId,
	TypeSection, ValType,
};
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef};

use crate::host::{FUEL_PER_BYTE, FUEL_PER_PAGE};

/// Module of the metering imports: not one an applet may import from (the chain accepts
/// only `env`, `stat` and `wasi_snapshot_preview1`), so it cannot collide with theirs.
pub(crate) const METER_MODULE: &str = "w3b:meter";
/// `(len: i32)`: charges fuel for `len` bytes of a bulk memory instruction.
pub(crate) const BYTES: &str = "bytes";
/// `(len: i32)`: charges fuel for `len` elements of a bulk table instruction.
pub(crate) const ELEMENTS: &str = "elements";
/// `(delta: i32) -> i32`: `memory.grow` (the previous size in pages, or -1), charging
/// fuel for the pages added.
pub(crate) const GROW: &str = "grow";

/// Lengths up to which a bulk memory instruction is not metered: copying 256 bytes costs
/// about what the handful of instructions around it do (1.3 to 3 times a loop of
/// additions per unit of fuel), and a host call for each of the small copies compiled
/// code is full of would slow every applet down (AssemblyScript's by a fifth).
pub(crate) const UNMETERED_LEN: i32 = 256;

/// Applet code rewritten for the engine, with what an instantiation costs.
pub(crate) struct Metered {
	/// The rewritten module.
	pub wasm: Vec<u8>,
	/// Fuel each instantiation (one per event) costs: the pages its memory starts with,
	/// and the bytes of the active data segments it copies into them.
	pub instantiation_fuel: u64,
}

/// Rewrites `wasm` (valid applet code) so that the instructions working in proportion to
/// a length pay for it.
pub(crate) fn meter(wasm: &[u8]) -> Result<Metered, String> {
	let mut rewriter = Rewriter::default();
	let (mut metered, mut pages, mut data) = (false, 0u64, 0u64);
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
			Payload::MemorySection(reader) => {
				for memory in reader {
					pages += memory.map_err(|e| e.to_string())?.initial;
				}
			}
			Payload::DataSection(reader) => {
				for segment in reader {
					let segment = segment.map_err(|e| e.to_string())?;
					if matches!(segment.kind, DataKind::Active { .. }) {
						data += segment.data.len() as u64;
					}
				}
			}
			Payload::CodeSectionEntry(body) if !metered => {
				metered = has_metered(&body).map_err(|e| e.to_string())?;
			}
			_ => {}
		}
	}
	let instantiation_fuel =
		pages.saturating_mul(FUEL_PER_PAGE).saturating_add(data.saturating_mul(FUEL_PER_BYTE));
	if !metered {
		// Nothing to meter: imports the code never calls would still cost every
		// instantiation (about a microsecond for a module that imports nothing else).
		return Ok(Metered { wasm: wasm.to_vec(), instantiation_fuel });
	}
	let mut module = Module::new();
	rewriter.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
	Ok(Metered { wasm: module.finish(), instantiation_fuel })
}

/// How an instruction is metered.
enum Meter {
	/// A bulk memory instruction: bytes, over [`UNMETERED_LEN`].
	Bytes,
	/// A bulk table instruction: elements, all.
	Elements,
	/// `memory.grow`: the pages added.
	Grow,
}

fn meter_of(operator: &Operator<'_>) -> Option<Meter> {
	match operator {
		Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => {
			Some(Meter::Bytes)
		}
		Operator::TableFill { .. } | Operator::TableCopy { .. } | Operator::TableInit { .. } => {
			Some(Meter::Elements)
		}
		Operator::MemoryGrow { .. } => Some(Meter::Grow),
		_ => None,
	}
}

/// Whether function `body` holds an instruction to meter.
fn has_metered(body: &wasmparser::FunctionBody<'_>) -> wasmparser::Result<bool> {
	for operator in body.get_operators_reader()? {
		if meter_of(&operator?).is_some() {
			return Ok(true);
		}
	}
	Ok(false)
}

/// The rewriting: two types and three function imports appended, the functions defined
/// after the imports shifted by three, a call to a meter before each bulk instruction
/// (and in the functions holding them, one more local, for their length), and a call to
/// the host's grow in place of each `memory.grow`.
#[derive(Default)]
struct Rewriter {
	/// The number of parameters of each type the module declares: the meters' types
	/// are the next two.
	params_of_type: Vec<u32>,
	/// The type of each function the module defines.
	type_of_function: Vec<u32>,
	/// Function bodies rewritten so far.
	bodies: usize,
	/// Functions the module imports: the meters are the next three, the defined ones
	/// follow them.
	imported_functions: u32,
	imports_written: bool,
}

/// The meters' imports, in function index order after the module's own.
const METERS: [&str; 3] = [BYTES, ELEMENTS, GROW];

impl Rewriter {
	fn meter_imports(&mut self, imports: &mut ImportSection) {
		let consumes = self.params_of_type.len() as u32;
		for (name, ty) in METERS.iter().zip([consumes, consumes, consumes + 1]) {
			imports.import(METER_MODULE, name, EntityType::Function(ty));
		}
		self.imports_written = true;
	}

	fn meter_function(&self, meter: Meter) -> u32 {
		self.imported_functions
			+ match meter {
				Meter::Bytes => 0,
				Meter::Elements => 1,
				Meter::Grow => 2,
			}
	}
}

impl Reencode for Rewriter {
	type Error = std::convert::Infallible;

	fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
		Ok(if func >= self.imported_functions { func + METERS.len() as u32 } else { func })
	}

	fn parse_type_section(
		&mut self,
		types: &mut TypeSection,
		section: wasmparser::TypeSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_type_section(self, types, section)?;
		types.ty().function([ValType::I32], []);
		types.ty().function([ValType::I32], [ValType::I32]);
		Ok(())
	}

	fn parse_import_section(
		&mut self,
		imports: &mut ImportSection,
		section: wasmparser::ImportSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_import_section(self, imports, section)?;
		self.meter_imports(imports);
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
			self.meter_imports(&mut imports);
			module.section(&imports);
		}
		Ok(())
	}

	/// Custom sections go: the engine needs none, and the name section's function
	/// indices would be off by three.
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
		let params = self
			.type_of_function
			.get(self.bodies)
			.and_then(|ty| self.params_of_type.get(*ty as usize))
			.copied()
			.unwrap_or_default();
		self.bodies += 1;
		let mut bulk = false;
		for operator in body.get_operators_reader()? {
			bulk |= matches!(meter_of(&operator?), Some(Meter::Bytes | Meter::Elements));
		}
		let mut locals = Vec::new();
		// The local after the function's parameters and locals, which holds a length
		// (the chain leaves room for it: at most 48,999 locals and 1,000 parameters).
		let mut length = params;
		for declared in body.get_locals_reader()? {
			let (count, ty) = declared?;
			locals.push((count, self.val_type(ty)?));
			length += count;
		}
		if bulk {
			locals.push((1, ValType::I32));
		}
		let mut function = Function::new(locals);
		let mut reader = body.get_operators_reader()?;
		while !reader.eof() {
			let operator = reader.read()?;
			// The length (or the pages) is on top of the stack for each of them.
			match meter_of(&operator) {
				Some(Meter::Bytes) => {
					function
						.instruction(&Instruction::LocalTee(length))
						.instruction(&Instruction::I32Const(UNMETERED_LEN))
						.instruction(&Instruction::I32GtU)
						.instruction(&Instruction::If(BlockType::Empty))
						.instruction(&Instruction::LocalGet(length))
						.instruction(&Instruction::Call(self.meter_function(Meter::Bytes)))
						.instruction(&Instruction::End)
						.instruction(&Instruction::LocalGet(length));
				}
				Some(Meter::Elements) => {
					function
						.instruction(&Instruction::LocalTee(length))
						.instruction(&Instruction::Call(self.meter_function(Meter::Elements)))
						.instruction(&Instruction::LocalGet(length));
				}
				Some(Meter::Grow) => {
					// In its place: the host grows the memory.
					function.instruction(&Instruction::Call(self.meter_function(Meter::Grow)));
					continue;
				}
				None => {}
			}
			function.instruction(&self.instruction(operator)?);
		}
		code.function(&function);
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use w3b_primitives::code::{applet_module, section, APPLET_FEATURES};

	/// What a rewritten module holds: its imports, the function `alloc` exports, the
	/// calls to each meter and the metered instructions in its code.
	#[derive(Debug, Default)]
	struct Summary {
		imports: Vec<(String, String)>,
		alloc: Option<u32>,
		meter_calls: [usize; 3],
		metered: usize,
	}

	fn summarize(wasm: &[u8], first_meter: u32) -> Summary {
		wasmparser::Validator::new_with_features(APPLET_FEATURES)
			.validate_all(wasm)
			.expect("the rewritten module is valid");
		let mut summary = Summary::default();
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
						let operator = operator.unwrap();
						match operator {
							Operator::Call { function_index }
								if (first_meter..first_meter + 3).contains(&function_index) =>
							{
								summary.meter_calls[(function_index - first_meter) as usize] += 1
							}
							_ if meter_of(&operator).is_some() => summary.metered += 1,
							_ => {}
						}
					}
				}
				_ => {}
			}
		}
		summary
	}

	fn meters() -> Vec<(String, String)> {
		METERS.iter().map(|name| (METER_MODULE.to_string(), name.to_string())).collect()
	}

	#[test]
	fn every_metered_instruction_calls_its_meter_first() {
		// fill(0, 0, 16), copy(16, 0, 16) twice, grow(1), then a call to alloc
		// (function 0).
		let body = vec![
			1, 1, 0x7f, // one local of the function's own, after its parameter
			0x41, 0, 0x41, 0, 0x41, 16, 0xfc, 0x0b, 0, //
			0x41, 16, 0x41, 0, 0x41, 16, 0xfc, 0x0a, 0, 0, //
			0x41, 16, 0x41, 0, 0x41, 16, 0xfc, 0x0a, 0, 0, //
			0x41, 1, 0x40, 0, 0x1a, //
			0x41, 0, 0x10, 0, 0x0b,
		];
		let module = applet_module(&["bulk"], &[body]);
		let metered = meter(&module).expect("rewritten");
		// No import section before: one now, with the meters as functions 0 to 2.
		let summary = summarize(&metered.wasm, 0);
		assert_eq!(summary.imports, meters());
		assert_eq!(summary.meter_calls, [3, 0, 1], "{summary:?}");
		assert_eq!(summary.metered, 3, "memory.grow is the host's now");
		assert_eq!(summary.alloc, Some(3), "the defined functions moved up by three");
		assert_eq!(metered.instantiation_fuel, FUEL_PER_PAGE, "one page, no data");
	}

	#[test]
	fn code_without_metered_instructions_is_kept_as_it_is() {
		let mut module = b"\0asm\x01\0\0\0".to_vec();
		section(5, vec![1, 0, 2], &mut module);
		// Two active segments of 3 and 2 bytes, and a passive one of 4.
		let data = vec![
			3, 0, 0x41, 0, 0x0b, 3, 1, 2, 3, //
			0, 0x41, 8, 0x0b, 2, 4, 5, //
			1, 4, 6, 7, 8, 9,
		];
		section(11, data, &mut module);
		let metered = meter(&module).expect("rewritten");
		assert_eq!(metered.wasm, module, "nothing to rewrite");
		assert_eq!(
			metered.instantiation_fuel,
			2 * FUEL_PER_PAGE + 5 * FUEL_PER_BYTE,
			"two pages, and only active segments are copied per instance"
		);
		// A function filling a table, in a module without an import section.
		let mut module = b"\0asm\x01\0\0\0".to_vec();
		section(1, vec![1, 0x60, 0, 0], &mut module);
		section(3, vec![1, 0], &mut module);
		section(4, vec![1, 0x70, 0, 4], &mut module);
		section(5, vec![1, 0, 1], &mut module);
		let fill = vec![1, 11, 0, 0x41, 0, 0xd0, 0x70, 0x41, 4, 0xfc, 0x11, 0, 0x0b];
		section(10, fill, &mut module);
		let metered = meter(&module).expect("rewritten");
		let summary = summarize(&metered.wasm, 0);
		assert_eq!(summary.imports, meters());
		assert_eq!(summary.meter_calls, [0, 1, 0]);
	}
}
