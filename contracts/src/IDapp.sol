// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title A dApp that receives W3bstream proofs
/// @notice The receiver interface of W3bstream v2's router, kept so that dApps written
/// for it take outputs from this bridge unchanged. The bridge calls `process` once per
/// finalized output addressed to the contract; implementations must check that the
/// caller is the bridge and that `projectId` is the project they trust.
interface IDapp {
    /// @param projectId the W3bstream project whose subnet finalized the output
    /// @param proverId the number of the batch (within the project) the output came from
    /// @param clientId the identifier the applet gave the output (a device, a session)
    /// @param data the output's payload, as the applet produced it
    function process(uint256 projectId, uint256 proverId, string calldata clientId, bytes calldata data)
        external;
}
