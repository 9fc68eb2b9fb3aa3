import ArgumentParser
import EmptcpApply
import EmptcpControl
import EmptcpStore
import Foundation

/// emptcp-metered-link: once a connection has sent `cap` bytes on its subflows from a metered
/// address, those subflows are marked backup, so the scheduler moves the traffic to the other
/// path and the cap holds; when the cap is cleared (the cap file is removed, emptied or set to 0)
/// or raised above what was sent, they are restored. Byte counts are the kernel's per-subflow
/// counters (bytes acknowledged by the peer) in the daemon's flow_metrics events. With
/// `--record-chain`, every metered subflow is also bound on xdp to that committed chain (holding
/// `record`), so the record actor's per-flow view of it appears in `emptcp stats`. See README.md.
@main
struct MeteredLink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "emptcp-metered-link", abstract: "Keep MPTCP connections under a byte cap on a metered path.")

    @Option(help: "Local address of the metered interface.") var address: String
    @Option(help: "File holding the cap in bytes; absent, empty or 0: no cap. Read at every metrics interval.") var capFile: String
    @Option(help: "Committed chain (with record) to bind the metered subflows to on xdp; none by default.") var recordChain: String?
    @Option(help: "Metrics interval in milliseconds.") var metricsMs = 200
    @Option(help: "Controller name (audit trail).") var name = "metered-link"
    @Option(help: "Daemon socket (default: env EMPTCP_DAEMON_SOCKET, else /run/emptcp/daemon.sock).") var socket: String?

    func run() async throws {
        guard let metered = IPAddress(address) else { throw ValidationError("--address: not an IP address: \(address)") }
        let client = try ControlClient(name: name, metricsMs: metricsMs, socketPath: socket)
        let policy = MeteredPolicy(metered: metered, capFile: capFile, recordChain: recordChain)
        try await client.run(policy)
    }
}

/// The controller's state: per connection, its metered subflows and which of them it marked.
actor MeteredPolicy: Controller {
    let metered: IPAddress
    let capFile: String
    let recordChain: String?
    private var subflows: [String: Set<SubflowKey>] = [:]
    private var marked: [String: Set<SubflowKey>] = [:]

    init(metered: IPAddress, capFile: String, recordChain: String?) {
        self.metered = metered
        self.capFile = capFile
        self.recordChain = recordChain
    }

    /// The cap now; nil when cleared.
    nonisolated func cap() -> UInt64? {
        guard let text = try? String(contentsOfFile: capFile, encoding: .utf8),
              let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0 else { return nil }
        return value
    }

    func connectionEstablished(_ client: ControlClient, token: String, subflow: SubflowKey?) async {
        if let subflow { await track(client, token: token, subflow: subflow) }
    }

    func subflowEstablished(_ client: ControlClient, token: String, subflow: SubflowKey, backup: Bool) async {
        await track(client, token: token, subflow: subflow)
    }

    private func track(_ client: ControlClient, token: String, subflow: SubflowKey) async {
        guard subflow.local == metered, subflows[token]?.contains(subflow) != true else { return }
        subflows[token, default: []].insert(subflow)
        guard let recordChain else { return }
        do {
            try await client.bind(hook: "xdp", flow: subflow, chain: recordChain)
        } catch {
            log("bind \(subflow) to \(recordChain): \(error)")
        }
    }

    func subflowClosed(_ client: ControlClient, token: String, subflow: SubflowKey) async {
        subflows[token]?.remove(subflow)
        marked[token]?.remove(subflow)
    }

    func connectionClosed(_ client: ControlClient, token: String) async {
        subflows[token] = nil
        marked[token] = nil
    }

    func flowMetrics(_ client: ControlClient, flows: [FlowStats], subflows counters: [SubflowMetrics]) async {
        // Bytes this host sent on each metered subflow, as the peer acknowledged them.
        var sent: [SubflowKey: UInt64] = [:]
        for c in counters {
            guard let key = SubflowKey(parsing: c.subflow), key.local == metered else { continue }
            sent[key] = c.bytesAcked
            // Subflows that began before the controller are learned here.
            if subflows[c.token]?.contains(key) != true { subflows[c.token, default: []].insert(key) }
        }
        let cap = cap()
        for (token, keys) in subflows {
            let total = keys.reduce(UInt64(0)) { $0 + (sent[$1] ?? 0) }
            let over = cap.map { total >= $0 } ?? false
            let done = marked[token] ?? []
            if over {
                for s in keys.subtracting(done) {
                    do {
                        try await client.setPriority(subflow: s, backup: true)
                        marked[token, default: []].insert(s)
                        log("token \(token): \(total) bytes sent over \(metered) reached the cap \(cap!); \(s) is backup")
                    } catch { log("set \(s) backup: \(error)") }
                }
            } else {
                for s in done {
                    do {
                        try await client.setPriority(subflow: s, backup: false)
                        marked[token]?.remove(s)
                        log("token \(token): cap \(cap.map(String.init) ?? "cleared"); \(s) restored")
                    } catch { log("restore \(s): \(error)") }
                }
            }
        }
    }

    nonisolated func log(_ text: String) {
        FileHandle.standardError.write(Data("emptcp-metered-link: \(text)\n".utf8))
    }
}
