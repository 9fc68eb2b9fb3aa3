import CLibbpf
import EmptcpStore
import Foundation
import Logging

/// What module management needs from the policy store; `PolicyStore` is one (its addModule and
/// removeModule audit their own outcome, refusals included). Tests use an in-memory catalog.
public protocol ModuleCatalog {
    func modules() throws -> [ModuleRecord]
    func addModule(_ m: ModuleRecord) throws
    /// Refused (throws) while the current revision's policy uses the module.
    func removeModule(name: String) throws
    func recordAudit(action: String, revision: Int64?, outcome: AuditOutcome, detail: String) throws
}

extension PolicyStore: ModuleCatalog {}

/// Why a module operation was refused or failed; one line each.
public enum ModuleError: Error, CustomStringConvertible, Sendable {
    case invalidName(String, reason: String)
    case alreadyExists(String)
    case unknown(String)
    case noProgram(object: String, hook: Hook, found: [String])
    case noFreeSlot(hook: Hook, array: String)
    case notLoaded(name: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let n, let why): "module name \(n): \(why)"
        case .alreadyExists(let n): "module \(n) already exists (remove it first)"
        case .unknown(let n): "no module named \(n)"
        case .noProgram(let o, let h, let found):
            "\(o) has no single \(h == .xdp ? "XDP" : "TC (SEC \"tc\")") program (found: \(found.isEmpty ? "none" : found.joined(separator: ", ")))"
        case .noFreeSlot(let h, let a):
            "no free slot in \(a) on \(h.rawValue) (slots \(EMPTCP_FIRST_MODULE_SLOT)..<\(EMPTCP_PROG_SLOTS) are all taken)"
        case .notLoaded(let n, let why): "module \(n) is not loaded: \(why)"
        }
    }
}

/// A module as `module list` shows it: the store's record and whether the kernel holds it.
public struct ModuleStatus: Sendable, Codable, Hashable {
    public let name: String
    public let hook: Hook
    public let kind: ModuleKind
    public let slot: Int
    public let objectPath: String
    public let addedAt: Date
    /// Pinned and in its slot of the program array.
    public let loaded: Bool
    /// The kernel program id in the slot, when loaded.
    public let programID: UInt32?

    enum CodingKeys: String, CodingKey {
        case name, hook, kind, slot, objectPath = "object_path", addedAt = "added_at", loaded, programID = "program_id"
    }
}

/// Hot-plugs operator modules into free program-array slots (>= EMPTCP_FIRST_MODULE_SLOT) of a
/// running data plane, without detaching anything: the entry programs keep running and only one
/// program-array slot changes. Layout:
///
///     <pin root>/progs/<hook>/mod_<name>         the module's program
///     <module directory>/<name>.o                 a private copy of the object (boot restore)
///     <log directory>/verifier-<hook>-mod_<name>.log   the verifier log of a rejected load
public struct ModuleManager: Sendable {
    public let pinRoot: String
    public let moduleDirectory: String
    public let logDirectory: String
    public let logger: Logger
    let layout: PinLayout

    public init(pinRoot: String, moduleDirectory: String, logDirectory: String, logger: Logger) {
        self.pinRoot = pinRoot
        self.moduleDirectory = moduleDirectory
        self.logDirectory = logDirectory
        self.logger = logger
        self.layout = PinLayout(root: pinRoot)
    }

    /// Names of built-in programs a module may not shadow.
    static let reserved: Set<String> = Set(ActorCall.builtinNames + ["tcp", "tcp2", "tcp4", "entry", "pass"])

    /// The store's naming rule (so the policy file can name the module), minus built-in names.
    static func validate(name: String) throws {
        guard PolicyValidator.isValidName(name) else {
            throw ModuleError.invalidName(name, reason: "use letters, digits, _ and - (at most 64), starting with a letter or _")
        }
        guard !reserved.contains(name) else { throw ModuleError.invalidName(name, reason: "is a built-in name") }
    }

    func arrayName(_ hook: Hook, _ kind: ModuleKind) -> String {
        kind == .selector ? MapNames.selectors(hook) : MapNames.actions(hook)
    }

    func pinPath(_ hook: Hook, _ name: String) -> String { layout.prog(hook, "mod_" + name) }

    // MARK: - add

    /// Verifies `objectPath` (loads it with the shared map pin directory, so its pinned-by-name
    /// maps are emptcp's), plugs it into a free slot, pins it and records it in the catalog.
    @discardableResult
    public func add(objectPath: String, hook: Hook, name: String, kind: ModuleKind, catalog: ModuleCatalog) throws -> ModuleRecord {
        try addChecked(objectPath: objectPath, hook: hook, name: name, kind: kind, catalog: catalog)
    }

    /// Failures before the store is written (verifier, slots, files) are audited here as
    /// `module-add` failed; the store audits its own outcome.
    private func auditFailure(_ catalog: ModuleCatalog, _ detail: String) {
        try? catalog.recordAudit(action: "module-add", revision: nil, outcome: .failed, detail: detail)
    }

    private func addChecked(objectPath: String, hook: Hook, name: String, kind: ModuleKind, catalog: ModuleCatalog) throws -> ModuleRecord {
        do {
            try Self.validate(name: name)
        } catch {
            auditFailure(catalog, "\(name) on \(hook.rawValue): \(error)")
            throw error
        }
        let existing = try catalog.modules()
        let copy = "\(moduleDirectory)/\(name).o"
        let slot: Int
        do {
            guard !existing.contains(where: { $0.name == name }) else { throw ModuleError.alreadyExists(name) }
            guard Sys.exists(layout.map(arrayName(hook, kind))) else { throw ApplyError.notLoaded(pinRoot: pinRoot) }
            guard !Sys.exists(pinPath(hook, name)) else { throw ModuleError.alreadyExists(name) }
            slot = try freeSlot(hook, kind, existing)
            // Keep a private copy: a boot restore must not depend on the operator's file.
            let bytes = try Sys.readFile(objectPath)
            try Sys.makeDirectories(moduleDirectory)
            try Sys.writeFileAtomically(copy, bytes)
        } catch {
            auditFailure(catalog, "\(name) on \(hook.rawValue): \(error)")
            throw error
        }

        let record = ModuleRecord(name: name, hook: hook, kind: kind, objectPath: copy, slot: slot)
        do {
            try plug(record, source: objectPath)
        } catch {
            try? Sys.unlinkFile(copy)
            auditFailure(catalog, "\(name) on \(hook.rawValue): \(error)")
            throw error
        }
        do {
            try catalog.addModule(record)
        } catch {
            unplug(record)
            try? Sys.unlinkFile(copy)
            throw error
        }
        logger.info("module added", metadata: ["module.name": "\(name)", "bpf.hook": "\(hook.rawValue)", "prog_array.slot": "\(slot)"])
        return record
    }

    /// The lowest slot >= EMPTCP_FIRST_MODULE_SLOT that is empty in the kernel and not recorded.
    func freeSlot(_ hook: Hook, _ kind: ModuleKind, _ existing: [ModuleRecord]) throws -> Int {
        let taken = Set(existing.filter { $0.hook == hook && $0.kind == kind }.map(\.slot))
        let array = try PinnedMap(path: layout.map(arrayName(hook, kind)), name: arrayName(hook, kind))
        for candidate in Int(EMPTCP_FIRST_MODULE_SLOT)..<Int(EMPTCP_PROG_SLOTS) where !taken.contains(candidate) {
            if try array.lookup(MapEncoder.u32(UInt32(candidate))) == nil { return candidate }
        }
        throw ModuleError.noFreeSlot(hook: hook, array: arrayName(hook, kind))
    }

    /// Loads the record's object, pins its program and writes the slot. The slot write is the
    /// only change the running chains see.
    func plug(_ record: ModuleRecord, source: String? = nil) throws {
        let hook = record.hook
        let shown = source ?? record.objectPath
        let wanted: bpf_prog_type = hook == .xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS
        let loader = ObjectLoader(mapPins: layout.maps, logDirectory: logDirectory, logger: logger)
        try loader.load(record.objectPath, shown: shown, logName: "\(hook.rawValue)-mod_\(record.name)") { all in
            let matching = all.filter { $0.type == wanted }
            guard matching.count == 1 else { throw ModuleError.noProgram(object: shown, hook: hook, found: all.map(\.name)) }
            return matching[0].name
        } use: { loaded in
            guard let program = loaded.first else { throw ModuleError.noProgram(object: shown, hook: hook, found: []) }
            try install(program, record)
        }
    }

    /// Pins a loaded module program and points its slot at it; the pin goes again when the slot
    /// write fails.
    private func install(_ program: Sys.ObjectProgram, _ record: ModuleRecord) throws {
        let hook = record.hook
        try Sys.makeDirectory(layout.progs)
        try Sys.makeDirectory(layout.progDirectory(hook))
        let pin = pinPath(hook, record.name)
        try? Sys.unlinkFile(pin)
        try Sys.pinBorrowed(fd: program.fd, pin)
        do {
            let array = try PinnedMap(path: layout.map(arrayName(hook, record.kind)), name: arrayName(hook, record.kind))
            try array.update(MapEncoder.u32(UInt32(record.slot)), MapEncoder.u32(UInt32(bitPattern: program.fd)))
        } catch {
            try? Sys.unlinkFile(pin)
            throw error
        }
    }

    /// Clears the slot (only when it still holds this module's program) and unpins.
    func unplug(_ record: ModuleRecord) {
        let pin = pinPath(record.hook, record.name)
        if let array = try? PinnedMap(path: layout.map(arrayName(record.hook, record.kind)), name: arrayName(record.hook, record.kind)) {
            let key = MapEncoder.u32(UInt32(record.slot))
            if let ours = try? programID(pin), let current = try? slotProgramID(array, record.slot), current == ours {
                try? array.delete(key)
            } else if !Sys.exists(pin) {
                // Program gone already (e.g. after a reboot with a stale slot): nothing to compare.
            }
        }
        try? Sys.unlinkFile(pin)
    }

    func programID(_ pin: String) throws -> UInt32 {
        try Sys.programInfo(Sys.objectGet(pin), pin).id
    }

    func slotProgramID(_ array: PinnedMap, _ slot: Int) throws -> UInt32? {
        guard let value = try array.lookup(MapEncoder.u32(UInt32(slot))) else { return nil }
        return value.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    // MARK: - remove

    /// Removes a module: refused (by the catalog) while the current revision uses it; then the
    /// slot is cleared and the program unpinned.
    public func remove(name: String, catalog: ModuleCatalog) throws {
        guard let record = try catalog.modules().first(where: { $0.name == name }) else {
            // Let the catalog refuse it too, so the failure is audited where the store audits.
            try catalog.removeModule(name: name)
            throw ModuleError.unknown(name)
        }
        // The store refuses (and audits) while the current revision uses the module; only then
        // does the kernel change.
        try catalog.removeModule(name: name)
        unplug(record)
        try? Sys.unlinkFile(record.objectPath)
        logger.info("module removed", metadata: ["module.name": "\(name)", "bpf.hook": "\(record.hook.rawValue)"])
    }

    // MARK: - list / restore

    public func list(catalog: ModuleCatalog) throws -> [ModuleStatus] {
        try catalog.modules().sorted { ($0.hook, $0.kind.rawValue, $0.slot) < ($1.hook, $1.kind.rawValue, $1.slot) }.map(status)
    }

    func status(_ r: ModuleRecord) -> ModuleStatus {
        var id: UInt32?
        if let ours = try? programID(pinPath(r.hook, r.name)),
           let array = try? PinnedMap(path: layout.map(arrayName(r.hook, r.kind)), name: arrayName(r.hook, r.kind)),
           let current = try? slotProgramID(array, r.slot), current == ours {
            id = ours
        }
        return ModuleStatus(name: r.name, hook: r.hook, kind: r.kind, slot: r.slot, objectPath: r.objectPath,
                            addedAt: r.addedAt, loaded: id != nil, programID: id)
    }

    /// Boot restore: plugs every recorded module that is not loaded into its recorded slot. Call
    /// after the built-in programs and maps are loaded (the applier's `apply --boot`). Returns the
    /// modules it loaded; a module that fails is logged and reported in the error thrown at the
    /// end, after the others were tried.
    @discardableResult
    public func restore(catalog: ModuleCatalog) throws -> [ModuleRecord] {
        var loaded: [ModuleRecord] = []
        var failures: [String] = []
        for record in try catalog.modules() where !status(record).loaded {
            do {
                unplug(record)
                try plug(record)
                loaded.append(record)
                logger.info("module restored", metadata: ["module.name": "\(record.name)", "prog_array.slot": "\(record.slot)"])
            } catch {
                logger.error("module restore failed", metadata: ["module.name": "\(record.name)", "error": "\(error)"])
                failures.append("\(record.name): \(error)")
            }
        }
        if !failures.isEmpty {
            throw ModuleError.notLoaded(name: failures.count == 1 ? String(failures[0].prefix { $0 != ":" }) : "\(failures.count) modules",
                                        reason: failures.joined(separator: "; "))
        }
        return loaded
    }
}
