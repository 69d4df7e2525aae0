// The bridge contract against ganache: what it delivers, what it costs, and every way it
// refuses (each custom error is reached by a test here).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib.js');
const { ethers } = lib;

const GAS = { gasLimit: 30_000_000 };
let net;

before(async () => {
	net = await lib.chain();
});
after(async () => {
	await net.close();
});

/// A bridge trusting `set` (set id 1), its digest helpers and a relayer's view of it.
async function bridgeFor(set, setId = 1n) {
	const bridge = await lib.deploy(net.relayer, 'W3bBridge', lib.GENESIS, setId, set.addresses, set.threshold);
	const address = await bridge.getAddress();
	const batch = (nonce, outputsRoot, id = setId) => ({ setId: id, nonce, blockNumber: 1000n + nonce, outputsRoot });
	const digest = (b) => ethers.TypedDataEncoder.hash(lib.domain(address), lib.BATCH_TYPES, b);
	return { bridge, address, batch, digest };
}

async function receiver(name, ...args) {
	const c = await lib.deploy(net.relayer, name, ...args);
	return { contract: c, address: await c.getAddress() };
}

test('a set the contract cannot trust is refused at deployment', async () => {
	const set = lib.validators(4);
	const [a, b, c, d] = set.addresses;
	const cases = [
		[[], 0, 'EmptySet'],
		[[a, b, c, d], 2, 'BadThreshold'],
		[[a, b, c, d], 5, 'BadThreshold'],
		[[a, b, c, d], 0, 'BadThreshold'],
		[[ethers.ZeroAddress, a, b], 2, 'ZeroAddress'],
		[[b, a, c, d], 3, 'UnsortedSet'],
		[[a, a, c, d], 3, 'UnsortedSet'],
	];
	const { abi, bytecode } = require('../artifacts/W3bBridge.json');
	const factory = new ethers.ContractFactory(abi, bytecode, net.relayer);
	for (const [signers, threshold, error] of cases) {
		const name = await lib.revertDeploy(factory, lib.GENESIS, 1n, signers, threshold);
		assert.equal(name, error, `${signers.length} signers, threshold ${threshold}`);
	}
	// Exactly two thirds is enough: 3 of 4 rounds up, 2 of 3, 4 of 6.
	for (const [n, t] of [[4, 3], [3, 2], [6, 4], [1, 1]]) {
		const s = lib.validators(n);
		await factory.deploy(lib.GENESIS, 1n, s.addresses, t);
	}
});

test('digests and roots are the ones computed independently (EIP-712, output tree)', async () => {
	const set = lib.validators(4);
	const { bridge, batch, digest } = await bridgeFor(set);
	const b = batch(3n, ethers.id('root'));
	assert.equal(await bridge.batchDigest(b), digest(b));
	assert.equal(await bridge.validatorSetHash(set.addresses, set.threshold), await bridge.setHash());
	assert.equal(await bridge.setHash(), lib.setHash(set.addresses, set.threshold));
	const change = { setId: 2n, setHash: ethers.id('next'), firstNonce: 9n };
	assert.equal(
		await bridge.setChangeDigest(change.setId, change.setHash, change.firstNonce),
		ethers.TypedDataEncoder.hash(lib.domain(await bridge.getAddress()), lib.SET_CHANGE_TYPES, change),
	);
	for (const count of [0, 1, 2, 3, 5, 8, 13]) {
		const outs = lib.outputs(count, ethers.ZeroAddress);
		assert.equal(await bridge.outputsRoot(outs), lib.outputsRoot(outs), `${count} outputs`);
	}
});

test('the appchain hashes messages as the contract does (vectors shared with primitives/src/bridge.rs)', async () => {
	const set = lib.validators(4);
	const { bridge } = await bridgeFor(set);
	const contract = `0x${'b1'.repeat(20)}`;
	const genesis = `0x${'01'.repeat(32)}`;
	const domain = lib.domain(contract, lib.CHAIN_ID, genesis);
	const batch = { setId: 3n, nonce: 7n, blockNumber: 1234n, outputsRoot: `0x${'22'.repeat(32)}` };
	assert.equal(
		ethers.TypedDataEncoder.hash(domain, lib.BATCH_TYPES, batch),
		'0x8e13c3317d72fef631aa29c8f2bf7a912ba2cb0a2f62b06c39be492897c30908',
	);
	const change = { setId: 4n, setHash: `0x${'33'.repeat(32)}`, firstNonce: 9n };
	assert.equal(
		ethers.TypedDataEncoder.hash(domain, lib.SET_CHANGE_TYPES, change),
		'0xed939f31d1d44ca064cbb02b2f1ca301fe9f691fca079695e48c9617b869500f',
	);
	const addresses = ['0a', '0b', '0c', '0d'].map((b) => ethers.getAddress(`0x${b.repeat(20)}`));
	assert.equal(
		await bridge.validatorSetHash(addresses, 3),
		'0x5bd9080a1ec01df1915c0e9d657b33482a998e5f0d51cb2969ff232a97792985',
	);
	const outs = [
		{ projectId: 7n, batchSeq: 3n, kind: lib.KIND_CALL, to: `0x${'cc'.repeat(20)}`, clientId: 'device-1', data: '0x40c1' },
		{ projectId: 7n, batchSeq: 3n, kind: lib.KIND_PROCESS, to: `0x${'dd'.repeat(20)}`, clientId: 'device-1', data: ethers.hexlify(ethers.toUtf8Bytes('alert')) },
		{ projectId: 8n, batchSeq: 1n, kind: lib.KIND_PROCESS, to: `0x${'dd'.repeat(20)}`, clientId: '', data: '0x' },
	].map((o) => ({ ...o, to: ethers.getAddress(o.to) }));
	assert.equal(await bridge.outputsRoot(outs), '0x33126883d5184272b214c07ca8df0c86f3cb0b8338dab68af5628925b860916c');
	assert.deepEqual(lib.proof(outs, 2), ['0x59f742f1e2855496fdf75b605089edb17fbfd7c9836d236e3e893567d7395c56']);
	// The address of the key primitives' tests derive from the seed 0x0101...01.
	assert.equal(new ethers.Wallet(`0x${'01'.repeat(32)}`).address, '0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1');
});

test('a relayed batch delivers each output once, to the right receiver, with its project and data', async () => {
	const set = lib.validators(4);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	const outs = lib.outputs(20, dapp.address);
	const b = batch(0n, lib.outputsRoot(outs));
	const sigs = lib.sign(set.wallets.slice(0, 3), digest(b));
	const receipt = await (await bridge.relay(b, set.addresses, set.threshold, sigs, outs, GAS)).wait();
	assert.equal(await dapp.contract.recordCount(), 20n);
	for (const [i, o] of outs.entries()) {
		const r = await dapp.contract.records(i);
		assert.deepEqual([r.projectId, r.proverId, r.clientId, r.data], [7n, o.batchSeq, o.clientId, o.data]);
		assert.equal(await bridge.isDelivered(0n, i), true);
	}
	const delivered = receipt.logs.filter((l) => bridge.interface.parseLog(l)?.name === 'OutputDelivered');
	assert.equal(delivered.length, 20);
	// Relayed again: the batch is known. Delivered again: nothing more happens.
	assert.equal(await lib.revertName(bridge.relay, b, set.addresses, set.threshold, sigs, outs, GAS), 'BatchKnown');
	await (await bridge.deliver(0n, outs, GAS)).wait();
	assert.equal(await dapp.contract.recordCount(), 20n);
	// One output alone, proven by its path: already there.
	assert.equal(
		await lib.revertName(bridge.deliverOne, 0n, 5n, 20n, outs[5], lib.proof(outs, 5), GAS),
		'AlreadyDelivered',
	);
});

test('each output can be delivered alone with its Merkle path, and only with the right one', async () => {
	const set = lib.validators(4);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	for (const count of [1, 2, 3, 6, 7]) {
		const nonce = BigInt(count);
		const outs = lib.outputs(count, dapp.address);
		const b = batch(nonce, lib.outputsRoot(outs));
		await (await bridge.submitBatch(b, set.addresses, set.threshold, lib.sign(set.wallets, digest(b)))).wait();
		for (let i = 0; i < count; i++) {
			const path = lib.proof(outs, i);
			if (count > 1) {
				// Another output's path, a shortened or lengthened path, another index.
				const other = lib.proof(outs, (i + 1) % count);
				if (other.join() !== path.join()) {
					assert.equal(await lib.revertName(bridge.deliverOne, nonce, i, count, outs[i], other, GAS), 'RootMismatch');
				}
				assert.equal(
					await lib.revertName(bridge.deliverOne, nonce, i, count, outs[i], path.slice(1), GAS),
					'RootMismatch',
				);
				assert.equal(
					await lib.revertName(bridge.deliverOne, nonce, (i + 1) % count, count, outs[i], path, GAS),
					'RootMismatch',
				);
			}
			assert.equal(
				await lib.revertName(bridge.deliverOne, nonce, i, count, outs[i], [...path, ethers.ZeroHash], GAS),
				'RootMismatch',
			);
			assert.equal(await lib.revertName(bridge.deliverOne, nonce, i, count + 1, outs[i], path, GAS), 'RootMismatch');
			await (await bridge.deliverOne(nonce, i, count, outs[i], path, GAS)).wait();
			assert.equal(await bridge.isDelivered(nonce, i), true);
		}
		// A made-up output at a real index.
		const forged = { ...outs[0], data: '0x66' };
		assert.equal(
			await lib.revertName(bridge.deliverOne, nonce, 0, count, forged, lib.proof(outs, 0), GAS),
			'RootMismatch',
		);
	}
	assert.equal(await dapp.contract.recordCount(), BigInt(1 + 2 + 3 + 6 + 7));
	assert.equal(await lib.revertName(bridge.deliver, 99n, [], GAS), 'UnknownBatch');
	assert.equal(await lib.revertName(bridge.deliverOne, 99n, 0, 1, lib.outputs(1, dapp.address)[0], [], GAS), 'UnknownBatch');
});

test('signatures are refused unless enough distinct members of the set signed this batch for this bridge', async () => {
	const set = lib.validators(4);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const outs = lib.outputs(2, ethers.ZeroAddress);
	const b = batch(0n, lib.outputsRoot(outs));
	const d = digest(b);
	const [w0, w1, w2] = set.wallets;
	const sig = (w, dg = d) => w.signingKey.sign(dg).serialized;
	const submit = (sigs, signers = set.addresses, threshold = set.threshold, bb = b) =>
		lib.revertName(bridge.submitBatch, bb, signers, threshold, sigs, GAS);

	assert.equal(await submit(lib.sign([w0, w1], d)), 'NotEnoughSignatures');
	// The same signer twice, and signers out of order.
	assert.equal(await submit(ethers.concat([sig(w0), sig(w0), sig(w1)])), 'UnsortedSigners');
	assert.equal(await submit(ethers.concat([sig(w1), sig(w0), sig(w2)])), 'UnsortedSigners');
	// High s: the malleated twin of a valid signature (s' = n - s, v flipped).
	const good = ethers.Signature.from(sig(w0));
	const n = BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141');
	const twin = ethers.concat([good.r, ethers.toBeHex(n - BigInt(good.s), 32), good.v === 27 ? '0x1c' : '0x1b']);
	assert.equal(await submit(ethers.concat([twin, sig(w1), sig(w2)])), 'HighS');
	// v outside 27/28, a truncated bundle, a signature nobody made.
	const badV = ethers.concat([good.r, good.s, '0x00']);
	assert.equal(await submit(ethers.concat([badV, sig(w1), sig(w2)])), 'BadV');
	assert.equal(await submit(ethers.dataSlice(lib.sign([w0, w1, w2], d), 1)), 'BadSignatureLength');
	const nobody = ethers.concat([ethers.ZeroHash, ethers.toBeHex(1n, 32), '0x1b']);
	assert.equal(await submit(ethers.concat([nobody, sig(w1), sig(w2)])), 'InvalidSignature');
	// An outsider among the signers; the signers passed are not the set's.
	const outsider = lib.validators(1, 'outsider').wallets[0];
	assert.equal(await submit(lib.sign([w0, w1, outsider], d)), 'SignerNotInSet');
	const others = lib.validators(4, 'others');
	assert.equal(await submit(lib.sign(others.wallets, d), others.addresses, others.threshold), 'WrongSet');
	assert.equal(await submit(lib.sign([w0, w1, w2], d), set.addresses, 4), 'WrongSet');
	// Signed for another domain: another chain id, another appchain (genesis), another
	// contract, or another batch.
	const elsewhere = [
		ethers.TypedDataEncoder.hash(lib.domain(address, 4689), lib.BATCH_TYPES, b),
		ethers.TypedDataEncoder.hash(lib.domain(address, lib.CHAIN_ID, ethers.id('other chain')), lib.BATCH_TYPES, b),
		ethers.TypedDataEncoder.hash(lib.domain(ethers.ZeroAddress.replace(/0$/, '1')), lib.BATCH_TYPES, b),
		digest({ ...b, nonce: 1n }),
	];
	for (const dg of elsewhere) {
		assert.equal(await submit(lib.sign([w0, w1, w2], dg)), 'SignerNotInSet');
	}
	// An empty root, an unknown set id.
	const empty = { ...b, outputsRoot: ethers.ZeroHash };
	assert.equal(await submit(lib.sign([w0, w1, w2], digest(empty)), set.addresses, set.threshold, empty), 'EmptyRoot');
	const unknown = { ...b, setId: 5n };
	assert.equal(await submit(lib.sign([w0, w1, w2], digest(unknown)), set.addresses, set.threshold, unknown), 'UnknownSet');
	// Three of four, in order: accepted; all four: accepted too (for the next nonce).
	await (await bridge.submitBatch(b, set.addresses, set.threshold, lib.sign([w0, w1, w2], d))).wait();
	const b1 = batch(1n, b.outputsRoot);
	await (await bridge.submitBatch(b1, set.addresses, set.threshold, lib.sign(set.wallets, digest(b1)))).wait();
	assert.equal(await submit(lib.sign(set.wallets, d)), 'BatchKnown');
});

test('a failing receiver keeps its outputs undelivered until it works; others are delivered meanwhile', async () => {
	const set = lib.validators(4);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	const flaky = await receiver('FlakyReceiver');
	const outs = [...lib.outputs(2, dapp.address), ...lib.outputs(2, flaky.address), ...lib.outputs(1, dapp.address)];
	const b = batch(0n, lib.outputsRoot(outs));
	const receipt = await (
		await bridge.relay(b, set.addresses, set.threshold, lib.sign(set.wallets, digest(b)), outs, GAS)
	).wait();
	const failed = receipt.logs.map((l) => bridge.interface.parseLog(l)).filter((e) => e?.name === 'OutputFailed');
	assert.deepEqual(failed.map((e) => Number(e.args.index)), [2, 3]);
	assert.match(ethers.toUtf8String(ethers.dataSlice(failed[0].args.reason, 68)), /receiver is down/);
	assert.equal(await dapp.contract.recordCount(), 3n);
	assert.deepEqual(await Promise.all([0, 1, 2, 3, 4].map((i) => bridge.isDelivered(0n, i))), [true, true, false, false, true]);
	// Tried again while still down: still undelivered. Once it works: delivered, once.
	await (await bridge.deliver(0n, outs, GAS)).wait();
	assert.equal(await flaky.contract.processed(), 0n);
	await (await flaky.contract.setWorking(true)).wait();
	await (await bridge.deliver(0n, outs, GAS)).wait();
	await (await bridge.deliver(0n, outs, GAS)).wait();
	assert.equal(await flaky.contract.processed(), 2n);
	assert.equal(await dapp.contract.recordCount(), 3n);
	// A receiver with no code, and an output of a kind this bridge does not know.
	const odd = [
		{ ...lib.outputs(1, ethers.Wallet.createRandom().address)[0] },
		{ ...lib.outputs(1, dapp.address)[0], kind: 9 },
	];
	const b1 = batch(1n, lib.outputsRoot(odd));
	const r1 = await (await bridge.relay(b1, set.addresses, set.threshold, lib.sign(set.wallets, digest(b1)), odd, GAS)).wait();
	const reasons = r1.logs
		.map((l) => bridge.interface.parseLog(l))
		.filter((e) => e?.name === 'OutputFailed')
		.map((e) => ethers.toUtf8String(e.args.reason));
	assert.deepEqual(reasons, ['receiver is not a contract', 'unknown kind']);
});

test('hostile receivers cannot take the batch down, cost it more than their gas, or get an output twice', async () => {
	const set = lib.validators(4);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	const burner = await receiver('HostileReceiver', 0, address);
	const bomb = await receiver('HostileReceiver', 1, address);
	const reenter = await receiver('HostileReceiver', 2, address);
	const outs = [
		...lib.outputs(1, burner.address),
		...lib.outputs(1, bomb.address),
		...lib.outputs(1, reenter.address),
		...lib.outputs(1, dapp.address),
	];
	// The re-entrant receiver asks the bridge to deliver the same batch again.
	await (await reenter.contract.setReentry(bridge.interface.encodeFunctionData('deliver', [0n, outs]))).wait();
	const b = batch(0n, lib.outputsRoot(outs));
	const receipt = await (
		await bridge.relay(b, set.addresses, set.threshold, lib.sign(set.wallets, digest(b)), outs, GAS)
	).wait();
	const failed = receipt.logs.map((l) => bridge.interface.parseLog(l)).filter((e) => e?.name === 'OutputFailed');
	assert.deepEqual(failed.map((e) => Number(e.args.index)), [0, 1, 2]);
	// The bomb's 64 KiB are cut to MAX_REASON; the re-entry was refused.
	assert.equal(ethers.dataLength(failed[1].args.reason), 256);
	assert.equal(bridge.interface.parseError(failed[2].args.reason).name, 'Reentrancy');
	assert.equal(await dapp.contract.recordCount(), 1n);
	// The burner took its million and no more: the signatures, the bomb, the re-entry
	// (which decodes the whole batch again) and the honest delivery took under half a
	// million beside it.
	assert.ok(receipt.gasUsed < 1_500_000n, `gas used ${receipt.gasUsed}`);
	// Too little gas for a delivery's allowance: the whole call reverts (a relayer cannot
	// starve a receiver into a reported failure).
	assert.equal(await lib.revertName(bridge.deliver, 0n, outs, { gasLimit: 600_000 }), 'InsufficientGas');
});

test('plain calls carry their project id, and a receiver refuses another project', async () => {
	const set = lib.validators(3);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	const note = (text) => dapp.contract.interface.encodeFunctionData('note', [ethers.toUtf8Bytes(text)]);
	const outs = [
		{ projectId: 7n, batchSeq: 1n, kind: lib.KIND_CALL, to: dapp.address, clientId: '', data: note('mine') },
		{ projectId: 8n, batchSeq: 1n, kind: lib.KIND_CALL, to: dapp.address, clientId: '', data: note('not mine') },
		{ projectId: 8n, batchSeq: 1n, kind: lib.KIND_PROCESS, to: dapp.address, clientId: 'x', data: '0x01' },
	];
	const b = batch(0n, lib.outputsRoot(outs));
	await (await bridge.relay(b, set.addresses, set.threshold, lib.sign(set.wallets, digest(b)), outs, GAS)).wait();
	assert.equal(await dapp.contract.noteCount(), 1n);
	assert.equal(ethers.toUtf8String(await dapp.contract.notes(0)), 'mine');
	assert.equal(await dapp.contract.noteProjects(0), 7n);
	assert.equal(await dapp.contract.recordCount(), 0n);
	assert.deepEqual(await Promise.all([0, 1, 2].map((i) => bridge.isDelivered(0n, i))), [true, false, false]);
	// Nobody but the bridge gets a receiver to record anything.
	assert.equal(await lib.revertName(dapp.contract.process, 7n, 1n, 'x', '0x01'), 'NotBridge');
	assert.equal(await lib.revertName(dapp.contract.note, '0x01'), 'NotForwarder');
	const forwarder = new ethers.Contract(await bridge.forwarder(), lib.artifact('W3bCallForwarder').abi, net.relayer);
	assert.equal(await lib.revertName(forwarder.forward, dapp.address, note('x')), 'NotBridge');
});

test("a project's plain call cannot pass for another project's process", async () => {
	const set = lib.validators(3);
	const { bridge, address, batch, digest } = await bridgeFor(set);
	const dapp = await receiver('RecordingReceiver', address, 7n);
	// Project 8 calls project 7's receiver with a process() for project 7.
	const forged = dapp.contract.interface.encodeFunctionData('process', [7n, 1n, 'forged', '0x666f72676564']);
	const outs = [{ projectId: 8n, batchSeq: 1n, kind: lib.KIND_CALL, to: dapp.address, clientId: '', data: forged }];
	const b = batch(0n, lib.outputsRoot(outs));
	const receipt = await (await bridge.relay(b, set.addresses, set.threshold, lib.sign(set.wallets, digest(b)), outs, GAS)).wait();
	const failed = receipt.logs.map((l) => bridge.interface.parseLog(l)).filter((e) => e?.name === 'OutputFailed');
	assert.equal(failed.length, 1);
	assert.equal(dapp.contract.interface.parseError(failed[0].args.reason).name, 'NotBridge');
	assert.equal(await dapp.contract.recordCount(), 0n);
});

test('the set hands over: the new set signs, each old one only what it owes and only for its day', async () => {
	const old = lib.validators(4, 'old');
	const next = lib.validators(5, 'next');
	const { bridge, address, batch, digest } = await bridgeFor(old);
	const nextHash = lib.setHash(next.addresses, next.threshold);
	const changeDigest = (id, hash, first) =>
		ethers.TypedDataEncoder.hash(lib.domain(address), lib.SET_CHANGE_TYPES, { setId: id, setHash: hash, firstNonce: first });
	const change = (id, first, sigs) => [id, next.addresses, next.threshold, first, old.addresses, old.threshold, sigs, GAS];

	// Signed by two of four old validators: not enough. A set id that does not increase.
	assert.equal(await lib.revertName(bridge.changeValidatorSet, ...change(2n, 10n, lib.sign(old.wallets.slice(0, 2), changeDigest(2n, nextHash, 10n)))), 'NotEnoughSignatures');
	assert.equal(await lib.revertName(bridge.changeValidatorSet, ...change(1n, 10n, lib.sign(old.wallets, changeDigest(1n, nextHash, 10n)))), 'SetIdNotIncreasing');
	// A new set that could not be trusted is refused whoever signs it.
	const bad = [2n, next.addresses, 2, 10n, old.addresses, old.threshold, '0x', GAS];
	assert.equal(await lib.revertName(bridge.changeValidatorSet, ...bad), 'BadThreshold');
	await (await bridge.changeValidatorSet(...change(2n, 10n, lib.sign(old.wallets.slice(1), changeDigest(2n, nextHash, 10n))))).wait();
	assert.equal(await bridge.setId(), 2n);
	assert.equal(await bridge.setHash(), nextHash);

	const root = ethers.id('outputs');
	const byOld = (nonce) => {
		const b = batch(nonce, root, 1n);
		return [b, old.addresses, old.threshold, lib.sign(old.wallets, digest(b)), GAS];
	};
	const byNext = (nonce) => {
		const b = batch(nonce, root, 2n);
		return [b, next.addresses, next.threshold, lib.sign(next.wallets.slice(0, 4), digest(b)), GAS];
	};
	// The old set: nonces below 10 within the window; never 10 or above.
	await (await bridge.submitBatch(...byOld(9n))).wait();
	assert.equal(await lib.revertName(bridge.submitBatch, ...byOld(10n)), 'StaleSet');
	// The new set: any nonce, older ones too (batches the old set never got to sign).
	await (await bridge.submitBatch(...byNext(10n))).wait();
	await (await bridge.submitBatch(...byNext(3n))).wait();
	// The old set cannot sign another change.
	const third = lib.validators(4, 'third');
	const thirdHash = lib.setHash(third.addresses, third.threshold);
	const byOldChange = [3n, third.addresses, third.threshold, 20n, old.addresses, old.threshold, lib.sign(old.wallets, changeDigest(3n, thirdHash, 20n)), GAS];
	assert.equal(await lib.revertName(bridge.changeValidatorSet, ...byOldChange), 'WrongSet');
	const backwards = [3n, third.addresses, third.threshold, 5n, next.addresses, next.threshold, lib.sign(next.wallets, changeDigest(3n, thirdHash, 5n)), GAS];
	assert.equal(await lib.revertName(bridge.changeValidatorSet, ...backwards), 'FirstNonceDecreasing');
	// A second hand-over at once (anyone may relay the public hand-overs back to back)
	// does not cut short what the oldest set still owes: nonces below 10, for its day.
	await (await bridge.changeValidatorSet(3n, third.addresses, third.threshold, 20n, next.addresses, next.threshold, lib.sign(next.wallets, changeDigest(3n, thirdHash, 20n)), GAS)).wait();
	await (await bridge.submitBatch(...byOld(7n))).wait();
	assert.equal(await lib.revertName(bridge.submitBatch, ...byOld(12n)), 'StaleSet');
	await (await bridge.submitBatch(...byNext(15n))).wait();
	// A day later the old sets are done.
	await net.provider.send('evm_increaseTime', [86_401]);
	await net.provider.send('evm_mine', []);
	assert.equal(await lib.revertName(bridge.submitBatch, ...byOld(8n)), 'StaleSet');
	assert.equal(await lib.revertName(bridge.submitBatch, ...byNext(16n)), 'StaleSet');
	const byThird = (nonce) => {
		const b = batch(nonce, root, 3n);
		return [b, third.addresses, third.threshold, lib.sign(third.wallets.slice(0, 3), digest(b)), GAS];
	};
	await (await bridge.submitBatch(...byThird(8n))).wait();
	// A set never seen is unknown.
	const b = batch(30n, root, 9n);
	assert.equal(await lib.revertName(bridge.submitBatch, b, third.addresses, third.threshold, lib.sign(third.wallets, digest(b)), GAS), 'UnknownSet');
});

test('gas: signature checks per batch, and delivery per output at 50 outputs', async () => {
	const figures = [];
	for (const n of [4, 16, 64]) {
		const set = lib.validators(n, `gas${n}`);
		const { bridge, address, batch, digest } = await bridgeFor(set);
		const sink = await receiver('NullReceiver', address);
		const outs = lib.outputs(50, sink.address);
		const b = batch(0n, lib.outputsRoot(outs));
		const sigs = lib.sign(set.wallets.slice(0, set.threshold), digest(b));
		const submit = await (await bridge.submitBatch(b, set.addresses, set.threshold, sigs, GAS)).wait();
		const delivered = await (await bridge.deliver(0n, outs, GAS)).wait();
		const b1 = batch(1n, lib.outputsRoot(outs));
		const relay = await (
			await bridge.relay(b1, set.addresses, set.threshold, lib.sign(set.wallets.slice(0, set.threshold), digest(b1)), outs, GAS)
		).wait();
		const perOutput = Number(relay.gasUsed) / 50;
		figures.push({ validators: n, threshold: set.threshold, submitBatch: Number(submit.gasUsed), deliver50: Number(delivered.gasUsed), relay50: Number(relay.gasUsed), relayPerOutput: Math.round(perOutput) });
		if (n <= 16) {
			assert.ok(perOutput <= 15_000, `${n} validators: ${perOutput} gas per output`);
		}
	}
	console.log('[bridge gas] (ganache, shanghai, solc 0.8.37 optimizer 10000 runs; outputs of ~60 bytes to a receiver that only checks its caller)');
	console.table(figures);
});
