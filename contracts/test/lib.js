// What the bridge contract tests share: a ganache chain (IoTeX testnet's chain id), the
// compiled artifacts, validator keys that sign as the appchain's nodes do, and the output
// tree computed here independently of the contract.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ganache = require('ganache');
const { ethers } = require('ethers');

const CHAIN_ID = 4690;
const GENESIS = ethers.id('w3b test genesis');
const KIND_PROCESS = 0;
const KIND_CALL = 1;
const coder = ethers.AbiCoder.defaultAbiCoder();

function artifact(name) {
	return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'artifacts', `${name}.json`), 'utf8'));
}

/// A fresh ganache chain in this process, and its first account as deployer and relayer.
async function chain() {
	const eip1193 = ganache.provider({
		chain: { chainId: CHAIN_ID, hardfork: 'shanghai' },
		miner: { blockGasLimit: 60_000_000 },
		wallet: { totalAccounts: 2, defaultBalance: 1_000_000 },
		logging: { quiet: true },
	});
	const provider = new ethers.BrowserProvider(eip1193, CHAIN_ID, { cacheTimeout: -1 });
	const relayer = await provider.getSigner(0);
	return { provider, relayer, close: () => eip1193.disconnect() };
}

async function deploy(signer, name, ...args) {
	const { abi, bytecode } = artifact(name);
	const contract = await new ethers.ContractFactory(abi, bytecode, signer).deploy(...args);
	await contract.waitForDeployment();
	return contract;
}

/// `n` validator keys (fixed, so runs repeat), ascending by address, and the threshold
/// the appchain uses: the least count that is at least two thirds.
function validators(n, seed = 'set') {
	const wallets = Array.from({ length: n }, (_, i) => new ethers.Wallet(ethers.id(`${seed}/${i}`)));
	wallets.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
	return {
		wallets,
		addresses: wallets.map((w) => w.address),
		threshold: Math.ceil((2 * n) / 3),
	};
}

/// The EIP-712 domain of a bridge at `address`, as the appchain's nodes build it.
function domain(address, chainId = CHAIN_ID, genesis = GENESIS) {
	return { name: 'W3bstream Bridge', version: '1', chainId, verifyingContract: address, salt: genesis };
}

const BATCH_TYPES = {
	BridgeBatch: [
		{ name: 'setId', type: 'uint64' },
		{ name: 'nonce', type: 'uint64' },
		{ name: 'blockNumber', type: 'uint64' },
		{ name: 'outputsRoot', type: 'bytes32' },
	],
};
const SET_CHANGE_TYPES = {
	ValidatorSetChange: [
		{ name: 'setId', type: 'uint64' },
		{ name: 'setHash', type: 'bytes32' },
		{ name: 'firstNonce', type: 'uint64' },
	],
};

/// Signatures of `wallets` over `digest`, packed r ++ s ++ v (v 27 or 28, low s) in
/// ascending order of signer.
function sign(wallets, digest) {
	const sorted = [...wallets].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
	return ethers.concat(sorted.map((w) => w.signingKey.sign(digest).serialized));
}

function setHash(addresses, threshold) {
	return ethers.keccak256(
		coder.encode(['bytes32', 'uint256', 'address[]'], [ethers.id('w3b/validator-set/v1'), threshold, addresses]),
	);
}

function leaf(index, o, chainId = CHAIN_ID) {
	return ethers.keccak256(
		coder.encode(
			['bytes32', 'uint256', 'uint256', 'uint64', 'uint64', 'uint8', 'address', 'bytes32', 'bytes32'],
			[
				ethers.id('w3b/bridge-output/v1'),
				chainId,
				index,
				o.projectId,
				o.batchSeq,
				o.kind,
				o.to,
				ethers.id(o.clientId),
				ethers.keccak256(o.data),
			],
		),
	);
}

function hashPair(a, b) {
	return ethers.keccak256(ethers.concat([a, b]));
}

/// The tree's layers, leaves first: pairs left to right, an odd last node moves up.
function layers(outputs) {
	const all = [outputs.map((o, i) => leaf(i, o))];
	while (all[all.length - 1].length > 1) {
		const below = all[all.length - 1];
		const above = [];
		for (let i = 0; i + 1 < below.length; i += 2) above.push(hashPair(below[i], below[i + 1]));
		if (below.length % 2 === 1) above.push(below[below.length - 1]);
		all.push(above);
	}
	return all;
}

function outputsRoot(outputs) {
	const top = outputs.length === 0 ? ethers.ZeroHash : layers(outputs).at(-1)[0];
	return ethers.keccak256(coder.encode(['uint256', 'bytes32'], [outputs.length, top]));
}

/// The siblings of output `index` from its leaf up (none where its node moved up alone).
function proof(outputs, index) {
	const siblings = [];
	let i = index;
	for (const layer of layers(outputs).slice(0, -1)) {
		const sibling = i % 2 === 1 ? i - 1 : i + 1;
		if (sibling < layer.length) siblings.push(layer[sibling]);
		i = Math.floor(i / 2);
	}
	return siblings;
}

/// `count` outputs of `project` for the receiver `to`.
function outputs(count, to, project = 7n, kind = KIND_PROCESS) {
	return Array.from({ length: count }, (_, i) => ({
		projectId: project,
		batchSeq: BigInt(100 + Math.floor(i / 4)),
		kind,
		to,
		clientId: `device-${i}`,
		data: ethers.hexlify(ethers.toUtf8Bytes(`{"reading":${i}}`)),
	}));
}

/// The custom error a contract method's call with `args` reverts with (null if it
/// would succeed): asked with eth_call, which returns the revert data.
async function revertName(method, ...args) {
	try {
		await method.staticCall(...args);
	} catch (e) {
		if (e.revert) return e.revert.name;
		throw e;
	}
	return null;
}

/// The same for deploying with `factory`.
async function revertDeploy(factory, ...args) {
	const tx = await factory.getDeployTransaction(...args);
	try {
		await factory.runner.call(tx);
	} catch (e) {
		if (e.data) return factory.interface.parseError(e.data)?.name;
		throw e;
	}
	return null;
}

module.exports = {
	CHAIN_ID,
	GENESIS,
	KIND_PROCESS,
	KIND_CALL,
	BATCH_TYPES,
	SET_CHANGE_TYPES,
	chain,
	deploy,
	validators,
	domain,
	sign,
	setHash,
	leaf,
	outputsRoot,
	proof,
	outputs,
	revertName,
	revertDeploy,
	artifact,
	ethers,
};
