import ArgumentParser
import EmptcpApply
import EmptcpStore
import Foundation
import Logging

/// Options of the commands that touch the kernel.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("bpf-dir"), help: "Directory of the built BPF objects (env EMPTCP_BPF_DIR; default: the build tree, then /usr/local/lib/emptcp/bpf).")
    var bpfDir: String?
}

/// Shared plumbing of attach / detach / apply / status: the logger, the applier, the store, and
/// one-line failures.
enum Kernel {
    /// The executable's logger: stderr, level from EMPTCP_LOG_LEVEL (default warning).
    static func logger() -> Logger {
        var logger = Logger(label: "emptcp", factory: { StreamLogHandler.standardError(label: $0) })
        let level = ProcessInfo.processInfo.environment["EMPTCP_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .warning
        return logger
    }

    static func applier(_ global: GlobalOptions, bpfDir: String?, logger: Logger) -> Applier {
        let dbDirectory = (global.db as NSString).deletingLastPathComponent
        let logDirectory = FileManager.default.fileExists(atPath: dbDirectory) ? dbDirectory : nil
        return Applier(pinRoot: global.pinRoot, bpfDir: bpfDir, logDirectory: logDirectory, logger: logger)
    }

    static func store(_ global: GlobalOptions, logger: Logger) throws -> PolicyStore {
        try PolicyStore(path: global.db, logger: logger)
    }

    /// Operator module slots recorded in the store, as the encoder needs them.
    static func moduleSlots(_ store: PolicyStore) throws -> ModuleSlots {
        var slots = ModuleSlots()
        for module in try store.modules() {
            switch module.kind {
            case .selector: slots.selectors[module.hook, default: [:]][module.name] = UInt8(clamping: module.slot)
            case .actor: slots.actors[module.hook, default: [:]][module.name] = UInt8(clamping: module.slot)
            }
        }
        return slots
    }

    /// Applies the store's current revision and audits it; nil when no revision exists yet.
    @discardableResult
    static func applyCurrent(_ applier: Applier, _ store: PolicyStore, _ global: GlobalOptions) throws -> (Revision, ApplyReport)? {
        guard let revision = try store.currentRevision() else { return nil }
        do {
            // Attach loads only the built-in programs: put the recorded operator modules back in
            // their slots first, so a chain that names one never meets an empty slot.
            if try !store.modules().isEmpty {
                _ = try Emptcp.Module.manager(global).restore(catalog: store)
            }
            let policy = try store.policy(at: revision.id)
            let report = try applier.apply(policy: policy, revision: revision.id, modules: try moduleSlots(store))
            try store.recordAudit(action: "apply", revision: revision.id, outcome: .ok, detail: report.summary)
            LiveRepairHook.afterApply(store, revision: revision.id, policy: policy, report: report)
            return (revision, report)
        } catch {
            try? store.recordAudit(action: "apply", revision: revision.id, outcome: .failed, detail: "\(error)")
            throw error
        }
    }

    /// Prints `emptcp <command>: <error>` as one line on stderr and exits 1.
    static func fail(_ command: String, _ error: Error) -> ExitCode {
        FileHandle.standardError.write(Data("emptcp \(command): \(error)\n".utf8))
        return ExitCode.failure
    }

    /// Prints `emptcp <command>: <message>` on stderr and exits 2 (usage error).
    static func usage(_ command: String, _ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("emptcp \(command): \(message)\n".utf8))
        return ExitCode(2)
    }

    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
