// Compiles the contracts with solc (the npm build, no download) into artifacts/: one
// JSON file per contract with its ABI and bytecode. `node build.js --check` compiles and
// fails if the committed artifacts differ (so they never go stale).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

// Shanghai: what ganache 7.9 and IoTeX run (no transient storage).
const EVM_VERSION = 'shanghai';
const SOURCES = ['src', 'test'];

function sources() {
	const out = {};
	for (const dir of SOURCES) {
		for (const file of fs.readdirSync(path.join(__dirname, dir))) {
			if (file.endsWith('.sol')) {
				out[`${dir}/${file}`] = { content: fs.readFileSync(path.join(__dirname, dir, file), 'utf8') };
			}
		}
	}
	return out;
}

function compile() {
	const input = {
		language: 'Solidity',
		sources: sources(),
		settings: {
			evmVersion: EVM_VERSION,
			optimizer: { enabled: true, runs: 10000 },
			outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
		},
	};
	const output = JSON.parse(solc.compile(JSON.stringify(input)));
	const errors = (output.errors || []).filter((e) => e.severity === 'error');
	for (const e of output.errors || []) console.error(e.formattedMessage);
	if (errors.length > 0) throw new Error(`solc: ${errors.length} error(s)`);
	const artifacts = {};
	for (const [source, contracts] of Object.entries(output.contracts)) {
		for (const [name, c] of Object.entries(contracts)) {
			if (c.evm.bytecode.object.length === 0) continue; // interfaces
			artifacts[name] = {
				contractName: name,
				sourceName: source,
				compiler: `solc ${solc.version()}`,
				evmVersion: EVM_VERSION,
				abi: c.abi,
				bytecode: `0x${c.evm.bytecode.object}`,
				deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
			};
		}
	}
	return artifacts;
}

function main() {
	const check = process.argv.includes('--check');
	const artifacts = compile();
	const dir = path.join(__dirname, 'artifacts');
	fs.mkdirSync(dir, { recursive: true });
	let stale = [];
	for (const [name, artifact] of Object.entries(artifacts)) {
		const file = path.join(dir, `${name}.json`);
		const text = `${JSON.stringify(artifact, null, 2)}\n`;
		if (check) {
			if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) stale.push(name);
		} else {
			fs.writeFileSync(file, text);
		}
	}
	if (stale.length > 0) {
		throw new Error(`artifacts differ from the sources: ${stale.join(', ')} (run: npm run build)`);
	}
	console.log(`[contracts] ${Object.keys(artifacts).length} contracts compiled (${solc.version()}, ${EVM_VERSION})`);
}

main();
