import ArgumentParser
import Foundation
import Logging

/// The database, the pin root and the log level (-v/-q): every subcommand takes them, and so does `emptcp` itself before
/// the subcommand (`emptcp --pin-root X status`). The command line wins over the environment.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("Policy database (env EMPTCP_DB).", valueName: "path"))
    var dbOption: String?

    @Option(name: .customLong("pin-root"), help: ArgumentHelp("bpffs directory for pinned maps and programs (env EMPTCP_PIN_ROOT).", valueName: "dir"))
    var pinRootOption: String?

    @Flag(name: .shortAndLong, help: "More detail on stderr: -v info, -vv debug, -vvv trace (env EMPTCP_LOG_LEVEL; default warning).")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    func validate() throws {
        if quiet && verbose > 0 { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    /// The log level these flags (or EMPTCP_LOG_LEVEL) ask for; `fallback` when neither does.
    func logLevel(fallback: Logger.Level) -> Logger.Level {
        CLILogging.level(verbose: verbose, quiet: quiet, environment: ProcessInfo.processInfo.environment, fallback: fallback)
    }

    var db: String {
        dbOption ?? ProcessInfo.processInfo.environment["EMPTCP_DB"] ?? "/var/lib/emptcp/emptcp.db"
    }

    var pinRoot: String {
        pinRootOption ?? ProcessInfo.processInfo.environment["EMPTCP_PIN_ROOT"] ?? "/sys/fs/bpf/emptcp"
    }

    /// The values a parsed command holds in its `@OptionGroup var global`. Commands declare the
    /// group themselves (no common protocol), so `main` finds it by reflection, in one place.
    static func of(_ command: ParsableCommand) -> GlobalOptions? {
        Mirror(reflecting: command).children.lazy.compactMap { ($0.value as? OptionGroup<GlobalOptions>)?.wrappedValue }.first
    }
}
