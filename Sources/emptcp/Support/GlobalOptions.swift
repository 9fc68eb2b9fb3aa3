import ArgumentParser
import Foundation

/// The database and the pin root: every subcommand takes them, and so does `emptcp` itself before
/// the subcommand (`emptcp --pin-root X status`). The command line wins over the environment.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("Policy database (env EMPTCP_DB).", valueName: "path"))
    var dbOption: String?

    @Option(name: .customLong("pin-root"), help: ArgumentHelp("bpffs directory for pinned maps and programs (env EMPTCP_PIN_ROOT).", valueName: "dir"))
    var pinRootOption: String?

    var db: String {
        dbOption ?? ProcessInfo.processInfo.environment["EMPTCP_DB"] ?? "/var/lib/emptcp/emptcp.db"
    }

    var pinRoot: String {
        pinRootOption ?? ProcessInfo.processInfo.environment["EMPTCP_PIN_ROOT"] ?? "/sys/fs/bpf/emptcp"
    }
}
