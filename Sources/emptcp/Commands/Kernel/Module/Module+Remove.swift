import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp.Module {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a module: refused while the current revision uses it; clears its slot and unpins it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The module's name.", valueName: "name")) var name: String

        func run() throws {
            let session = DataPlaneSession(global: global)
            try session.moduleManager().remove(name: name, catalog: try session.openStore())
            Console.print("module \(name) removed")
        }
    }
}
