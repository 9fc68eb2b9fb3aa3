import CLibbpf
import EmptcpStore
import Logging

/// Per map, how many entries one apply added, removed and changed.
public struct MapCounts: Codable, Sendable, Equatable {
    public var map: String
    public var added: Int
    public var removed: Int
    public var changed: Int

    public var total: Int { added + removed + changed }
}

/// What one apply did.
public struct ApplyReport: Codable, Sendable, Equatable {
    /// The revision now in emptcp_meta.
    public var revision: Int64
    /// The revision emptcp_meta held before (nil: none yet).
    public var previousRevision: Int64?
    /// Every managed map, in a fixed order, with its counts (zero counts included); with the
    /// prefilter on, `<hook>_prefilter` last, its words written counted as changed.
    public var maps: [MapCounts]
    /// Wall time of the phases, in microseconds: encoding the policy, reading the maps (and
    /// planning), writing the differences.
    public var encodeMicros: Int64 = 0
    public var readMicros: Int64 = 0
    public var writeMicros: Int64 = 0

    enum CodingKeys: String, CodingKey {
        case revision, previousRevision = "previous_revision", maps
        case encodeMicros = "encode_micros", readMicros = "read_micros", writeMicros = "write_micros"
    }

    /// Number of map entries written or deleted (emptcp_meta not counted).
    public var writes: Int { maps.reduce(0) { $0 + $1.total } }

    /// One line for the audit and the CLI: "xdp_tcp2 +1 -0 ~0, tc_chains +1 -0 ~0", or "no changes".
    public var summary: String {
        let changed = maps.filter { $0.total > 0 }
        guard !changed.isEmpty else { return "no changes" }
        return changed.map { "\($0.map) +\($0.added) -\($0.removed) ~\($0.changed)" }.joined(separator: ", ")
    }
}

/// The kernel side of emptcp: load + attach, detach, apply a revision, report status.
///
/// Every method that changes the kernel needs root. The store's commit/rollback call
/// `apply(policy:revision:)` after a commit when `isAttached()`.
public struct Applier: Sendable {
    public let pinRoot: String
    public let bpfDir: String?
    public let logDirectory: String
    public let logger: Logger
    /// Maintain the binding prefilter (`<hook>_prefilter`) and set EMPTCP_SEL_F_PREFILTER in the
    /// selector chains. On by default, as the CLI runs it; `prefilter: false` leaves it off.
    public let prefilter: Bool
    let layout: PinLayout

    /// - Parameters:
    ///   - pinRoot: bpffs directory for maps, programs and links.
    ///   - bpfDir: directory of the built objects (`xdp/*.o`, `tc/*.o`); nil: discover it
    ///     (env EMPTCP_BPF_DIR, the repo build tree, /usr/local/lib/emptcp/bpf).
    ///   - logDirectory: where verifier logs are saved; nil: /var/lib/emptcp when it exists, else $TMPDIR or /tmp.
    ///   - prefilter: maintain the binding prefilter and turn it on in the selector chains.
    public init(pinRoot: String, bpfDir: String? = nil, logDirectory: String? = nil, logger: Logger, prefilter: Bool = true) {
        self.pinRoot = pinRoot
        self.prefilter = prefilter
        self.bpfDir = bpfDir
        self.logger = logger
        self.layout = PinLayout(root: pinRoot)
        // libbpf's messages go to the verifier log files, not to stderr (one-line errors).
        Sys.silenceLibbpf()
        let environment = Sys.environment()
        let directory = logDirectory
            ?? (Sys.isDirectory("/var/lib/emptcp") ? "/var/lib/emptcp" : (environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"))
        self.logDirectory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// True when at least one interface has an emptcp link pinned.
    public func isAttached() -> Bool {
        attacher.attachedInterfaces().contains { !Sys.listDirectory(layout.linkDirectory($0)).isEmpty }
    }

    /// Interfaces with emptcp links pinned (some may be stale if the device disappeared).
    public func attachedInterfaces() -> [String] { attacher.attachedInterfaces() }

    /// The interfaces `attach --all` takes in this network namespace: never loopback; software
    /// devices (veth, bridges, tun, ...) only with `includeVirtual`. `skipped` says why each
    /// other one was left out.
    public static func allInterfaces(includeVirtual: Bool = false) -> (targets: [String], skipped: [(name: String, reason: String)]) {
        var targets: [String] = [], skipped: [(name: String, reason: String)] = []
        for name in Sys.interfaces().map(\.name) where name != "lo" {
            if !includeVirtual, let kind = DeviceClass.virtualDevice(name) {
                skipped.append((name, "a virtual device (\(kind))"))
            } else {
                targets.append(name)
            }
        }
        return (targets, skipped)
    }

    /// Loads and pins the programs when needed, then attaches XDP and tcx egress to `interface`.
    /// Twice is a no-op; on failure nothing of this interface stays attached.
    public func attach(interface: String, xdpMode: XDPMode = .auto, tcMode: TCMode = .auto) throws -> AttachResult {
        try requireRoot("attach")
        guard Sys.interfaceIndex(interface) != nil else { throw ApplyError.unknownInterface(interface) }
        let prepared = try PinRoot.prepare(pinRoot)
        let wasLoaded = Loader.isLoaded(layout)
        do {
            let directory = try ObjectDiscovery.locate(explicit: bpfDir, environment: Sys.environment())
            try Loader(layout: layout, bpfDir: directory, logDirectory: logDirectory, logger: logger).ensureLoaded()
            return try attacher.attach(interface, mode: xdpMode, tcMode: tcMode)
        } catch {
            // A failed attach leaves the system as it found it: what this call loaded and pinned
            // goes when no interface uses it, and so do the bpffs mount and directories it made.
            if !wasLoaded && attacher.attachedInterfaces().isEmpty {
                Unpinner(layout: layout).removeLoaded()
                prepared.undo()
            }
            throw error
        }
    }

    /// Detaches what emptcp attached to `interface` (only its own links). When no interface
    /// remains attached, the programs and maps are unpinned too. Returns whether anything was attached.
    @discardableResult
    public func detach(interface: String) throws -> Bool {
        try requireRoot("detach")
        guard PinRoot.isBPFFS(pinRoot) else { return false }
        let was = try attacher.detach(interface)
        if attacher.attachedInterfaces().isEmpty { Unpinner(layout: layout).removeLoaded() }
        return was
    }

    /// Makes the maps hold exactly `policy`, writing only the differences, then records
    /// `revision` in emptcp_meta. A second call with the same policy writes nothing.
    public func apply(policy: Policy, revision: Int64, modules: ModuleSlots = ModuleSlots()) throws -> ApplyReport {
        try requireRoot("apply")
        let clock = ContinuousClock()
        let start = clock.now
        let desired = try MapEncoder.encode(policy, modules: modules, prefilter: prefilter)
        let encoded = clock.now
        let maps = try openManagedMaps()
        let current = try read(maps)
        let plans = Planner.plan(desired: desired, current: current)
        // The prefilter is maintained when on, and also on a hook whose chain still has the flag
        // from an earlier apply (switching it off): until the new chain is written, it is consulted.
        let flagged = Hook.allCases.filter { hook in
            (current[MapID(hook: hook, kind: .selectorChain)]?[MapEncoder.zeroKey]?[1] ?? 0) & UInt8(EMPTCP_SEL_F_PREFILTER) != 0
        }
        let prefilters = desired.prefilter == nil && flagged.isEmpty ? [:] : try openPrefilters()
        var prefilterPlans: [Hook: Prefilter.Plan] = [:]
        for (hook, map) in prefilters where desired.prefilter != nil || flagged.contains(hook) {
            let keys = { (state: [MapID: [MapKey: Bytes]]) in
                [state[MapID(hook: hook, kind: .tcp2)] ?? [:], state[MapID(hook: hook, kind: .tcp4)] ?? [:]].joined().map(\.key)
            }
            let wanted = desired.prefilter?[hook] ?? Prefilter.words(of: keys(desired.maps))
            prefilterPlans[hook] = Prefilter.plan(desired: wanted, present: Prefilter.words(of: keys(current)), current: try map.nonzeroWords())
        }
        let planned = clock.now
        let byMap = Dictionary(uniqueKeysWithValues: plans.map { ($0.map, $0) })
        let order = MapID.all
        let hooks = Hook.allCases.sorted { $0.rawValue > $1.rawValue }

        // Readers never see a binding without its chain: chains first, then bindings and the
        // selector chain, then stale bindings, then stale chains. The prefilter bits of every
        // key, old and new, are set before all of them and trimmed to the desired keys after
        // (Prefilter.Plan), so the flag never hides a visible binding.
        for hook in hooks { if let plan = prefilterPlans[hook] { try prefilters[hook]!.writeWords(plan.raise) } }
        for id in order where id.kind == .chains { try maps[id]!.write(byMap[id]!.add + byMap[id]!.change) }
        for id in order where id.kind != .chains && id.kind != .selectorChain { try maps[id]!.write(byMap[id]!.add + byMap[id]!.change) }
        for id in order where id.kind == .selectorChain { try maps[id]!.write(byMap[id]!.change) }
        for id in order where id.kind != .chains { try maps[id]!.remove(byMap[id]!.remove) }
        for id in order where id.kind == .chains { try maps[id]!.remove(byMap[id]!.remove) }
        for hook in hooks { if let plan = prefilterPlans[hook] { try prefilters[hook]!.writeWords(plan.settle) } }

        let meta = try PinnedMap(path: layout.map(MapNames.meta), name: MapNames.meta)
        let previous = try meta.readInteger(at: MapNames.metaRevision)
        if previous != UInt64(bitPattern: revision) { try meta.writeInteger(UInt64(bitPattern: revision), at: MapNames.metaRevision) }

        let written = clock.now
        let micros = { (d: Duration) in d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 }
        let report = ApplyReport(
            revision: revision, previousRevision: previous == 0 ? nil : Int64(bitPattern: previous),
            maps: plans.map { MapCounts(map: $0.map.name, added: $0.add.count, removed: $0.remove.count, changed: $0.change.count) }
                + hooks.compactMap { hook in
                    prefilterPlans[hook].map { MapCounts(map: Prefilter.mapName(hook), added: 0, removed: 0, changed: $0.wordsChanged) }
                },
            encodeMicros: micros(encoded - start), readMicros: micros(planned - encoded), writeMicros: micros(written - planned))
        logger.info("applied", metadata: [
            "revision.id": "\(revision)", "apply.writes": "\(report.writes)", "apply.encode_us": "\(report.encodeMicros)",
            "apply.read_us": "\(report.readMicros)", "apply.write_us": "\(report.writeMicros)",
        ])
        return report
    }

    // MARK: - Internals

    var attacher: Attacher { Attacher(layout: layout, logger: logger) }

    func requireRoot(_ operation: String) throws {
        let uid = Sys.effectiveUID()
        guard uid == 0 else { throw ApplyError.notRoot(operation: operation, uid: uid) }
    }

    func openManagedMaps() throws -> [MapID: PinnedMap] {
        guard Sys.exists(layout.map(MapNames.meta)) else { throw ApplyError.notLoaded(pinRoot: pinRoot) }
        var maps: [MapID: PinnedMap] = [:]
        for id in MapID.all { maps[id] = try PinnedMap(path: layout.map(id.name), name: id.name) }
        return maps
    }

    /// The prefilter map of each hook.
    func openPrefilters() throws -> [Hook: PinnedMap] {
        var maps: [Hook: PinnedMap] = [:]
        for hook in Hook.allCases { maps[hook] = try PinnedMap(path: layout.map(Prefilter.mapName(hook)), name: Prefilter.mapName(hook)) }
        return maps
    }

    /// What the managed maps hold: every entry of the hash maps, index 0 of the arrays.
    func read(_ maps: [MapID: PinnedMap]) throws -> [MapID: [MapKey: Bytes]] {
        var result: [MapID: [MapKey: Bytes]] = [:]
        for (id, map) in maps {
            if id.kind.isArray {
                result[id] = try map.lookup(MapEncoder.zeroKey.bytes).map { [MapEncoder.zeroKey: $0] } ?? [:]
            } else {
                result[id] = try map.entries()
            }
        }
        return result
    }
}
