import ArgumentParser
import EmptcpApply
import EmptcpStore

extension Emptcp {
    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "detach",
            abstract: "Remove what emptcp attached to interfaces; other programs, qdiscs and filters stay.",
            discussion: "When no interface remains attached, emptcp's pinned programs and maps are removed too.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "Every interface emptcp is attached to.") var all = false
        @Argument(help: ArgumentHelp("Interfaces to detach.", valueName: "interface")) var interfaces: [String] = []

        func validate() throws {
            if all == !interfaces.isEmpty { throw ValidationError("name interfaces or pass --all (not both)") }
        }

        func run() throws {
            let session = DataPlaneSession(global: global)
            let applier = session.applier()
            let store = try session.openStore()
            var targets = interfaces
            if all {
                let recorded = (try? store.attachments().filter { $0.pinRoot == global.pinRoot }.map(\.iface)) ?? []
                targets = Array(Set(applier.attachedInterfaces() + recorded)).sorted()
            }
            for iface in targets {
                do {
                    let was = try applier.detach(interface: iface)
                    try store.removeAttachment(iface: iface, hook: .xdp)
                    try store.removeAttachment(iface: iface, hook: .tc)
                    try store.recordAudit(action: "detach", revision: nil, outcome: .ok, detail: was ? iface : "\(iface) (was not attached)")
                    Console.print(was ? "\(iface): detached" : "\(iface): not attached")
                } catch {
                    try? store.recordAudit(action: "detach", revision: nil, outcome: .failed, detail: "\(iface): \(error)")
                    throw error
                }
            }
        }
    }
}
