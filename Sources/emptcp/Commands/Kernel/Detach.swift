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
        @Argument(help: "Interfaces to detach.") var interfaces: [String] = []

        func run() throws {
            // Usage errors exit 2 (design §4).
            if all == !interfaces.isEmpty { throw Kernel.usage("detach", "name interfaces or pass --all (not both)") }
            let logger = Kernel.logger()
            let applier = Kernel.applier(global, bpfDir: nil, logger: logger)
            let store: PolicyStore
            do { store = try Kernel.store(global, logger: logger) } catch { throw Kernel.fail("detach", error) }
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
                    Kernel.print(was ? "\(iface): detached" : "\(iface): not attached")
                } catch {
                    try? store.recordAudit(action: "detach", revision: nil, outcome: .failed, detail: "\(iface): \(error)")
                    throw Kernel.fail("detach", error)
                }
            }
        }
    }
}
