import CLibbpf
import Dispatch
import EmptcpStore
import Logging
import Synchronization

/// Loads the BPF objects of both hooks once per pin root: opens each object with the shared map
/// pin directory, loads it, pins its program, fills the hook's program arrays by slot and stamps
/// the ABI version into emptcp_meta. Objects already pinned are not loaded again.
package struct Loader {
    let layout: PinLayout
    let bpfDir: String
    let logDirectory: String
    let logger: Logger

    /// Built-in selector objects and their slot in `emptcp_<h>_sels` (abi.h).
    package static let selectorSlots: [String: UInt32] = [
        "sel_tcp": EMPTCP_SEL_TCP.rawValue, "sel_tcp2": EMPTCP_SEL_TCP2.rawValue, "sel_tcp4": EMPTCP_SEL_TCP4.rawValue,
    ]
    /// Built-in actor objects and their slot in `emptcp_<h>_acts` (abi.h).
    package static let actorSlots: [String: UInt32] = [
        "set_recv_win": EMPTCP_ACT_SET_RECV_WIN.rawValue, "set_flow_prio": EMPTCP_ACT_SET_FLOW_PRIO.rawValue,
        "rm_add_addr": EMPTCP_ACT_RM_ADD_ADDR.rawValue, "recover_add_addr": EMPTCP_ACT_RECOVER_ADD_ADDR.rawValue,
        "record": EMPTCP_ACT_RECORD.rawValue, "catch_mptcp_events": EMPTCP_ACT_CATCH_MPTCP_EVENTS.rawValue,
    ]
    /// The entry program: attached to the interface, never in a program array.
    static let entry = "entry"
    /// Built for benchmarks only; emptcp never loads it.
    static let ignored: Set<String> = ["pass"]

    /// The object names of a hook found in the build directory, entry first.
    func objectNames(_ hook: Hook) throws -> [String] {
        let dir = "\(bpfDir)/\(hook.rawValue)"
        let names = Sys.listDirectory(dir).filter { $0.hasSuffix(".o") }.map { String($0.dropLast(2)) }
        guard names.contains(Self.entry) else { throw ApplyError.objectMissing(hook: hook.rawValue, name: Self.entry, directory: dir) }
        let known = names.filter { Self.selectorSlots[$0] != nil || Self.actorSlots[$0] != nil }
        for other in names where other != Self.entry && !known.contains(other) && !Self.ignored.contains(other) {
            logger.debug("object has no built-in slot; not loaded", metadata: ["bpf.object": "\(hook.rawValue)/\(other).o"])
        }
        return [Self.entry] + known.sorted()
    }

    /// True when both entry programs and the maps are pinned.
    static func isLoaded(_ layout: PinLayout) -> Bool {
        Hook.allCases.allSatisfy { hook in Sys.exists(layout.prog(hook, entry)) } && Sys.exists(layout.map(MapNames.meta))
    }

    /// Loads and pins every object not pinned yet, fills the program arrays, stamps the ABI.
    ///
    /// At boot (an empty bpffs) this is the fixed cost of a restore, almost all of it the
    /// verifier's work: the two entry programs take most of it, each on one CPU (none of the
    /// objects has a CO-RE relocation, so libbpf never reads the kernel's BTF). Steps, each
    /// timed in the debug log:
    /// 1. maps: when a hook's entry is to be loaded (or its maps are not pinned), its entry
    ///    object is first loaded with no program, which creates and pins every map of that hook
    ///    and the shared ones not pinned yet (no verifier work, a few milliseconds). Only the objects of `record` and
    ///    `recover_add_addr` declare maps of their own, and no other object declares those.
    /// 2. programs: every object not pinned yet, the entries first (the longest verifications
    ///    start first), on as many threads as there are CPUs; each object only reuses pinned
    ///    maps, so none races another to create one. An object whose program is already pinned
    ///    is not opened at all.
    /// 3. slots and ABI: the program arrays point at the pins, emptcp_meta holds the ABI.
    ///
    /// - Parameter only: per hook, the objects to load besides the entry (nil: every object with
    ///   a built-in slot). A boot restore loads the entries alone and lets the apply that follows
    ///   load what its revision names (`Applier.ensurePrograms`); `attach` loads them all.
    func ensureLoaded(only: [Hook: Set<String>]? = nil) throws {
        try LegacyNames.refuseOldPins(layout)
        let fresh = !Sys.exists(layout.progs)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try Sys.makeDirectory(layout.maps)
            try Sys.makeDirectory(layout.progs)
            let hooks = Hook.allCases.sorted(by: { $0.rawValue > $1.rawValue })
            var pending: [(hook: Hook, name: String)] = []
            for hook in hooks {
                try Sys.makeDirectory(layout.progDirectory(hook))
                let names = only?[hook] ?? []
                let wanted = try objectNames(hook).filter { name in name == Self.entry || only == nil || names.contains(name) }
                pending += wanted.filter { !Sys.exists(layout.prog(hook, $0)) }.map { (hook, $0) }
            }
            guard !pending.isEmpty else {
                for hook in hooks { try fillProgramArrays(hook) }
                try stampABI()
                return
            }
            for hook in hooks where pending.contains(where: { $0.hook == hook && $0.name == Self.entry }) || !mapsPinned(hook) {
                try createMaps(hook)
            }
            let mapsReady = clock.now
            let ordered = pending.filter { $0.name == Self.entry } + pending.filter { $0.name != Self.entry }
            try loadInParallel(ordered)
            let programsReady = clock.now
            for hook in hooks { try fillProgramArrays(hook) }
            try stampABI()
            logger.debug("objects loaded", metadata: [
                "bpf.objects": "\(pending.count)", "bpf.maps_us": "\(Applier.micros(mapsReady - start))",
                "bpf.programs_us": "\(Applier.micros(programsReady - mapsReady))",
                "bpf.slots_us": "\(Applier.micros(clock.now - programsReady))", "bpf.total_us": "\(Applier.micros(clock.now - start))",
            ])
        } catch {
            if fresh { Unpinner(layout: layout).removeLoaded() }
            throw error
        }
    }

    /// True when the maps of `hook` are pinned (its program arrays and the shared bookkeeping
    /// stand for all of them: its entry's load pinned them together).
    private func mapsPinned(_ hook: Hook) -> Bool {
        [MapNames.selectors(hook), MapNames.actions(hook), MapNames.meta].allSatisfy { Sys.exists(layout.map($0)) }
    }

    /// Step 1 of `ensureLoaded`: the maps of `hook` and the shared ones, from its entry object.
    private func createMaps(_ hook: Hook) throws {
        let path = "\(bpfDir)/\(hook.rawValue)/\(Self.entry).o"
        let loader = ObjectLoader(mapPins: layout.maps, logDirectory: logDirectory, logger: logger)
        try loader.createMaps(path, shown: "\(hook.rawValue)/\(Self.entry).o", logName: "\(hook.rawValue)-\(Self.entry)-maps")
    }

    /// Loads `objects` on as many threads as there are CPUs; the first failure (in the
    /// objects' order) is thrown once all have finished.
    private func loadInParallel(_ objects: [(hook: Hook, name: String)]) throws {
        guard objects.count > 1 else {
            for object in objects { try load(object.hook, object.name) }
            return
        }
        let failures = Mutex<[Int: any Error]>([:])
        DispatchQueue.concurrentPerform(iterations: objects.count) { index in
            do {
                try load(objects[index].hook, objects[index].name)
            } catch {
                failures.withLock { $0[index] = error }
            }
        }
        if let first = failures.withLock({ $0.min { $0.key < $1.key }?.value }) { throw first }
    }

    private func load(_ hook: Hook, _ name: String) throws {
        let path = "\(bpfDir)/\(hook.rawValue)/\(name).o"
        let loader = ObjectLoader(mapPins: layout.maps, logDirectory: logDirectory, logger: logger)
        try loader.load(path, shown: "\(hook.rawValue)/\(name).o", logName: "\(hook.rawValue)-\(name)") { programs in
            guard let program = programs.first else {
                throw ApplyError.system(SystemError(operation: "bpf_object__next_program", object: path, code: 2 /* ENOENT */))
            }
            try Sys.pinBorrowed(fd: program.fd, layout.prog(hook, name))
        }
    }

    /// Points every built-in slot at its pinned program (idempotent).
    private func fillProgramArrays(_ hook: Hook) throws {
        let selectors = try PinnedMap(path: layout.map(MapNames.selectors(hook)), name: MapNames.selectors(hook))
        let actions = try PinnedMap(path: layout.map(MapNames.actions(hook)), name: MapNames.actions(hook))
        for name in Sys.listDirectory(layout.progDirectory(hook)) {
            let target: PinnedMap
            let slot: UInt32
            if let s = Self.selectorSlots[name] { (target, slot) = (selectors, s) }
            else if let s = Self.actorSlots[name] { (target, slot) = (actions, s) }
            else { continue }
            let program = try Sys.objectGet(layout.prog(hook, name))
            try target.update(MapEncoder.u32(slot), MapEncoder.u32(UInt32(bitPattern: program.raw)))
        }
    }

    private func stampABI() throws {
        let meta = try PinnedMap(path: layout.map(MapNames.meta), name: MapNames.meta)
        let found = try meta.readInteger(at: MapNames.metaABIVersion)
        let expected = UInt64(EMPTCP_ABI_VERSION)
        if found == 0 {
            try meta.writeInteger(expected, at: MapNames.metaABIVersion)
        } else if found != expected {
            throw ApplyError.abiMismatch(pinRoot: layout.root, found: found, expected: expected)
        }
    }
}

/// Removes emptcp's pins: links of one interface, or everything once nothing is attached.
struct Unpinner {
    let layout: PinLayout

    /// Unpins every program and map (the kernel frees them once no link holds them).
    func removeLoaded() {
        for hook in Hook.allCases {
            for name in Sys.listDirectory(layout.progDirectory(hook)) { try? Sys.unlinkFile(layout.prog(hook, name)) }
            try? Sys.removeDirectory(layout.progDirectory(hook))
        }
        try? Sys.removeDirectory(layout.progs)
        for name in Sys.listDirectory(layout.maps) { try? Sys.unlinkFile(layout.map(name)) }
        try? Sys.removeDirectory(layout.maps)
        try? Sys.removeDirectory(layout.links)
    }
}
