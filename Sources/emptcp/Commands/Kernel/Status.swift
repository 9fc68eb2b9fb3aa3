import ArgumentParser
import EmptcpApply
import EmptcpMetrics
import EmptcpStore
import Foundation

extension Emptcp {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Attached interfaces, the revision in the kernel vs the current one, map entries, counters and drift.",
            discussion: """
                Drift lists every map entry that differs from the current revision; `emptcp apply --verify` \
                repairs it. A `commit --confirm` awaiting confirmation is shown with its deadline. \
                With --exit-code the exit status says whether the kernel differs from the store, \
                like `git diff --exit-code`: 1 when the kernel's revision is not the current one, a \
                map entry drifted or an attached interface lost its links; 0 otherwise. Without it \
                status exits 0 whenever it could read the state.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Flag(name: .customLong("exit-code"), help: "Exit 1 when the kernel differs from the current revision (revision, drift, links), else 0.")
        var exitCode = false
        @Option(help: ArgumentHelp("Output format: text, json (same as --json) or prometheus (text exposition for node_exporter's textfile collector).",
                                   valueName: "format"))
        var format: StatusFormat?

        enum StatusFormat: String, ExpressibleByArgument, CaseIterable {
            case text, json, prometheus
        }

        func validate() throws {
            if output.json, let format, format != .json { throw ValidationError("--json and --format \(format.rawValue) exclude each other") }
        }

        /// The JSON document of `status --json`.
        struct Report: Encodable {
            var currentRevision: Int64?
            var inSync: Bool
            /// A `commit --confirm` revision awaiting `emptcp confirm`, rolled back at its deadline.
            var pendingConfirmation: PendingConfirmation?
            /// The store the pin root belongs to (absent: not claimed).
            var owner: PinOwner?
            var kernel: DataPlaneStatus
            /// Controllers' per-connection bindings (docs/controllers.md), apart from the revision's.
            var runtimeBindings: [RuntimeBinding]

            enum CodingKeys: String, CodingKey {
                case currentRevision = "current_revision", inSync = "in_sync", pendingConfirmation = "pending_confirmation", owner, kernel
                case runtimeBindings = "runtime_bindings"
            }
        }

        func run() throws {
            let session = DataPlaneSession(global: global)
            // Status never creates a database: without one, the kernel is compared with an empty policy.
            let store = FileManager.default.fileExists(atPath: global.db) ? try session.openStore() : nil
            let status = try StatusReading.read(session, store: store)
            let owner = try? session.applier().owner()
            switch format ?? (output.json ? .json : .text) {
            case .json:
                Console.print(try Console.document(Report(currentRevision: status.current?.id, inSync: status.inSync,
                                                          pendingConfirmation: status.pending, owner: owner, kernel: status.kernel,
                                                          runtimeBindings: status.runtime)))
            case .prometheus:
                Console.printVerbatim(status.metrics().exposition())
            case .text:
                text(status.kernel, current: status.current?.id, inSync: status.inSync, pending: status.pending, owner: owner,
                     identity: status.identity).forEach(Console.print)
                Console.print(status.runtime.isEmpty ? "runtime bindings: none" : "runtime bindings (controllers, per connection; not in the revision):")
                for b in status.runtime {
                    Console.print("  \(b.hook) tcp4 \(b.flow) -> \(b.chain) (token \(String(format: "%08x", b.token)), controller \(b.controller))")
                }
            }
            if exitCode && status.differs { throw ExitCode.failure }
        }

        private func text(_ s: DataPlaneStatus, current: Int64?, inSync: Bool, pending: PendingConfirmation?, owner: PinOwner?,
                          identity: StoreIdentity?) -> [String] {
            var lines = ["pin root: \(s.pinRoot) (\(s.loaded ? "loaded" : "not loaded"))"]
            if let owner, owner.store != identity?.hex {
                lines.append("owner: another store, \(owner.database) (commit, rollback and apply from this database are refused)")
            }
            if let pending {
                let left = Int(pending.deadline.timeIntervalSinceNow.rounded(.up))
                let fallBack = pending.previous.map { "revision \($0)" } ?? "the empty policy"
                let when = left > 0 ? "in \(left) s" : "now (deadline passed)"
                lines.append("confirm: revision \(pending.revision) awaits `emptcp confirm` until \(Console.iso(pending.deadline)); "
                             + "rolled back to \(fallBack) \(when)")
            }
            if s.interfaces.isEmpty {
                lines.append("interfaces: none attached")
            } else {
                lines.append("interfaces:")
                for iface in s.interfaces {
                    let hooks = iface.hooks.isEmpty ? "links gone (run `emptcp apply --boot`)"
                        : iface.hooks.map { "\($0.hook) \($0.mode)" + ($0.programID == 0 ? "" : " (prog \($0.programID))") }.joined(separator: ", ")
                    lines.append("  \(iface.name) (ifindex \(iface.ifindex.map(String.init) ?? "gone")): \(hooks)")
                }
            }
            guard s.loaded else { return lines }
            let rev = { (r: Int64?) in r.map(String.init) ?? "none" }
            lines.append("revision: kernel \(rev(s.kernelRevision)), current \(rev(current))\(inSync ? " (in sync)" : "")")
            lines.append("maps: " + s.maps.map { "\($0.map)=\($0.entries)" }.joined(separator: " "))
            for hook in ["xdp", "tc"] {
                let counters = s.counters.filter { $0.hook == hook && $0.value > 0 }
                lines.append("counters \(hook): " + (counters.isEmpty ? "all zero" : counters.map { "\($0.counter)=\($0.value)" }.joined(separator: " ")))
            }
            if s.drift.isEmpty {
                lines.append("drift: none")
            } else {
                lines.append("drift: \(s.drift.count) \(s.drift.count == 1 ? "entry differs" : "entries differ") from revision \(rev(current)) (run `emptcp apply --verify`)")
                lines += s.drift.map { "  \($0)" }
            }
            return lines
        }
    }
}
