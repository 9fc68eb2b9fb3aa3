import EmptcpStore
import Foundation
import Logging
import Testing
@testable import EmptcpApply

/// An `emptcp apply` killed with SIGKILL at any point leaves a kernel that the next `apply`
/// converges to the current revision: 100 kill points spread over the run of an apply that
/// switches 10,000 bindings (half of them changed, a quarter removed, a quarter added, chains and
/// selector chains changed), each followed by a complete `emptcp apply` and `emptcp status --json`
/// that must report no drift, the current revision and in sync.
@Suite(.serialized) struct CrashSafeApplyTests {
    static let killPoints = Int(ProcessInfo.processInfo.environment["EMPTCP_KILL_POINTS"] ?? "") ?? 100
    static let bindings = 10_000

    static func policy(_ second: Bool) -> Policy {
        let local = IPAddress("10.0.1.1"), remote = IPAddress("10.0.1.2")
        let first = second ? 1000 + bindings / 2 : 1000
        var list = (0..<bindings).map { i in
            Binding(BindingKey(hook: .xdp, selector: .tcp4, local: local, localPort: UInt16(first + i), remote: remote, remotePort: 40000),
                    chain: second && i < bindings / 2 ? "fast" : "slow")
        }
        list.append(Binding(BindingKey(hook: .tc, selector: .tcp2, local: IPAddress("10.0.2.1"), remote: IPAddress("10.0.2.2")), chain: "slow"))
        return Policy(
            selectors: [.xdp: second ? [SelectorStep(name: "tcp4", op: .or), SelectorStep(name: "tcp2", op: .or)] : [SelectorStep(name: "tcp4", op: .or)],
                        .tc: [SelectorStep(name: "tcp2", op: .or)]],
            chains: ["slow": [.setRecvWin(window: second ? 800 : 1600)], "fast": [.setRecvWin(window: 3200), .rmAddAddr]],
            bindings: list)
    }

    static let binary = ProcessInfo.processInfo.environment["EMPTCP_BIN"] ?? ApplierFixture.repo + "/.build/debug/emptcp"

    /// Starts `emptcp ARGS --db --pin-root` inside the test's namespace.
    static func start(_ fx: ApplierFixture, _ db: String, _ args: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ip")
        process.arguments = ["netns", "exec", fx.netns, binary] + args + ["--db", db, "--pin-root", fx.pinRoot]
        var environment = ProcessInfo.processInfo.environment
        environment["EMPTCP_BPF_DIR"] = fx.bpfDir
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Runs `emptcp ARGS` to its end; returns exit status and output.
    static func run(_ fx: ApplierFixture, _ db: String, _ args: [String]) throws -> (Int32, String) {
        let (process, pipe) = try start(fx, db, args)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func killedApplyConvergesWithoutDrift() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "\(Self.binary) missing: run swift build")
        let fx = try ApplierFixture("kill")
        defer { fx.cleanup() }
        let work = NSTemporaryDirectory() + "emptcp-kill-\(fx.tag)"
        defer { _ = try? Sys.run(["rm", "-rf", work]) }
        try Sys.makeDirectories(work)
        let db = work + "/emptcp.db"
        let store = try PolicyStore(path: db, logger: fx.logger)
        let a = try store.commit(Self.policy(false), message: "a")
        let b = try store.commit(Self.policy(true), message: "b")
        try fx.inNetns { _ = try fx.applier.attach(interface: "a0", xdpMode: .generic) }
        defer { _ = try? fx.inNetns { try fx.applier.detach(interface: "a0") } }
        try fx.inNetns { _ = try fx.applier.apply(policy: Self.policy(false), revision: a.id) }

        // How long one whole apply from A to B takes here (to spread the kill points; not an assert).
        let clock = ContinuousClock()
        let begin = clock.now
        let (status, output) = try Self.run(fx, db, ["apply"])
        try #require(status == 0, "emptcp apply: \(output)")
        let whole = clock.now - begin

        var killed = 0, finished = 0
        var failures: [String] = []
        for point in 0..<Self.killPoints {
            // The store's current revision alternates between A's and B's content, so every apply
            // has the whole switch to do.
            let target = try store.rollback(to: point % 2 == 0 ? a.id : b.id, message: nil)
            let delay = whole * (Double(point) + 0.5) / Double(Self.killPoints) * 1.1
            let (process, pipe) = try Self.start(fx, db, ["apply"])
            Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds))
            // Only a running child: a finished one may already be reaped and its pid reused.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            _ = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killed += 1 } else { finished += 1 }

            let (applied, applyOutput) = try Self.run(fx, db, ["apply"])
            let (statusCode, statusOutput) = try Self.run(fx, db, ["status", "--json"])
            guard applied == 0, statusCode == 0,
                  let json = try JSONSerialization.jsonObject(with: Data(statusOutput.utf8)) as? [String: Any],
                  let kernel = json["kernel"] as? [String: Any] else {
                failures.append("kill point \(point): apply \(applied) \(applyOutput) status \(statusCode) \(statusOutput)")
                continue
            }
            let drift = kernel["drift"] as? [Any] ?? []
            let revision = (kernel["kernel_revision"] as? NSNumber)?.int64Value
            if !drift.isEmpty || revision != target.id || json["in_sync"] as? Bool != true {
                Thread.sleep(forTimeInterval: 1)
                let again = (try? Self.run(fx, db, ["status"]))?.1 ?? ""
                let links = ((try? fx.sh("ip -d link show a0; ip netns identify", inNetns: true)) ?? "") + " / status again: " + again
                failures.append("kill point \(point) (\(delay)): revision \(revision.map(String.init) ?? "none") of \(target.id), drift \(drift.prefix(3)); interfaces \(kernel["interfaces"] ?? ""); apply: \(applyOutput); links: \(links)")
            }
        }
        print("crash-safe apply: \(killed) applies killed, \(finished) finished before the kill; whole apply \(whole)")
        // Most kill points fell inside an apply (the test exercises crashes, not finished runs).
        #expect(killed >= Self.killPoints / 2)
        #expect(failures.isEmpty, "\(failures.count) kill points left drift: \(failures.prefix(3))")
    }
}
