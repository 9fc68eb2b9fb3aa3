import CLibbpf

/// One hook of an attached interface.
public struct HookStatus: Codable, Sendable, Equatable {
    public var hook: String
    /// "native", "generic" (XDP) or "tcx" (TC); "detached" when the pinned link lost its device.
    public var mode: String
    public var programID: UInt32

    enum CodingKeys: String, CodingKey { case hook, mode, programID = "program_id" }
}

public struct InterfaceStatus: Codable, Sendable, Equatable {
    public var name: String
    /// nil when the device no longer exists.
    public var ifindex: UInt32?
    public var hooks: [HookStatus]
}

public struct MapStatus: Codable, Sendable, Equatable {
    public var map: String
    public var entries: Int
}

public struct CounterStatus: Codable, Sendable, Equatable {
    public var hook: String
    public var counter: String
    public var value: UInt64
}

/// A map entry that differs from what the revision says.
public struct DriftEntry: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: String, Codable, Sendable {
        /// The revision has it, the map does not.
        case missing
        /// The map has it, the revision does not.
        case unexpected
        /// Both have it with different values.
        case differs
    }

    public var map: String
    public var key: String
    public var problem: Problem
    public var expected: String?
    public var actual: String?

    public var description: String {
        switch problem {
        case .missing: "\(map) \(key): missing (expected \(expected ?? "?"))"
        case .unexpected: "\(map) \(key): unexpected (holds \(actual ?? "?"))"
        case .differs: "\(map) \(key): holds \(actual ?? "?"), expected \(expected ?? "?")"
        }
    }
}

/// What `emptcp status` reports about the data plane: attached hooks, pinned maps, counters and drift.
public struct DataPlaneStatus: Codable, Sendable, Equatable {
    public var pinRoot: String
    /// Programs and maps are pinned.
    public var loaded: Bool
    public var interfaces: [InterfaceStatus]
    /// The revision the live generation holds (nil: none applied).
    public var kernelRevision: Int64?
    /// The live generation (0 or 1; nil when not loaded) and the revision the other one holds
    /// completely (nil: none, or an apply was interrupted while writing it).
    public var liveGeneration: Int? = nil
    public var standbyRevision: Int64? = nil
    public var abiVersion: UInt64?
    public var maps: [MapStatus]
    public var counters: [CounterStatus]
    /// What differs from the policy passed to `status` (empty when none was passed): entries of
    /// the live generation's policy maps, the standby generation (one entry per map that lags),
    /// program-array slots (`emptcp_<h>_sels` / `emptcp_<h>_acts`, key "slot N") and links
    /// (map "links", key "iface/hook").
    public var drift: [DriftEntry]

    enum CodingKeys: String, CodingKey {
        case pinRoot = "pin_root", loaded, interfaces, kernelRevision = "kernel_revision", abiVersion = "abi_version"
        case liveGeneration = "live_generation", standbyRevision = "standby_revision"
        case maps, counters, drift
    }
}

/// Counter names by index (enum emptcp_counter in abi.h).
let counterNames: [(UInt32, String)] = [
    (EMPTCP_CNT_PACKETS.rawValue, "packets"), (EMPTCP_CNT_NOT_TCP.rawValue, "not_tcp"),
    (EMPTCP_CNT_MALFORMED.rawValue, "malformed"), (EMPTCP_CNT_TAIL_CALL_FAIL.rawValue, "tail_call_fail"),
    (EMPTCP_CNT_NO_CHAIN.rawValue, "no_chain"), (EMPTCP_CNT_TARGET.rawValue, "target"),
    (EMPTCP_CNT_ADD_ADDR_NOPPED.rawValue, "add_addr_nopped"), (EMPTCP_CNT_ADD_ADDR_DROPPED.rawValue, "add_addr_dropped"),
    (EMPTCP_CNT_RINGBUF_FULL.rawValue, "ringbuf_full"), (EMPTCP_CNT_PRIO_NO_ROOM.rawValue, "prio_no_room"),
    (EMPTCP_CNT_PRIO_PRESENT.rawValue, "prio_present"), (EMPTCP_CNT_PRIO_ADDED.rawValue, "prio_added"),
    (EMPTCP_CNT_RECORD_FULL.rawValue, "record_full"), (EMPTCP_CNT_WIN_SET.rawValue, "win_set"),
]
