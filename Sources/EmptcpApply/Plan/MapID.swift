import CLibbpf
import EmptcpStore

/// The maps the applier writes, per hook. Names come from bpf/ (docs/architecture.md, "Kernel
/// object names"); they are spelled here once.
struct MapID: Hashable, Comparable, Sendable, CustomStringConvertible {
    enum Kind: Int, CaseIterable, Sendable {
        /// ARRAY[1] of struct emptcp_selector_chain.
        case selectorChain
        /// ARRAY[1] of __u32 chain index of the `tcp` selector.
        case tcpDefault
        /// HASH struct emptcp_tcp2_key → __u32 chain index.
        case tcp2
        /// HASH struct emptcp_tcp4_key → __u32 chain index.
        case tcp4
        /// ARRAY chain index → struct emptcp_action_chain (`MapEncoder.noChain` where unused).
        /// Planned like a hash map (chains are added and removed); a removal writes `noChain`.
        case chains

        var suffix: String {
            switch self {
            case .selectorChain: "selchn"
            case .tcpDefault: "tcp"
            case .tcp2: "tcp2"
            case .tcp4: "tcp4"
            case .chains: "chains"
            }
        }

        /// Array maps with one entry per generation: they are changed, never added or removed.
        var isArray: Bool { self == .selectorChain || self == .tcpDefault }
    }

    let hook: Hook
    let kind: Kind

    var name: String { hook.kernelName(kind.suffix) }
    var description: String { name }

    static func < (a: MapID, b: MapID) -> Bool {
        a.hook != b.hook ? a.hook.rawValue > b.hook.rawValue : a.kind.rawValue < b.kind.rawValue
    }

    static let all: [MapID] = Hook.allCases.sorted { $0.rawValue > $1.rawValue }
        .flatMap { hook in Kind.allCases.map { MapID(hook: hook, kind: $0) } }
}

/// The other maps emptcp touches by name.
enum MapNames {
    static let meta = "emptcp_meta"
    /// The live generation (abi.h), read by both entry programs.
    static let live = "emptcp_live"
    static let events = "emptcp_events"
    static func selectors(_ hook: Hook) -> String { hook.kernelName("sels") }
    static func actions(_ hook: Hook) -> String { hook.kernelName("acts") }
    static func counters(_ hook: Hook) -> String { hook.kernelName("counts") }
    static func prefilter(_ hook: Hook) -> String { hook.kernelName("prefil") }
    /// The `record` actor's per-flow metrics (XDP only).
    static let flowStats = Hook.xdp.kernelName("stats")

    /// emptcp_meta indexes.
    static let metaRevision: UInt32 = 0
    static let metaABIVersion: UInt32 = 1
    static func metaGenerationRevision(_ generation: UInt8) -> UInt32 { EMPTCP_META_GEN_REVISION.rawValue + UInt32(generation) }
    static let metaSwitching = EMPTCP_META_SWITCHING.rawValue
    static func metaGenerationDigest(_ generation: UInt8) -> UInt32 { EMPTCP_META_GEN_DIGEST.rawValue + UInt32(generation) }
}
