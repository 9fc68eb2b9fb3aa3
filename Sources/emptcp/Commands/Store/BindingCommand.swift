import ArgumentParser
import EmptcpStore

extension Emptcp {
    /// `emptcp binding add|set|remove`: one binding changed without re-reading the policy file.
    struct BindingCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "binding",
            abstract: "Add, re-point or remove one binding as a new revision (validated and audited like commit); applied if attached.",
            discussion: """
                The flags spell the binding as a policy file line does: --hook and --selector, the flow key \
                (tcp: none; tcp2: --local and --remote; tcp4: also --local-port and --remote-port) and, for \
                add and set, --chain. Only the named binding is read and written, so the cost does not grow \
                with the policy. Validation errors print as one line and exit 2.
                """,
            subcommands: [Add.self, Set.self, Remove.self])
    }
}
