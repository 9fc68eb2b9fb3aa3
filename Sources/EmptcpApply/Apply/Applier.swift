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
    /// The revision now in force (the live generation's).
    public var revision: Int64
    /// The revision the live generation held before (nil: none yet).
    public var previousRevision: Int64?
    /// Every managed map, in a fixed order, with its counts (zero counts included): how the
    /// generation now in force differs from the one that was (all zero when no switch was
    /// needed). With the prefilter on, `emptcp_<h>_prefil` last, its words counted as changed:
    /// those of the old live generation that differed, when they were read (a verify, or its
    /// maps held the revision already), else those written into the generation switched to.
    public var maps: [MapCounts]
    /// Whether the live generation was switched (docs/architecture.md "Atomic switch").
    public var switched: Bool = false
    /// The live generation after the apply (0 or 1).
    public var generation: Int = 0
    /// Entries written into a standby generation that was not switched to: one whose marker
    /// claimed this content but whose entries differed.
    public var standbyWrites: Int = 0
    /// Program-array slots put back to the pinned programs.
    public var programSlots: Int = 0
    /// Links attached again ("iface/hook").
    public var links: [String] = []
    /// Wall time of the phases, in microseconds: encoding the policy (and reading the maps,
    /// which overlaps it), planning (and reading the live prefilter words when they decide),
    /// writing the differences; `switchMicros`: the flip and its marker writes (the wait for
    /// packets of the old generation is left to the next apply that writes a generation).
    public var encodeMicros: Int64 = 0
    public var readMicros: Int64 = 0
    public var writeMicros: Int64 = 0
    public var switchMicros: Int64 = 0
    /// The flip alone (the 4-byte write of `emptcp_live`), and the time from the start of the
    /// apply until the new revision was in force (0 without a switch).
    public var flipMicros: Int64 = 0
    public var inForceMicros: Int64 = 0
    /// True when the live generation's marker proved the kernel already holds the revision, so no
    /// policy map was read or written (only program slots and links were checked).
    public var fastPath: Bool = false
    /// True for `apply --verify`: every policy map was read and compared, whatever the markers said.
    public var verified: Bool = false

    enum CodingKeys: String, CodingKey {
        case revision, previousRevision = "previous_revision", maps
        case switched, generation, standbyWrites = "standby_writes", programSlots = "program_slots", links
        case fastPath = "fast_path", verified
        case encodeMicros = "encode_micros", readMicros = "read_micros", writeMicros = "write_micros"
        case switchMicros = "switch_micros", flipMicros = "flip_micros", inForceMicros = "in_force_micros"
    }

    /// Number of kernel entries written or deleted for this apply (the map entries counted in
    /// `maps`, program slots, links; emptcp_meta and the standby catch-up not counted).
    public var writes: Int { maps.reduce(0) { $0 + $1.total } + programSlots + links.count }

    /// One line for the audit and the CLI: "emptcp_x_tcp2 +1 -0 ~0, emptcp_t_chains +1 -0 ~0", or "no changes".
    public var summary: String {
        var parts = maps.filter { $0.total > 0 }.map { "\($0.map) +\($0.added) -\($0.removed) ~\($0.changed)" }
        if programSlots > 0 { parts.append("program arrays: \(programSlots) slot\(programSlots == 1 ? "" : "s") restored") }
        if !links.isEmpty { parts.append("links attached again: \(links.joined(separator: " "))") }
        if !switched && standbyWrites > 0 { parts.append("standby generation brought up to date (\(standbyWrites) entries)") }
        return parts.isEmpty ? "no changes" : parts.joined(separator: ", ")
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
    /// Maintain the binding prefilter (`emptcp_<h>_prefil`) and set EMPTCP_SEL_F_PREFILTER in the
    /// selector chains. On by default, as the CLI runs it; `prefilter: false` leaves it off.
    public let prefilter: Bool
    let layout: PinLayout

    /// - Parameters:
    ///   - pinRoot: bpffs directory for maps, programs and links.
    ///   - bpfDir: directory of the built objects (`xdp/*.o`, `tc/*.o`); nil: discover it
    ///     (env EMPTCP_BPF_DIR, PREFIX/lib/emptcp/bpf next to the binary, the repo build tree).
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
    /// - Parameter allPrograms: load every built-in selector and actor (false: the entry programs
    ///   and the maps only; the next apply loads what its revision names — a boot restore's
    ///   shortcut, since the verifier's work is its fixed cost).
    public func attach(interface: String, xdpMode: XDPMode = .auto, tcMode: TCMode = .auto, allPrograms: Bool = true) throws -> AttachResult {
        try requireRoot("attach")
        guard Sys.interfaceIndex(interface) != nil else { throw ApplyError.unknownInterface(interface) }
        return try exclusively("attach") { try attachLocked(interface: interface, xdpMode: xdpMode, tcMode: tcMode, allPrograms: allPrograms) }
    }

    private func attachLocked(interface: String, xdpMode: XDPMode, tcMode: TCMode, allPrograms: Bool) throws -> AttachResult {
        guard Sys.interfaceIndex(interface) != nil else { throw ApplyError.unknownInterface(interface) }
        let prepared = try PinRoot.prepare(pinRoot)
        let wasLoaded = Loader.isLoaded(layout)
        do {
            let directory = try ObjectDiscovery.locate(explicit: bpfDir, environment: Sys.environment())
            try Loader(layout: layout, bpfDir: directory, logDirectory: logDirectory, logger: logger).ensureLoaded(only: allPrograms ? nil : [:])
            return try attacher.attach(interface, mode: xdpMode, tcMode: tcMode)
        } catch {
            // A failed attach leaves the system as it found it: what this call loaded and pinned
            // goes when no interface uses it, and so do the bpffs mount and directories it made.
            if !wasLoaded && attacher.attachedInterfaces().isEmpty {
                Unpinner(layout: layout).removeLoaded()
                prepared.undo()
                ApplyLock.removeFile(pinRoot: pinRoot)
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
        return try exclusively("detach") {
            let was = try attacher.detach(interface)
            if attacher.attachedInterfaces().isEmpty {
                Unpinner(layout: layout).removeLoaded()
                // Nothing of this data plane is left: neither is its lock file.
                ApplyLock.removeFile(pinRoot: pinRoot)
            }
            return was
        }
    }

    /// Runs `body` holding this data plane's lock (ApplyLock): every change of the kernel state
    /// under this pin root made by another process waits until it returns. Reentrant: the
    /// applies, attaches and detaches inside take it again without waiting. Callers that read
    /// what to apply (the store's current revision) read it inside, so the last apply to run is
    /// the one of the newest revision.
    public func exclusively<R>(_ operation: String = "apply", _ body: () throws -> R) throws -> R {
        try ApplyLock.holding(pinRoot: pinRoot, operation: operation, logger: logger, body)
    }

    /// Makes the kernel hold exactly `policy` as revision `revision`; see
    /// `apply(revision:contentHash:from:modules:verify:)`. The content hash is computed here.
    public func apply(policy: Policy, revision: Int64, modules: ModuleSlots = ModuleSlots(), verify: Bool = false) throws -> ApplyReport {
        try requireRoot("apply")
        return try exclusively("apply") {
            try applyLocked(revision: revision, contentHash: policy.contentHash, modules: modules, verify: verify) {
                try MapEncoder.encode(policy, modules: modules, prefilter: prefilter)
            }
        }
    }

    /// Makes the kernel hold revision `revision` of `store` (whose content hash in the store is
    /// `contentHash`), switching both hooks to it at once: the generation that is not live is
    /// brought to the policy (only its differences from what it holds are written), then
    /// `emptcp_live` flips to it. The old generation keeps the previous revision, so a rollback
    /// to it is a flip alone, and the next switch writes it by its delta. Also puts back
    /// program-array slots and links that differ from what emptcp made.
    ///
    /// When the live generation's marker (emptcp_meta) says it holds this content's digest, the
    /// kernel provably holds it: the revision's content is not even read, no policy map is
    /// read or written (the fast path). Otherwise, or with `verify`, the revision is encoded
    /// straight from the store's rows (`MapEncoder.encode(revision:in:)`, no `Policy` built)
    /// while the maps are read, they are compared entry by entry, and whatever differs — drift
    /// included — is rewritten. A second call writes nothing; a call after an apply killed at
    /// any point converges.
    public func apply(
        revision: Int64, contentHash: String, from store: PolicyStore, modules: ModuleSlots = ModuleSlots(), verify: Bool = false
    ) throws -> ApplyReport {
        try requireRoot("apply")
        return try exclusively("apply") {
            try applyLocked(revision: revision, contentHash: contentHash, modules: modules, verify: verify) {
                try MapEncoder.encode(revision: revision, in: store, modules: modules, prefilter: prefilter)
            }
        }
    }

    /// - Parameter encode: what the maps must hold; called only off the fast path.
    private func applyLocked(
        revision: Int64, contentHash: String, modules: ModuleSlots, verify: Bool, encode: () throws -> DesiredState
    ) throws -> ApplyReport {
        let clock = ContinuousClock()
        let start = clock.now
        let kernel = try PolicyMaps(layout: layout, prefilter: prefilter)
        let digest = GenerationDigest.of(contentHash: contentHash, modules: modules, prefilter: prefilter)
        let slots = ProgramSlots(layout: layout)
        let slotFindings = try slots.check(modules: modules)
        let linkFindings = try attacher.linkFindings()
        let live = try kernel.liveGeneration()
        let standby = Generation.other(live)
        let markers = [try kernel.marker(of: 0), try kernel.marker(of: 1)]
        let previous = markers[Int(live)].revision

        let liveMarker = markers[Int(live)]
        if !verify && liveMarker.revision != nil && liveMarker.digest == digest {
            // The live generation holds this content, as written to the end by an apply: only
            // the data path's slots and links may need putting back. The standby generation may
            // hold an older revision (its marker says which): the next apply that switches
            // writes it by its delta first. (Another revision with the same content, e.g. a
            // rollback to it, only renames the marker: content is what counts.)
            try kernel.markComplete(live, revision: revision, digest: digest)
            var report = ApplyReport(revision: revision, previousRevision: previous, maps: Self.unchangedMaps(prefilter: prefilter))
            report.fastPath = true
            report.generation = Int(live)
            report.programSlots = try slots.repair(slotFindings)
            report.links = try attacher.repairLinks(linkFindings)
            try kernel.writeMeta(UInt64(bitPattern: revision), at: MapNames.metaRevision)
            report.readMicros = Self.micros(clock.now - start)
            logger.info("applied", metadata: ["revision.id": "\(revision)", "apply.fast_path": "true", "apply.writes": "\(report.writes)"])
            return report
        }

        // Both generations complete with one content: they are equal, so one is read and
        // planned, and its plan serves the other too. `--verify` and any other state read both.
        let twins = !verify && markers[0].digest != nil && markers[0] == markers[1]
        // The prefilter words are read for the standby, which may be written; the live
        // generation's only when its maps hold the revision (then they decide whether it is in
        // force), or for a verify. Each generation's words are half of a 2^15-word array.
        // The maps are read on another thread while the policy is encoded on this one.
        let only = twins ? standby : nil, prefilterOf: [UInt8] = verify ? [0, 1] : [standby]
        var (desired, contents) = try overlapped({
            try encode()
        }, background: { [kernel] in
            try kernel.read(only: only, prefilterOf: prefilterOf)
        })
        try ensurePrograms(desired.programs)
        let encoded = clock.now
        let standbyPlan = GenerationPlan(desired: desired, current: contents[Int(standby)], generation: standby)
        // Read both and equal (e.g. both empty after a boot): one plan serves both as well.
        let same = twins || contents[0].maps == contents[1].maps
        var livePlan = GenerationPlan(desired: desired, current: contents[Int(live)], generation: live, twin: same ? standbyPlan : nil)
        if contents[Int(live)].prefilter == nil && livePlan.isEmpty {
            contents[Int(live)].prefilter = try kernel.prefilterWords(of: live)
            livePlan = GenerationPlan(desired: desired, current: contents[Int(live)], generation: live, twin: livePlan)
        }
        let planned = clock.now

        // The data path first: slots and links that differ are put back.
        let programSlots = try slots.repair(slotFindings)
        let links = try attacher.repairLinks(linkFindings)

        var switched = false
        var switchTime = Duration.zero, flipTime = Duration.zero, inForce = Duration.zero
        var standbyWrites = 0
        // A switch whose wait was left to this apply (or never finished): no packet of the
        // generation about to be written may still be running on it.
        if !standbyPlan.isEmpty { try kernel.finishInterruptedSwitch() }
        if !livePlan.isEmpty {
            // Not in force: write the standby generation (read by no packet now) by its delta,
            // then flip. A standby that holds the revision already (a rollback to the previous
            // one) is only stamped.
            if !standbyPlan.isEmpty {
                try kernel.markIncomplete(standby)
                try kernel.write(standbyPlan)
            }
            try kernel.markComplete(standby, revision: revision, digest: digest)
            let flip = clock.now
            flipTime = try kernel.switchTo(standby, revision: revision)
            inForce = flip - start + flipTime
            switchTime = clock.now - flip
            switched = true
            if liveMarker.digest == digest {
                // Its marker claimed this content, yet it differed (drift, found by a verify or
                // a full read): it no longer claims anything, so the next switch rewrites it.
                try kernel.markIncomplete(live)
            }
            // Otherwise the old generation keeps the previous revision, and its marker says so:
            // the next apply that switches writes it by its delta (after the wait for packets
            // still running on it, which the switching marker leaves to that apply), and a
            // rollback to that revision finds it written already.
        } else {
            // In force already (a verify, lost markers, an apply after a crash past the switch):
            // the live generation was just compared whole with the revision, so its marker may
            // say so. The standby generation is left to the next switch, unless its marker
            // claims this content: a marker with a digest is trusted, so it must be true.
            if markers[Int(standby)].digest == digest && !standbyPlan.isEmpty {
                try kernel.markIncomplete(standby)
                try kernel.write(standbyPlan)
                standbyWrites = standbyPlan.entries
                try kernel.markComplete(standby, revision: revision, digest: digest)
            }
            try kernel.markComplete(live, revision: revision, digest: digest)
        }
        try kernel.writeMeta(UInt64(bitPattern: revision), at: MapNames.metaRevision)

        let written = clock.now
        // What changed for packets: the differences between the generation that was in force and
        // the one in force now (none when no switch was needed).
        var report = ApplyReport(
            revision: revision, previousRevision: previous, maps: Self.counts(livePlan, prefilter: contents[Int(live)].prefilter == nil ? standbyPlan : livePlan),
            encodeMicros: Self.micros(encoded - start), readMicros: Self.micros(planned - encoded),
            writeMicros: Self.micros(written - planned))
        report.switched = switched
        report.verified = verify
        report.generation = Int(switched ? standby : live)
        report.standbyWrites = standbyWrites
        report.programSlots = programSlots
        report.links = links
        report.switchMicros = Self.micros(switchTime)
        report.flipMicros = Self.micros(flipTime)
        report.inForceMicros = Self.micros(inForce)
        logger.info("applied", metadata: [
            "revision.id": "\(revision)", "apply.writes": "\(report.writes)", "apply.switched": "\(switched)",
            "apply.standby_writes": "\(standbyWrites)", "apply.encode_us": "\(report.encodeMicros)",
            "apply.read_us": "\(report.readMicros)", "apply.write_us": "\(report.writeMicros)",
            "apply.switch_us": "\(report.switchMicros)", "apply.verified": "\(verify)",
        ])
        return report
    }

    /// Loads (and puts in their slots) the built-in programs `needed` names that are not pinned
    /// yet — after a boot restore that loaded only the entries — before any map names their slots.
    func ensurePrograms(_ needed: [Hook: Set<String>]) throws {
        guard needed.contains(where: { hook, names in names.contains { !Sys.exists(layout.prog(hook, $0)) } }) else { return }
        let directory = try ObjectDiscovery.locate(explicit: bpfDir, environment: Sys.environment())
        try Loader(layout: layout, bpfDir: directory, logDirectory: logDirectory, logger: logger).ensureLoaded(only: needed)
    }

    /// Per managed map, the counts of `plan`, in the report's order; then, with the prefilter
    /// on, the word counts of `words`: the live generation's own plan when its words were read,
    /// else the plan of the generation switched to (a key's bit depends on its generation, so
    /// the words of two generations do not compare).
    static func counts(_ plan: GenerationPlan, prefilter words: GenerationPlan) -> [MapCounts] {
        let hooks = Hook.allCases.sorted { $0.rawValue > $1.rawValue }
        return plan.maps.map { MapCounts(map: $0.map.name, added: $0.add.count, removed: $0.remove.count, changed: $0.change.count) }
            + hooks.compactMap { hook in words.prefilter[hook].map { MapCounts(map: Prefilter.mapName(hook), added: 0, removed: 0, changed: $0.count) } }
    }

    /// Every managed map with zero counts (the fast path's report).
    static func unchangedMaps(prefilter: Bool) -> [MapCounts] {
        let hooks = Hook.allCases.sorted { $0.rawValue > $1.rawValue }
        return MapID.all.map { MapCounts(map: $0.name, added: 0, removed: 0, changed: 0) }
            + (prefilter ? hooks.map { MapCounts(map: Prefilter.mapName($0), added: 0, removed: 0, changed: 0) } : [])
    }

    static func micros(_ d: Duration) -> Int64 { d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 }

    // MARK: - Internals

    var attacher: Attacher { Attacher(layout: layout, logger: logger) }

    func requireRoot(_ operation: String) throws {
        let uid = Sys.effectiveUID()
        guard uid == 0 else { throw ApplyError.notRoot(operation: operation, uid: uid) }
    }

    /// The prefilter map of each hook.
    func openPrefilters() throws -> [Hook: PinnedMap] {
        var maps: [Hook: PinnedMap] = [:]
        for hook in Hook.allCases { maps[hook] = try PinnedMap(path: layout.map(Prefilter.mapName(hook)), name: Prefilter.mapName(hook)) }
        return maps
    }

    /// The policy maps of both generations.
    func policyMaps() throws -> PolicyMaps { try PolicyMaps(layout: layout, prefilter: prefilter) }

    /// What the live generation holds (neutral keys), and which generation that is.
    func liveContents() throws -> GenerationContents {
        let maps = try policyMaps()
        let live = try maps.liveGeneration()
        return try maps.read(prefilterOf: [live])[Int(live)]
    }
}
