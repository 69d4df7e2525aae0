// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDapp} from "../src/IDapp.sol";

interface IBridge {
    function forwarder() external view returns (address);
}

/// A dApp as W3bstream v2 receivers are written: it trusts the bridge and one project,
/// and records what it is given. It also takes plain calls (`KIND_CALL` outputs) from
/// the bridge's forwarder, reading the project id appended to the call data.
contract RecordingReceiver is IDapp {
    struct Record {
        uint256 projectId;
        uint256 proverId;
        string clientId;
        bytes data;
    }

    address public immutable bridge;
    address public immutable forwarder;
    uint256 public immutable projectId;
    Record[] public records;
    /// Calls taken through `note`, with the project id the bridge appended.
    bytes[] public notes;
    uint256[] public noteProjects;

    error NotBridge(address caller);
    error NotForwarder(address caller);
    error NotMyProject(uint256 projectId);

    constructor(address bridge_, uint256 projectId_) {
        bridge = bridge_;
        forwarder = IBridge(bridge_).forwarder();
        projectId = projectId_;
    }

    function process(uint256 projectId_, uint256 proverId, string calldata clientId, bytes calldata data)
        external
    {
        if (msg.sender != bridge) revert NotBridge(msg.sender);
        if (projectId_ != projectId) revert NotMyProject(projectId_);
        records.push(Record(projectId_, proverId, clientId, data));
    }

    function note(bytes calldata text) external {
        if (msg.sender != forwarder) revert NotForwarder(msg.sender);
        // The last 32 bytes of the call data: the project the bridge delivers for.
        uint256 project = uint256(bytes32(msg.data[msg.data.length - 32:]));
        if (project != projectId) revert NotMyProject(project);
        notes.push(text);
        noteProjects.push(project);
    }

    /// Any other call from the forwarder (an applet's `ws_send_tx` whose data is not a
    /// call of `note`, such as the alert example's text) is recorded as a note too.
    fallback() external {
        if (msg.sender != forwarder) revert NotForwarder(msg.sender);
        uint256 project = uint256(bytes32(msg.data[msg.data.length - 32:]));
        if (project != projectId) revert NotMyProject(project);
        notes.push(msg.data[:msg.data.length - 32]);
        noteProjects.push(project);
    }

    function recordCount() external view returns (uint256) {
        return records.length;
    }

    function noteCount() external view returns (uint256) {
        return notes.length;
    }
}

/// A receiver that fails until it is told to work: its outputs stay undelivered until then.
contract FlakyReceiver is IDapp {
    bool public working;
    uint256 public processed;

    function setWorking(bool working_) external {
        working = working_;
    }

    function process(uint256, uint256, string calldata, bytes calldata) external {
        require(working, "receiver is down");
        processed++;
    }
}

/// Receivers that attack the bridge: they burn every unit of gas they get, return
/// 64 KiB of revert data, or re-enter the bridge to have an output delivered twice.
contract HostileReceiver is IDapp {
    uint8 public immutable mode;
    address public immutable bridge;
    bytes public reentry;
    uint256 public processed;

    constructor(uint8 mode_, address bridge_) {
        mode = mode_;
        bridge = bridge_;
    }

    function setReentry(bytes calldata call) external {
        reentry = call;
    }

    function process(uint256, uint256, string calldata, bytes calldata) external {
        processed++;
        if (mode == 0) {
            while (true) {}
        } else if (mode == 1) {
            assembly {
                revert(0, 0x10000)
            }
        } else {
            (bool ok, bytes memory reason) = bridge.call(reentry);
            if (!ok) {
                assembly {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
    }
}

/// A receiver that only checks its caller: what delivering costs the bridge, without a
/// receiver's own logic.
contract NullReceiver is IDapp {
    address public immutable bridge;

    constructor(address bridge_) {
        bridge = bridge_;
    }

    function process(uint256, uint256, string calldata, bytes calldata) external view {
        require(msg.sender == bridge, "not the bridge");
    }
}
