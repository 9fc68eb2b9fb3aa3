import EmptcpStore

/// The kernel's answer an injection is waiting for on the path manager's event stream.
public enum ExpectedEvent: Sendable, Equatable {
    /// A new subflow of the connection to the announced address (SUB_ESTABLISHED).
    case subflowJoined(token: UInt32, remote: IPAddress)
    /// The peer's ADD_ADDR accepted by the stack (ANNOUNCED; the userspace path manager then
    /// creates the subflow itself).
    case announced(token: UInt32, remote: IPAddress)
    /// The subflow's priority changed (SUB_PRIORITY) to `backup`.
    case priority(token: UInt32, subflow: SubflowKey, backup: Bool)

    public func matches(_ e: MptcpPmEvent) -> Bool {
        switch self {
        case .subflowJoined(let token, let remote): e.kind == .subEstablished && e.token == token && e.remote == remote
        case .announced(let token, let remote): e.kind == .announced && e.token == token && e.remote == remote
        case .priority(let token, let subflow, let backup):
            e.kind == .subPriority && e.token == token && e.subflow == subflow && (e.backup ?? !backup) == backup
        }
    }

    public var eventName: String {
        switch self {
        case .subflowJoined: "SUB_ESTABLISHED"
        case .announced: "ANNOUNCED"
        case .priority: "SUB_PRIORITY"
        }
    }
}

/// How an injection ended: the expected event seen, not seen within the deadline (the kernel
/// ignored or rejected the segment), or the injection itself failed.
public enum InjectionOutcome: Sendable, Equatable, CustomStringConvertible {
    case seen(event: String, afterMs: Int)
    case notSeen(event: String, withinMs: Int)
    case failed(String)

    public var isSeen: Bool { if case .seen = self { true } else { false } }

    public var description: String {
        switch self {
        case .seen(let event, let ms): "seen \(event) after \(ms) ms"
        case .notSeen(let event, let ms): "not seen: no \(event) within \(ms) ms"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}

/// Injections waiting for their event, each with a deadline. Owned by the daemon's loop: events
/// complete the matching waits, `expire` completes the overdue ones. Completed waits are
/// dropped at once, so the list only holds what is in flight.
final class OutcomeWatcher {
    private struct Waiting {
        let expected: ExpectedEvent
        let sentNs: UInt64
        let deadlineNs: UInt64
        let complete: (InjectionOutcome) -> Void
    }

    private var waiting: [Waiting] = []

    var inFlight: Int { waiting.count }
    var nextDeadlineNs: UInt64? { waiting.map(\.deadlineNs).min() }

    func expect(_ expected: ExpectedEvent, sentNs: UInt64, deadlineNs: UInt64, complete: @escaping (InjectionOutcome) -> Void) {
        waiting.append(Waiting(expected: expected, sentNs: sentNs, deadlineNs: deadlineNs, complete: complete))
    }

    func observe(_ event: MptcpPmEvent, nowNs: UInt64) {
        guard waiting.contains(where: { $0.expected.matches(event) }) else { return }
        var done: [Waiting] = []
        waiting.removeAll { w in
            guard w.expected.matches(event) else { return false }
            done.append(w)
            return true
        }
        for w in done { w.complete(.seen(event: w.expected.eventName, afterMs: Int((nowNs &- w.sentNs) / 1_000_000))) }
    }

    func expire(nowNs: UInt64) {
        guard waiting.contains(where: { $0.deadlineNs <= nowNs }) else { return }
        var done: [Waiting] = []
        waiting.removeAll { w in
            guard w.deadlineNs <= nowNs else { return false }
            done.append(w)
            return true
        }
        for w in done { w.complete(.notSeen(event: w.expected.eventName, withinMs: Int((w.deadlineNs - w.sentNs) / 1_000_000))) }
    }
}
