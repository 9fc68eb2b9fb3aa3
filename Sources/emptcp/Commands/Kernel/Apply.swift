import ArgumentParser
import EmptcpApply
import EmptcpStore
import Foundation

extension Emptcp {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Replay the current revision into the kernel maps, writing only what differs.",
            discussion: """
                A second apply writes nothing: when the markers in emptcp_meta show that both \
                generations hold the revision's content, no policy map is read (only program slots \
                and links are checked). --verify reads and compares every map entry whatever the \
                markers say and repairs drift (changes made behind emptcp's back, which `status` \
                reports). Every apply is audited with the revision and, per map, \
                the entries added, removed and changed. --boot (the emptcp-restore.service) first \
                re-attaches the interfaces recorded in the store whose links are gone (after a reboot; \
                one that does not exist yet is left to emptcp-attach@IFACE.service), then applies, then \
                re-arms the rollback timer of a `commit --confirm` still awaiting confirmation. A \
                deadline that passed while the machine was down was already enforced when the store \
                was opened: the rollback is what gets applied.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var objects: BPFObjectOptions
        @OptionGroup var output: OutputOptions
        @Flag(name: .long, help: "Re-attach recorded interfaces whose links are gone, then apply.") var boot = false
        @Flag(name: .long, help: "Read and compare every map entry, whatever the markers say, and repair drift.") var verify = false
        @Flag(name: .long, help: "Apply even though the pin root belongs to another store (it becomes this store's).") var force = false

        func run() throws {
            let session = DataPlaneSession(global: global)
            let applier = session.applier(bpfDir: objects.bpfDir)
            let store = try session.openStore()
            // Refused before attaching anything when another store owns the pin root.
            try StoreOwnership.require(store, session, action: "apply", force: force)
            if boot {
                try restore(applier, store)
                // No recorded interface is present (or none is recorded): nothing to apply to
                // yet, which at boot is not a failure; the attach unit applies later.
                if !applier.isAttached() {
                    Console.print("no interface of \(global.pinRoot) attached; nothing to apply yet")
                    try rearmConfirmation(store)
                    return
                }
            }
            guard let (revision, report) = try session.applyCurrent(applier, store, force: force, verify: verify) else {
                Console.print("no revision committed; nothing to apply")
                return
            }
            if output.json { Console.print(try Console.document(report)) } else { Console.print("applied revision \(revision.id): \(report.summary)") }
            if boot { try rearmConfirmation(store) }
        }

        /// A `commit --confirm` still pending after a reboot lost its timer process: start a new
        /// one for the time left, so the deadline holds even if no other command runs.
        private func rearmConfirmation(_ store: PolicyStore) throws {
            guard let pending = try store.pendingConfirmation() else { return }
            let left = Int(pending.deadline.timeIntervalSinceNow.rounded(.up))
            guard left > 0 else { return }
            try ConfirmTimer.start(global: global, revision: pending.revision, seconds: left)
            try store.recordAudit(action: "confirm-timer", revision: pending.revision, outcome: .ok,
                                  detail: "boot: rollback timer re-armed, revision \(pending.revision) rolls back in \(left) s unless confirmed")
            if !output.json {
                Console.print("revision \(pending.revision) awaits confirmation: rolled back in \(left) s unless `emptcp confirm` runs")
            }
        }

        /// Attaches every recorded interface of this pin root again (a no-op where still attached).
        private func restore(_ applier: Applier, _ store: PolicyStore) throws {
            let recorded = try store.attachments().filter { $0.pinRoot == global.pinRoot }
            for iface in Set(recorded.map(\.iface)).sorted() {
                // Not there yet (a USB NIC, a VLAN made later): its udev event starts
                // emptcp-attach@IFACE.service, which runs this again.
                guard Applier.allInterfaces(includeVirtual: true).targets.contains(iface) else {
                    if !output.json { Console.print("\(iface): not present; attached when it appears") }
                    continue
                }
                let xdp = recorded.first { $0.iface == iface && $0.hook == .xdp }
                let mode = xdp.flatMap { XDPMode(rawValue: $0.mode) } ?? .auto
                do {
                    // The entries only: the apply that follows loads what the revision names.
                    let result = try applier.attach(interface: iface, xdpMode: mode, allPrograms: false)
                    if !result.alreadyAttached {
                        try store.recordAudit(action: "attach", revision: nil, outcome: .ok, detail: "\(iface) xdp=\(result.xdpMode) tc=\(result.tcMode) (boot)")
                        if !output.json { Console.print("\(iface): re-attached (xdp \(result.xdpMode), tc \(result.tcMode))") }
                    }
                } catch {
                    try? store.recordAudit(action: "attach", revision: nil, outcome: .failed, detail: "\(iface) (boot): \(error)")
                    throw error
                }
            }
        }
    }
}
