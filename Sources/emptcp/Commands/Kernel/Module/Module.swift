import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp {
    struct Module: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "module",
            abstract: "Hot-plug operator BPF modules into free program-array slots of the running chains.",
            subcommands: [Add.self, List.self, Remove.self, Restore.self])
    }
}

extension Hook: ExpressibleByArgument {}
extension ModuleKind: ExpressibleByArgument {}
