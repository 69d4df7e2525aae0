// An independent VC-JOSE implementation (panva/jose) facing the node's wallet:
//
//   node vc.mjs verify JWT RESOLVER_BASE
//     Verifies a credential as any VC-JOSE verifier would: resolves the issuer's DID at
//     RESOLVER_BASE/1.0/identifiers/{did} (the Universal Resolver driver interface),
//     takes the assertionMethod key the header's kid names, checks the JWS, the validity
//     period, and every BitstringStatusListEntry against its status list credential
//     (fetched, its own signature checked against the same issuer, its bit read).
//     Prints {"verified": bool, "errors": [...]}; exits 0 only when verified.
//
//   node vc.mjs issue SUBJECT_DID
//     Issues a credential from a fresh did:key (Ed25519) and prints it: what a wallet
//     outside W3bstream hands a device.
import * as jose from 'jose';
import { gunzipSync } from 'node:zlib';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58Decode(text) {
	let value = 0n;
	for (const c of text) {
		const digit = BASE58.indexOf(c);
		if (digit < 0) throw new Error(`not base58: ${c}`);
		value = value * 58n + BigInt(digit);
	}
	const bytes = [];
	while (value > 0n) {
		bytes.unshift(Number(value % 256n));
		value /= 256n;
	}
	for (const c of text) {
		if (c !== '1') break;
		bytes.unshift(0);
	}
	return Uint8Array.from(bytes);
}

function base58Encode(bytes) {
	let value = 0n;
	for (const b of bytes) value = value * 256n + BigInt(b);
	let text = '';
	while (value > 0n) {
		text = BASE58[Number(value % 58n)] + text;
		value /= 58n;
	}
	for (const b of bytes) {
		if (b !== 0) break;
		text = '1' + text;
	}
	return text;
}

// A Multikey's public key as a JWK: ed25519 (0xed01) only, the wallet's key type.
function multikeyToJwk(multibase) {
	if (!multibase.startsWith('z')) throw new Error('publicKeyMultibase is not base58btc');
	const bytes = base58Decode(multibase.slice(1));
	if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) {
		throw new Error('not an Ed25519 Multikey');
	}
	return { kty: 'OKP', crv: 'Ed25519', x: jose.base64url.encode(bytes.slice(2)) };
}

async function issuerKey(kid, resolverBase) {
	const did = kid.split('#')[0];
	if (did.startsWith('did:key:')) return multikeyToJwk(did.slice('did:key:'.length));
	const response = await fetch(`${resolverBase}/1.0/identifiers/${did}`);
	if (!response.ok) throw new Error(`resolving ${did}: HTTP ${response.status}`);
	const resolution = await response.json();
	const document = resolution.didDocument;
	const listed = (document.assertionMethod ?? []).includes(kid);
	const method = (document.verificationMethod ?? []).find((m) => m.id === kid);
	if (!listed || !method) throw new Error(`${kid} is not an assertionMethod of ${did}`);
	return multikeyToJwk(method.publicKeyMultibase);
}

async function verifyJws(compact, resolverBase, expectedTyp) {
	const header = jose.decodeProtectedHeader(compact);
	if (header.typ !== expectedTyp) throw new Error(`typ is ${header.typ}, not ${expectedTyp}`);
	const jwk = await issuerKey(header.kid, resolverBase);
	const key = await jose.importJWK(jwk, 'EdDSA');
	const { payload } = await jose.compactVerify(compact, key, { algorithms: ['EdDSA'] });
	const credential = JSON.parse(new TextDecoder().decode(payload));
	const issuer = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer?.id;
	if (issuer !== header.kid.split('#')[0]) throw new Error('the kid is not the issuer\'s');
	if (credential['@context']?.[0] !== 'https://www.w3.org/ns/credentials/v2') {
		throw new Error('not a VC 2.0 credential');
	}
	return credential;
}

// Errors of `document`'s validity period: dates that do not parse are errors too.
function validityErrors(document, what) {
	const errors = [];
	const now = Date.now();
	for (const [field, mustBePast] of [['validFrom', true], ['validUntil', false]]) {
		if (document[field] === undefined) continue;
		const at = Date.parse(document[field]);
		if (Number.isNaN(at)) errors.push(`${what}: ${field} is not a date-time`);
		else if (mustBePast && at > now) errors.push(`${what}: not valid before ${document[field]}`);
		else if (!mustBePast && at <= now) errors.push(`${what}: expired at ${document[field]}`);
	}
	return errors;
}

async function verify(compact, resolverBase) {
	const errors = [];
	try {
		const credential = await verifyJws(compact, resolverBase, 'vc+jwt');
		errors.push(...validityErrors(credential, 'the credential'));
		const entries = [credential.credentialStatus ?? []].flat();
		for (const entry of entries) {
			if (entry.type !== 'BitstringStatusListEntry') continue;
			const response = await fetch(entry.statusListCredential);
			if (!response.ok) throw new Error(`status list ${entry.statusListCredential}: HTTP ${response.status}`);
			const list = await verifyJws(await response.text(), resolverBase, 'vc+jwt');
			if (list.issuer !== credential.issuer) throw new Error('the status list has another issuer');
			if (!list.type?.includes('BitstringStatusListCredential')) throw new Error('not a status list');
			if (list.id !== entry.statusListCredential) throw new Error('the status list is of another URL');
			// A stale copy (kept by a cache or an attacker) must not hide a revocation.
			if (!list.validUntil) throw new Error('the status list has no validUntil');
			errors.push(...validityErrors(list, 'the status list'));
			const subject = list.credentialSubject;
			if (subject.type !== 'BitstringStatusList') throw new Error('not a BitstringStatusList');
			if (subject.statusPurpose !== entry.statusPurpose) throw new Error('status purpose mismatch');
			if (!subject.encodedList?.startsWith('u')) throw new Error('encodedList is not multibase base64url');
			// 16 KiB of bits: a larger inflation is a GZIP bomb.
			const bits = gunzipSync(Buffer.from(jose.base64url.decode(subject.encodedList.slice(1))), {
				maxOutputLength: 16384,
			});
			const index = Number(entry.statusListIndex);
			if (bits[index >> 3] & (0x80 >> (index & 7))) errors.push(`${entry.statusPurpose}: set`);
		}
	} catch (e) {
		errors.push(e.message);
	}
	console.log(JSON.stringify({ verified: errors.length === 0, errors }));
	process.exit(errors.length === 0 ? 0 : 1);
}

async function issue(subject) {
	const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
	const jwk = await jose.exportJWK(publicKey);
	const multikey = 'z' + base58Encode(Uint8Array.from([0xed, 0x01, ...jose.base64url.decode(jwk.x)]));
	const did = `did:key:${multikey}`;
	const credential = {
		'@context': ['https://www.w3.org/ns/credentials/v2'],
		type: ['VerifiableCredential', 'CalibrationCredential'],
		issuer: did,
		validFrom: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
		credentialSubject: { id: subject, calibratedBy: 'lab 7' },
	};
	const compact = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(credential)))
		.setProtectedHeader({ alg: 'EdDSA', kid: `${did}#${multikey}`, typ: 'vc+jwt', cty: 'vc' })
		.sign(privateKey);
	console.log(compact);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'verify' && args.length === 2) await verify(args[0], args[1].replace(/\/$/, ''));
else if (mode === 'issue' && args.length === 1) await issue(args[0]);
else {
	console.error('usage: node vc.mjs verify JWT RESOLVER_BASE | issue SUBJECT_DID');
	process.exit(2);
}
