// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDapp} from "./IDapp.sol";

/// @title W3bstream bridge: delivers what a quorum of the appchain's validators signed
/// @notice The appchain gathers the finalized outputs addressed to this chain into bridge
/// batches: a Merkle root over the outputs, numbered by a nonce. Its validators sign each
/// batch (EIP-712 typed data) with their secp256k1 `w3b_` session keys, and anyone may
/// relay a batch with enough signatures here. The contract knows the validator set only as
/// a hash of its sorted addresses and threshold; relayers pass the set along. Each output
/// is delivered once: to an `IDapp` receiver (W3bstream v2's `process`) or as a call to
/// the address an applet named with `ws_send_tx`. A receiver that fails does not stop the
/// batch: the output stays undelivered (an event says why) and can be delivered again.
contract W3bBridge {
    /// @notice A bridge batch as the validators sign it.
    struct Batch {
        /// The validator set that signed it.
        uint64 setId;
        /// The batch's number among the batches for this chain (from 0, no gaps).
        uint64 nonce;
        /// The appchain block that made the batch.
        uint64 blockNumber;
        /// `keccak256(abi.encode(count, merkleRoot))` over the outputs' leaves.
        bytes32 outputsRoot;
    }

    /// @notice One finalized output of a W3bstream project.
    struct Output {
        /// The project whose subnet finalized it.
        uint64 projectId;
        /// The project's batch it came from.
        uint64 batchSeq;
        /// `KIND_PROCESS` or `KIND_CALL`.
        uint8 kind;
        /// The receiver (`KIND_PROCESS`) or the called address (`KIND_CALL`).
        address to;
        /// Passed to `IDapp.process` (empty for calls).
        string clientId;
        /// The payload (`process`'s data, or the call's data).
        bytes data;
    }

    /// @notice The output goes to `IDapp(to).process(projectId, batchSeq, clientId, data)`.
    uint8 public constant KIND_PROCESS = 0;
    /// @notice The output is a call to `to` with `data`, followed by the project id as 32
    /// bytes (the way ERC-2771 appends a sender), made by `forwarder` (not the bridge
    /// itself: a project's plain call must never pass for another project's `process`),
    /// so a contract called by the forwarder can tell which project asked.
    uint8 public constant KIND_CALL = 1;
    /// @notice Most outputs in one bridge batch (one word of the delivered bitmap).
    uint256 public constant MAX_OUTPUTS = 256;
    /// @notice How long the previous validator set still signs the batches it owes after a
    /// set change.
    uint256 public constant PREVIOUS_SET_WINDOW = 1 days;
    /// @notice Gas each delivery may use: a receiver cannot spend the relayer's whole budget.
    uint256 public constant DELIVERY_GAS = 1_000_000;
    /// @notice Most bytes of a failed delivery's revert reason kept in its event.
    uint256 public constant MAX_REASON = 256;

    /// secp256k1 order / 2: signatures with a higher s are the malleated twin of a low one.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)"
    );
    bytes32 private constant NAME_HASH = keccak256("W3bstream Bridge");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 private constant BATCH_TYPEHASH =
        keccak256("BridgeBatch(uint64 setId,uint64 nonce,uint64 blockNumber,bytes32 outputsRoot)");
    bytes32 private constant SET_CHANGE_TYPEHASH =
        keccak256("ValidatorSetChange(uint64 setId,bytes32 setHash,uint64 firstNonce)");
    /// Domain tags: a leaf and a set hash can never be taken for one another.
    bytes32 private constant LEAF_TAG = keccak256("w3b/bridge-output/v1");
    bytes32 private constant SET_TAG = keccak256("w3b/validator-set/v1");

    /// @notice The appchain's genesis hash: the EIP-712 domain's salt, so signatures of
    /// another chain with the same validators never verify here.
    bytes32 public immutable genesisHash;
    /// @notice Where `KIND_CALL` outputs come from.
    W3bCallForwarder public immutable forwarder;

    /// @notice The current validator set: its id, hash and the first nonce it signs.
    uint64 public setId;
    bytes32 public setHash;
    uint64 public setFirstNonce;
    /// @notice A set that handed over: it still signs the nonces it owed (below the first
    /// nonce of the set it handed over to) until its own window ends. Each set keeps its
    /// window whatever comes after it: hand-overs relayed in quick succession (anyone may
    /// relay them) cannot cut short the batches an older set still owes.
    struct RetiredSet {
        bytes32 hash;
        uint64 endNonce;
        uint64 validUntil;
    }

    /// @notice The sets that handed over, by set id.
    mapping(uint64 => RetiredSet) public retiredSets;

    /// @notice Outputs root of each verified batch, by nonce (zero: not verified yet).
    mapping(uint64 => bytes32) public batchRoots;
    /// @notice Which outputs of each batch were delivered, a bit per output index.
    mapping(uint64 => uint256) public deliveredBits;
    /// 1 while no delivery runs, 2 during one: receivers cannot re-enter a delivery.
    uint256 private deliveryLock = 1;

    event ValidatorSetChanged(uint64 indexed setId, bytes32 setHash, uint64 firstNonce);
    event BatchVerified(uint64 indexed nonce, uint64 setId, uint64 blockNumber, bytes32 outputsRoot);
    event OutputDelivered(uint64 indexed nonce, uint256 index, uint64 indexed projectId, uint64 batchSeq);
    /// @notice The receiver reverted (or is no contract, or the kind is unknown): the
    /// output stays undelivered and can be delivered again.
    event OutputFailed(uint64 indexed nonce, uint256 index, uint64 indexed projectId, bytes reason);

    error EmptySet();
    error ZeroAddress();
    /// A set's addresses must be strictly ascending (no duplicates).
    error UnsortedSet(uint256 index);
    /// The threshold must be at least two thirds of the set and at most its size.
    error BadThreshold(uint256 threshold, uint256 size);
    /// The signers and threshold passed do not hash to the set that must sign.
    error WrongSet();
    error SetIdNotIncreasing(uint64 newSetId, uint64 setId);
    error FirstNonceDecreasing(uint64 firstNonce, uint64 setFirstNonce);
    /// Neither the current set nor one that handed over.
    error UnknownSet(uint64 setId);
    /// A set that handed over signs only the nonces it owes, and only within its window.
    error StaleSet(uint64 setId, uint64 nonce);
    error BadSignatureLength();
    error NotEnoughSignatures(uint256 count, uint256 threshold);
    error HighS(uint256 index);
    error BadV(uint256 index);
    error InvalidSignature(uint256 index);
    /// Signatures must come in strictly ascending order of their signers (no duplicates).
    error UnsortedSigners(uint256 index);
    error SignerNotInSet(address signer);
    /// A batch with this nonce was verified already (deliver its outputs instead).
    error BatchKnown(uint64 nonce);
    error UnknownBatch(uint64 nonce);
    error EmptyRoot();
    error TooManyOutputs(uint256 count);
    /// The outputs (or the proof) do not lead to the batch's outputs root.
    error RootMismatch();
    error AlreadyDelivered(uint64 nonce, uint256 index);
    /// Less gas is left than one delivery may use: retry with a higher gas limit.
    error InsufficientGas();
    error Reentrancy();

    modifier delivering() {
        if (deliveryLock != 1) revert Reentrancy();
        deliveryLock = 2;
        _;
        deliveryLock = 1;
    }

    /// @param genesisHash_ the appchain's genesis block hash
    /// @param setId_ the id of the validator set that signs first
    /// @param signers its bridge addresses, strictly ascending
    /// @param threshold how many of them must sign
    constructor(bytes32 genesisHash_, uint64 setId_, address[] memory signers, uint256 threshold) {
        _checkSet(signers, threshold);
        genesisHash = genesisHash_;
        forwarder = new W3bCallForwarder();
        setId = setId_;
        setHash = validatorSetHash(signers, threshold);
        emit ValidatorSetChanged(setId_, setHash, 0);
    }

    // ------------------------------------------------------------------ hashing

    /// @notice The EIP-712 domain separator (chain id read now, so a fork's chain id counts).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this), genesisHash)
        );
    }

    /// @notice The hash a validator set is known by.
    function validatorSetHash(address[] memory signers, uint256 threshold) public pure returns (bytes32) {
        return keccak256(abi.encode(SET_TAG, threshold, signers));
    }

    /// @notice The EIP-712 digest validators sign for `batch`.
    function batchDigest(Batch calldata batch) public view returns (bytes32) {
        return _typed(
            keccak256(abi.encode(BATCH_TYPEHASH, batch.setId, batch.nonce, batch.blockNumber, batch.outputsRoot))
        );
    }

    /// @notice The EIP-712 digest the current set signs to hand over to set `newSetId`.
    function setChangeDigest(uint64 newSetId, bytes32 newSetHash, uint64 firstNonce) public view returns (bytes32) {
        return _typed(keccak256(abi.encode(SET_CHANGE_TYPEHASH, newSetId, newSetHash, firstNonce)));
    }

    /// @notice The Merkle leaf of output number `index` of a batch.
    function outputLeaf(uint256 index, Output calldata output) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                LEAF_TAG,
                block.chainid,
                index,
                output.projectId,
                output.batchSeq,
                output.kind,
                output.to,
                keccak256(bytes(output.clientId)),
                keccak256(output.data)
            )
        );
    }

    /// @notice The outputs root of a batch holding `outputs`, in order.
    function outputsRoot(Output[] calldata outputs) public view returns (bytes32) {
        uint256 count = outputs.length;
        bytes32[] memory layer = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            layer[i] = outputLeaf(i, outputs[i]);
        }
        // Pairs are hashed left to right; an odd last node moves up unchanged.
        while (count > 1) {
            uint256 half = count / 2;
            for (uint256 i = 0; i < half; i++) {
                layer[i] = _hashPair(layer[2 * i], layer[2 * i + 1]);
            }
            if (count % 2 == 1) {
                layer[half] = layer[count - 1];
            }
            count = half + count % 2;
        }
        return keccak256(abi.encode(outputs.length, outputs.length == 0 ? bytes32(0) : layer[0]));
    }

    // ------------------------------------------------------------------ set changes

    /// @notice Hands over from the current set to a new one, signed by the current set.
    /// The current set retires: it may still sign the nonces below `firstNonce` for
    /// `PREVIOUS_SET_WINDOW`.
    function changeValidatorSet(
        uint64 newSetId,
        address[] calldata newSigners,
        uint256 newThreshold,
        uint64 firstNonce,
        address[] calldata signers,
        uint256 threshold,
        bytes calldata signatures
    ) external {
        if (newSetId <= setId) revert SetIdNotIncreasing(newSetId, setId);
        if (firstNonce < setFirstNonce) revert FirstNonceDecreasing(firstNonce, setFirstNonce);
        _checkSet(newSigners, newThreshold);
        bytes32 newHash = validatorSetHash(newSigners, newThreshold);
        _verify(setChangeDigest(newSetId, newHash, firstNonce), setHash, signers, threshold, signatures);
        retiredSets[setId] = RetiredSet(setHash, firstNonce, uint64(block.timestamp + PREVIOUS_SET_WINDOW));
        setId = newSetId;
        setHash = newHash;
        setFirstNonce = firstNonce;
        emit ValidatorSetChanged(newSetId, newHash, firstNonce);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Verifies a batch and delivers all its outputs in one transaction.
    function relay(
        Batch calldata batch,
        address[] calldata signers,
        uint256 threshold,
        bytes calldata signatures,
        Output[] calldata outputs
    ) external delivering {
        _acceptBatch(batch, signers, threshold, signatures);
        _deliverAll(batch.nonce, batch.outputsRoot, outputs);
    }

    /// @notice Verifies a batch without delivering anything (for batches too large to
    /// deliver in one transaction).
    function submitBatch(Batch calldata batch, address[] calldata signers, uint256 threshold, bytes calldata signatures)
        external
    {
        _acceptBatch(batch, signers, threshold, signatures);
    }

    /// @notice Delivers the outputs of a verified batch that were not delivered yet (all
    /// of them are passed: the root is computed from them). Delivered ones are skipped,
    /// so a second call only retries the failed ones.
    function deliver(uint64 nonce, Output[] calldata outputs) external delivering {
        bytes32 root = batchRoots[nonce];
        if (root == 0) revert UnknownBatch(nonce);
        _deliverAll(nonce, root, outputs);
    }

    /// @notice Delivers output `index` of a verified batch of `count` outputs, proven by
    /// its Merkle path (siblings from the leaf up; none where a node moved up alone).
    function deliverOne(uint64 nonce, uint256 index, uint256 count, Output calldata output, bytes32[] calldata proof)
        external
        delivering
    {
        bytes32 root = batchRoots[nonce];
        if (root == 0) revert UnknownBatch(nonce);
        if (index >= count || count > MAX_OUTPUTS) revert RootMismatch();
        bytes32 node = outputLeaf(index, output);
        uint256 used = 0;
        uint256 i = index;
        for (uint256 n = count; n > 1; n = (n + 1) / 2) {
            if (i % 2 == 1) {
                if (used == proof.length) revert RootMismatch();
                node = _hashPair(proof[used++], node);
            } else if (i + 1 < n) {
                if (used == proof.length) revert RootMismatch();
                node = _hashPair(node, proof[used++]);
            }
            i /= 2;
        }
        if (used != proof.length || keccak256(abi.encode(count, node)) != root) revert RootMismatch();
        uint256 bits = deliveredBits[nonce];
        if (bits & (1 << index) != 0) revert AlreadyDelivered(nonce, index);
        if (_deliverOutput(nonce, index, output)) {
            deliveredBits[nonce] = bits | (1 << index);
        }
    }

    /// @notice Whether output `index` of batch `nonce` was delivered.
    function isDelivered(uint64 nonce, uint256 index) external view returns (bool) {
        return index < MAX_OUTPUTS && deliveredBits[nonce] & (1 << index) != 0;
    }

    // ------------------------------------------------------------------ internals

    function _acceptBatch(Batch calldata batch, address[] calldata signers, uint256 threshold, bytes calldata signatures)
        internal
    {
        if (batchRoots[batch.nonce] != 0) revert BatchKnown(batch.nonce);
        if (batch.outputsRoot == 0) revert EmptyRoot();
        bytes32 expected;
        if (batch.setId == setId) {
            expected = setHash;
        } else if (retiredSets[batch.setId].hash != 0) {
            RetiredSet storage retired = retiredSets[batch.setId];
            if (block.timestamp > retired.validUntil || batch.nonce >= retired.endNonce) {
                revert StaleSet(batch.setId, batch.nonce);
            }
            expected = retired.hash;
        } else {
            revert UnknownSet(batch.setId);
        }
        _verify(batchDigest(batch), expected, signers, threshold, signatures);
        batchRoots[batch.nonce] = batch.outputsRoot;
        emit BatchVerified(batch.nonce, batch.setId, batch.blockNumber, batch.outputsRoot);
    }

    function _deliverAll(uint64 nonce, bytes32 root, Output[] calldata outputs) internal {
        if (outputs.length > MAX_OUTPUTS) revert TooManyOutputs(outputs.length);
        if (outputsRoot(outputs) != root) revert RootMismatch();
        uint256 bits = deliveredBits[nonce];
        uint256 before = bits;
        for (uint256 i = 0; i < outputs.length; i++) {
            if (bits & (1 << i) == 0 && _deliverOutput(nonce, i, outputs[i])) {
                bits |= 1 << i;
            }
        }
        // One write for the whole batch: the lock keeps receivers from re-entering
        // before it.
        if (bits != before) deliveredBits[nonce] = bits;
    }

    /// Calls the output's receiver with at most `DELIVERY_GAS`; true if it succeeded.
    function _deliverOutput(uint64 nonce, uint256 index, Output calldata output) internal returns (bool) {
        // 1/64 of the gas stays with the caller (EIP-150): without this margin a relayer
        // could starve a receiver and have its output reported failed.
        if (gasleft() < DELIVERY_GAS + DELIVERY_GAS / 63 + 20_000) revert InsufficientGas();
        bytes memory call;
        address callee = output.to;
        if (output.kind == KIND_PROCESS) {
            call = abi.encodeCall(IDapp.process, (output.projectId, output.batchSeq, output.clientId, output.data));
        } else if (output.kind == KIND_CALL) {
            call = abi.encodeCall(
                W3bCallForwarder.forward, (output.to, abi.encodePacked(output.data, uint256(output.projectId)))
            );
            callee = address(forwarder);
        } else {
            emit OutputFailed(nonce, index, output.projectId, "unknown kind");
            return false;
        }
        if (output.kind == KIND_PROCESS && output.to.code.length == 0) {
            emit OutputFailed(nonce, index, output.projectId, "receiver is not a contract");
            return false;
        }
        (bool ok, bytes memory reason) = _call(callee, call);
        if (ok) {
            emit OutputDelivered(nonce, index, output.projectId, output.batchSeq);
        } else {
            emit OutputFailed(nonce, index, output.projectId, reason);
        }
        return ok;
    }

    /// A call that copies at most `MAX_REASON` bytes of what the callee returns (a callee
    /// returning megabytes cannot make the relayer pay for copying them).
    function _call(address to, bytes memory data) internal returns (bool ok, bytes memory reason) {
        uint256 gasLimit = DELIVERY_GAS;
        uint256 max = MAX_REASON;
        assembly ("memory-safe") {
            ok := call(gasLimit, to, 0, add(data, 0x20), mload(data), 0, 0)
            let size := returndatasize()
            if gt(size, max) { size := max }
            reason := mload(0x40)
            mstore(reason, size)
            returndatacopy(add(reason, 0x20), 0, size)
            mstore(0x40, add(add(reason, 0x20), and(add(size, 31), not(31))))
        }
    }

    function _verify(
        bytes32 digest,
        bytes32 expectedSetHash,
        address[] calldata signers,
        uint256 threshold,
        bytes calldata signatures
    ) internal pure {
        if (validatorSetHash(signers, threshold) != expectedSetHash) revert WrongSet();
        if (signatures.length % 65 != 0) revert BadSignatureLength();
        uint256 count = signatures.length / 65;
        if (count < threshold) revert NotEnoughSignatures(count, threshold);
        address last = address(0);
        uint256 member = 0;
        for (uint256 i = 0; i < count; i++) {
            address signer = _recover(digest, signatures, i);
            if (signer <= last) revert UnsortedSigners(i);
            last = signer;
            // Both lists ascend: one walk over the set finds every signer.
            while (member < signers.length && signers[member] < signer) member++;
            if (member == signers.length || signers[member] != signer) revert SignerNotInSet(signer);
            member++;
        }
    }

    /// The signer of signature `i` (65 bytes: r, s, v) over `digest`: low s, v 27 or 28.
    function _recover(bytes32 digest, bytes calldata signatures, uint256 i) internal pure returns (address signer) {
        uint256 offset = i * 65;
        bytes32 r = bytes32(signatures[offset:offset + 32]);
        bytes32 s = bytes32(signatures[offset + 32:offset + 64]);
        uint8 v = uint8(signatures[offset + 64]);
        if (uint256(s) > HALF_ORDER) revert HighS(i);
        if (v != 27 && v != 28) revert BadV(i);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature(i);
    }

    function _checkSet(address[] memory signers, uint256 threshold) internal pure {
        uint256 size = signers.length;
        if (size == 0) revert EmptySet();
        if (threshold > size || threshold * 3 < size * 2) revert BadThreshold(threshold, size);
        for (uint256 i = 0; i < size; i++) {
            if (signers[i] == address(0)) revert ZeroAddress();
            if (i > 0 && signers[i] <= signers[i - 1]) revert UnsortedSet(i);
        }
    }

    function _typed(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function _hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            hash := keccak256(0x00, 0x40)
        }
    }
}

/// @title Makes the plain calls that W3bstream applets ask for (`KIND_CALL` outputs)
/// @notice A separate sender, so that a receiver trusting the bridge for `IDapp.process`
/// cannot be handed a forged `process` by another project's plain call. Contracts that
/// take plain calls check that the caller is this forwarder and read the project id from
/// the last 32 bytes of the call data.
contract W3bCallForwarder {
    /// @notice The bridge that deployed it: the only caller it serves.
    address public immutable bridge;

    error NotBridge();

    constructor() {
        bridge = msg.sender;
    }

    /// @notice Calls `to` with `data`; reverts with (at most 256 bytes of) the callee's
    /// reason if it fails.
    function forward(address to, bytes calldata data) external {
        if (msg.sender != bridge) revert NotBridge();
        bytes memory payload = data;
        assembly ("memory-safe") {
            if iszero(call(gas(), to, 0, add(payload, 0x20), mload(payload), 0, 0)) {
                let size := returndatasize()
                if gt(size, 256) { size := 256 }
                returndatacopy(0, 0, size)
                revert(0, size)
            }
        }
    }
}
