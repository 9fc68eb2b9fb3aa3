import ArgumentParser
import Foundation

/// The root command is only configuration: each subcommand lives in its own file.
@main
struct Emptcp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emptcp",
        abstract: "Steer MPTCP connections with eBPF policy chains kept in a versioned store.",
        subcommands: [
            Commit.self, Confirm.self, Rollback.self, Log.self, Show.self, Diff.self, Audit.self,
            Attach.self, Detach.self, Apply.self, Status.self,
            Events.self, Stats.self, Module.self, Daemon.self,
        ]
    )

    /// Usage errors (unknown option, missing argument, a failed `validate()`) exit 2 with one line,
    /// as design §4 asks; ArgumentParser alone would exit 64 and print the whole usage text.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "usage error"
                FileHandle.standardError.write(Data("emptcp: \(message) (see emptcp --help)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
