import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp.Module {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Modules in the store and whether the kernel holds them.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let session = DataPlaneSession(global: global)
            let modules = try session.moduleManager().list(catalog: try session.openStore(.existing))
            if output.json { return Console.print(try Console.document(["modules": modules])) }
            if modules.isEmpty { return Console.print("no modules") }
            for m in modules {
                let state = m.loaded ? "loaded (prog \(m.programID.map(String.init) ?? "?"))" : "not loaded"
                Console.print("\(m.name)\t\(m.hook.rawValue)\t\(m.kind.rawValue)\tslot \(m.slot)\t\(state)\t\(m.objectPath)")
            }
        }
    }
}
