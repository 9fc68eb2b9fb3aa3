import ArgumentParser
import Foundation

/// The root command is configuration and the one error path: each subcommand lives in its own
/// file and throws; `main` turns what it throws into one stderr line and an exit code.
@main
struct Emptcp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emptcp",
        abstract: "Steer MPTCP connections with eBPF policy chains kept in a versioned store.",
        version: EmptcpVersion.string,
        subcommands: [
            Commit.self, Check.self, BindingCommand.self, Confirm.self, Rollback.self, Log.self, Show.self, Diff.self, Audit.self,
            Attach.self, Detach.self, Apply.self, Status.self,
            Events.self, Stats.self, Module.self, Daemon.self, Fleet.self,
        ]
    )

    /// Accepted before the subcommand too (`emptcp --pin-root X status`); every subcommand's own
    /// `global` group shares the parsed values.
    @OptionGroup var global: GlobalOptions

    /// Usage errors (unknown option, missing argument, a failed `validate()`) exit 2 with one
    /// line; ArgumentParser alone would exit 64 and print the whole usage text. Errors a command
    /// throws go through `ExitStatus`.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            let message = self.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "usage error"
            Console.error("emptcp: \(message) (see emptcp --help)")
            Foundation.exit(ExitStatus.usage)
        }
        let fallback = CLILogging.defaultLevel(for: command)
        CLILogging.bootstrap(level: GlobalOptions.of(command)?.logLevel(fallback: fallback)
            ?? CLILogging.level(verbose: 0, quiet: false, environment: ProcessInfo.processInfo.environment, fallback: fallback))
        do {
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // a group run without subcommand: help
            Foundation.exit(ExitStatus.report(error, command: ExitStatus.commandPath(type(of: command))))
        }
    }
}
