#!/usr/bin/env python3
"""Known-answer vectors for the formats devices and dApps implement: a message's SCALE
encoding and hash, a device id, an ed25519 device signature, the signed-message leaf
and the batch Merkle tree; a did:w3b DID of the same key, its creation and a rotation
signed by it.

Computed here from the written rules (README, "Known-answer vectors") with Python's
own blake2b and a SCALE encoder written for this script, not by the Rust code they
check: `primitives/tests/vectors.rs` holds the same values, and
`scripts/vectors.py --check README.md` fails when the README's copy differs.
The ed25519 lines need the `cryptography` package (without it they are left out, and
`--check` refuses to run); ed25519 is deterministic (RFC 8032), so any implementation
gives the same bytes.
"""

import hashlib
import sys


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def compact(n: int) -> bytes:
    """SCALE compact integer (only the forms these vectors need)."""
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ValueError("too long for these vectors")


def scale_bytes(data: bytes) -> bytes:
    return compact(len(data)) + data


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


# The device: an ed25519 key from a fixed seed. DeviceKey::Ed25519 is variant 0.
SEED = bytes(range(32))
MESSAGE_TAG = b"w3b/message/v1"
SIGNED_MESSAGE_TAG = b"w3b/signed-message/v1"
LEAF_TAG = b"\x00"
NODE_TAG = b"\x01"


def message_encoding(device: bytes) -> bytes:
    # Message { project, device, seq, timestamp_ms, event_type, payload, encrypted }
    return (
        u64(7)
        + device
        + u64(1)
        + u64(1_700_000_000_000)
        + scale_bytes(b"temperature")
        + scale_bytes(b'{"celsius":21.5}')
        + b"\x00"
    )


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# did:w3b: the chain's genesis hash, the submitting account and the last block used
# below, and the key the DID rotates to.
GENESIS = bytes([0x11] * 32)
SUBMITTER = bytes([0x22] * 32)
VALID_UNTIL = 100
NEXT_KEY = bytes([0x33] * 32)


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + text


def did_vectors(public: bytes, key) -> list:
    """The DID of the ed25519 key `public` (DeviceKey variant 0), a creation of it with
    nothing else, and an operation rotating its authentication key to NEXT_KEY."""
    device_key = b"\x00" + public
    did = blake2_256(scale_bytes(b"w3b/did/id") + device_key)
    # DidCreation { authentication, assertion: None, delegation: None, key_agreement: [],
    # services: [], controller: None, submitter, valid_until (u32) }
    creation = (device_key + b"\x00" + b"\x00" + compact(0) + compact(0) + b"\x00"
                + SUBMITTER + VALID_UNTIL.to_bytes(4, "little"))
    creation_hash = blake2_256(scale_bytes(b"w3b/did/create") + GENESIS + creation)
    # DidOperation { did, counter, valid_until, action: SetAuthenticationKey (0) }
    operation = (did + u64(1) + VALID_UNTIL.to_bytes(4, "little")
                 + b"\x00" + b"\x00" + NEXT_KEY)
    operation_hash = blake2_256(scale_bytes(b"w3b/did/operation") + GENESIS + operation)
    return [
        ("did_id", did),
        ("did_string", "did:w3b:" + base58(did)),
        ("did_creation_scale", creation),
        ("did_creation_hash", creation_hash),
        ("did_creation_signature", key.sign(creation_hash)),
        ("did_rotation_scale", operation),
        ("did_rotation_hash", operation_hash),
        ("did_rotation_signature", key.sign(operation_hash)),
    ]


def leaf(item: bytes) -> bytes:
    return blake2_256(LEAF_TAG + item)


def node(left: bytes, right: bytes) -> bytes:
    return blake2_256(NODE_TAG + left + right)


def root(items: list) -> bytes:
    level = [leaf(i) for i in items]
    while len(level) > 1:
        # An odd last node is promoted unchanged, never paired with itself.
        level = [node(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def proof(items: list, index: int) -> list:
    level = [leaf(i) for i in items]
    siblings = []
    while len(level) > 1:
        if index ^ 1 < len(level):
            siblings.append(level[index ^ 1])
        level = [node(*level[i:i + 2]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return siblings


def vectors() -> list:
    out = []
    public = None
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        key = Ed25519PrivateKey.from_private_bytes(SEED)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    except ImportError:
        if "--check" in sys.argv:
            sys.exit("[vectors] checking needs the `cryptography` package "
                     "(scripts/setup.sh installs python3-cryptography)")
        print("[vectors] no `cryptography` package: the ed25519 lines are left out",
              file=sys.stderr)
    out.append(("device_seed", SEED))
    if public is not None:
        device = blake2_256(b"\x00" + public)
        out.append(("device_public", public))
        out.append(("device_id", device))
        encoded = message_encoding(device)
        message_hash = blake2_256(MESSAGE_TAG + encoded)
        signature = key.sign(message_hash)
        # DeviceSignature::Ed25519 is variant 0, its 64 bytes follow unprefixed.
        signed = blake2_256(SIGNED_MESSAGE_TAG + message_hash + b"\x00" + signature)
        out += [("message_scale", encoded), ("message_hash", message_hash),
                ("signature", signature), ("signed_message_hash", signed)]
        out += did_vectors(public, key)
    # The tree over items i = blake2_256(u32 LE i), i = 0, 1, ...
    items = [blake2_256(i.to_bytes(4, "little")) for i in range(5)]
    out.append(("leaf_0", leaf(items[0])))
    out.append(("node_0_1", node(leaf(items[0]), leaf(items[1]))))
    for n in (1, 2, 3, 5):
        out.append((f"root_{n}", root(items[:n])))
    for i, sibling in enumerate(proof(items, 2)):
        out.append((f"proof_5_2_sibling_{i}", sibling))
    return out


def lines() -> list:
    return [f"{name} = {value}" if isinstance(value, str) else f"{name} = 0x{value.hex()}"
            for name, value in vectors()]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        text = open(sys.argv[2]).read()
        wrong = [line for line in lines() if line not in text]
        for line in wrong:
            print(f"[vectors] {sys.argv[2]} lacks: {line}", file=sys.stderr)
        sys.exit(1 if wrong else 0)
    print("\n".join(lines()))
