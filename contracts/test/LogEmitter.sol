// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A contract whose logs a project subscribes to (the inbound direction): anyone may
/// emit a reading.
contract LogEmitter {
    event Reading(uint256 indexed sensor, bytes data);

    function emitReading(uint256 sensor, bytes calldata data) external {
        emit Reading(sensor, data);
    }
}
