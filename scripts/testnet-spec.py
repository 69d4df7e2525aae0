#!/usr/bin/env python3
"""Builds a public testnet's chain spec from the public keys of a key ceremony.

Every validator generates its keys offline and sends only public ones (see
docs/operators-guide.md, "Key ceremony"); the coordinator lists them in a ceremony file:

    {
      "name": "W3bstream Testnet", "id": "w3b_testnet",
      "minValidators": 4,
      "bootnodes": ["/dns/boot0.example.org/tcp/30333/p2p/12D3Koo..."],
      "validators": [
        {"account": "5F...", "aura": "5F...", "grandpa": "5G...", "w3b": "KW..."}, ...
      ],
      "endowed": [["5F...", 1000000000000000000], ...]
    }

`account` is the validator's sr25519 account (it stakes, votes in the council and pays
for its worker's transactions), `aura` its sr25519 Aura key, `grandpa` its ed25519 GRANDPA
key and `w3b` its secp256k1 bridge key as `w3b-node key inspect --scheme ecdsa` prints
`ss58PublicKey` (the `KW...` form). The validators are the council; there is no sudo key.
`endowed` are the initial balances (each validator needs some to pay fees).

The runtime's code and properties come from `w3b-node build-spec --chain local` of the
binary given; the result is the plain spec, and `--raw` also writes the raw spec every
node of the network must start from (its genesis hash is the network's identity).

    scripts/testnet-spec.py ceremony.json testnet.json --raw testnet.raw.json
"""

import argparse
import json
import os
import subprocess
import sys


def fail(message):
    print(f"[testnet-spec] error: {message}", file=sys.stderr)
    sys.exit(1)


def node_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
    return os.environ.get("W3B_NODE", os.path.join(target, "debug", "w3b-node"))


def build_spec(node, chain, raw=False):
    args = [node, "build-spec", "--chain", chain, "--disable-default-bootnode"]
    if raw:
        args.append("--raw")
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"{' '.join(args)}: {run.stderr.strip()[-2000:]}")
    return json.loads(run.stdout)


def check_ceremony(ceremony):
    validators = ceremony.get("validators") or []
    if not validators:
        fail("the ceremony lists no validators")
    keys = ("account", "aura", "grandpa", "w3b")
    seen = set()
    for i, v in enumerate(validators):
        missing = [k for k in keys if not isinstance(v.get(k), str) or not v[k]]
        if missing:
            fail(f"validator {i} lacks {', '.join(missing)}")
        if not v["w3b"].startswith("KW"):
            fail(f"validator {i}: w3b must be the ecdsa ss58PublicKey (KW...), not an address")
        for k in keys:
            if v[k] in seen:
                fail(f"validator {i}: {k} {v[k]} appears twice: keys are never shared")
            seen.add(v[k])
    minimum = ceremony.get("minValidators", len(validators))
    if not 1 <= minimum <= len(validators):
        fail(f"minValidators {minimum} must be between 1 and {len(validators)}")
    if len(validators) < 4:
        print("[testnet-spec] warning: fewer than 4 validators cannot survive one fault", file=sys.stderr)
    return validators, minimum


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ceremony", help="the ceremony's JSON file (public keys only)")
    parser.add_argument("output", help="where to write the plain chain spec")
    parser.add_argument("--raw", help="also write the raw chain spec here")
    parser.add_argument("--node", default=node_binary(), help="the w3b-node binary")
    args = parser.parse_args()

    with open(args.ceremony) as f:
        ceremony = json.load(f)
    if any("secret" in key.lower() for v in ceremony.get("validators", []) for key in v):
        fail("the ceremony file holds a secret: only public keys leave a validator's machine")
    validators, minimum = check_ceremony(ceremony)

    spec = build_spec(args.node, "local")
    spec["name"] = ceremony.get("name", "W3bstream Testnet")
    spec["id"] = ceremony.get("id", "w3b_testnet")
    spec["chainType"] = "Live"
    spec["bootNodes"] = ceremony.get("bootnodes", [])
    spec["telemetryEndpoints"] = None
    endowed = ceremony.get("endowed") or [[v["account"], 10_000 * 10**12] for v in validators]
    spec["genesis"]["runtimeGenesis"]["patch"] = {
        "balances": {"balances": endowed},
        "validators": {
            "initialValidators": [v["account"] for v in validators],
            "minValidators": minimum,
        },
        "session": {
            "keys": [
                [v["account"], v["account"], {"aura": v["aura"], "grandpa": v["grandpa"], "w3b": v["w3b"]}]
                for v in validators
            ]
        },
        "sudo": {"key": None},
    }
    with open(args.output, "w") as f:
        json.dump(spec, f, indent=2)
    print(f"[testnet-spec] {args.output}: {len(validators)} validators, min {minimum}, "
          f"{len(spec['bootNodes'])} bootnodes, no sudo", file=sys.stderr)
    if args.raw:
        raw = build_spec(args.node, args.output, raw=True)
        with open(args.raw, "w") as f:
            json.dump(raw, f, indent=2)
        print(f"[testnet-spec] {args.raw}: raw genesis, {len(raw['genesis']['raw']['top'])} storage items",
              file=sys.stderr)


if __name__ == "__main__":
    main()
