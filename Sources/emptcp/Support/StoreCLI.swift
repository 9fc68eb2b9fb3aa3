import ArgumentParser
import EmptcpStore
import Foundation
import Logging

/// Plumbing shared by the store commands (commit, confirm, rollback, log, show, diff, audit):
/// opening the store, one-line errors with design §4 exit codes, and output helpers.
enum StoreCLI {
    /// stderr logger; EMPTCP_LOG_LEVEL (default warning).
    static func logger() -> Logger {
        var logger = Logger(label: "emptcp.store", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = ProcessInfo.processInfo.environment["EMPTCP_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// The one way every command opens the store. Opening rolls back a `--confirm` commit whose
    /// deadline has passed (PolicyStore.init); the timer process should have done that, so when
    /// it did not (killed, reboot) the kernel follows here: the rollback is applied when our
    /// programs are attached. Messages go to stderr so a command's own output (`--json`) stays clean.
    static func open(_ global: GlobalOptions, logger: Logger) throws -> PolicyStore {
        let store = try PolicyStore(path: global.db, logger: logger)
        for r in store.expiredOnOpen {
            warn("emptcp: revision \(r.parent ?? 0) was not confirmed in time; rolled back as revision \(r.id)")
        }
        if !store.expiredOnOpen.isEmpty { _ = applyIfAttached(store, global, logger: logger, say: warn) }
        return store
    }

    /// Runs a command body; a `StoreError` becomes `emptcp <command>: <message>` on stderr and
    /// exit 2 (bad input) or 1 (failure).
    static func run(_ command: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as StoreError {
            warn("emptcp \(command): \(error)")
            throw ExitCode(error.exitCode)
        } catch let error as ValidationError {
            warn("emptcp \(command): \(error.message)")
            throw ExitCode(2)
        } catch let error as ExitCode {
            throw error
        } catch {
            warn("emptcp \(command): \(error)")
            throw ExitCode.failure
        }
    }

    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// A revision number from the command line: positive integer.
    static func revisionArgument(_ text: String) throws -> Int64 {
        guard let v = Int64(text), v > 0 else { throw ValidationError("revision must be a positive integer, not \(text)") }
        return v
    }
}

/// Flags of the reading commands.
struct StoreOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false
}
