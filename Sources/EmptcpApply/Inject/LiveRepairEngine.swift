import EmptcpStore
import Logging

/// Repairs live connections: replays removed ADD_ADDRs and delivers MP_PRIO B=0 into the local
/// stack, each segment built from the subflow's TCP state read by the iter/tcp program at that
/// moment, and each verified on the path manager's events within a deadline. Every attempt is
/// an audit row (`inject`: token, subflow, what, outcome). A segment the kernel ignores or
/// rejects shows no event and is reported as not seen; a not-seen attempt is retried with fresh
/// state up to `attempts` times.
///
/// Single-threaded: the daemon's loop owns it and feeds it path manager events (`observe`)
/// and the clock (`expire`).
public final class LiveRepairEngine {
    let store: PolicyStore
    let tcpState: TcpStateReader
    let sender: SegmentSender
    let logger: Logger
    let watcher = OutcomeWatcher()
    /// Every attempt's outcome is counted here too (`daemon run --metrics`).
    let metrics: DaemonMetrics
    /// How long to wait for the kernel's event after one injection.
    public var deadlineMs: UInt64 = 1000
    /// Injections per segment when the kernel shows nothing (each with fresh state).
    public var attempts = 2
    private var pathManagerHandle: MptcpPathManager?

    public init(store: PolicyStore, tcpState: TcpStateReader, sender: SegmentSender, logger: Logger, metrics: DaemonMetrics = DaemonMetrics()) {
        self.store = store
        self.metrics = metrics
        self.tcpState = tcpState
        self.sender = sender
        self.logger = logger
    }

    public var inFlight: Int { watcher.inFlight }
    public var nextDeadlineNs: UInt64? { watcher.nextDeadlineNs }

    public func observe(_ event: MptcpPmEvent) { watcher.observe(event, nowNs: Sys.monotonicNanoseconds()) }
    public func expire() { watcher.expire(nowNs: Sys.monotonicNanoseconds()) }

    // MARK: - Queued repairs

    /// Carries out every pending repair of the store. A repair the current revision no longer
    /// calls for (it strips or marks again) is closed as superseded. Returns the number of
    /// repairs closed.
    @discardableResult
    public func runPending() throws -> Int {
        let work = try store.pendingLiveRepairs()
        guard !work.isEmpty else { return 0 }
        let current = try store.currentRevision().map { try store.policy(at: $0.id) }
        let now = current.map(LiveRepairPlanner.effects) ?? [:]
        let live = try liveSubflows()
        for w in work {
            let effects = now[w.repair.match] ?? LiveRepairPlanner.Effects()
            let stillNeeded = switch w.repair.kind {
            case .redeliverAddAddr: !effects.stripsAddAddr || effects.recoversAddAddr
            case .clearBackup: !effects.marksBackup
            }
            guard stillNeeded else {
                try store.finishLiveRepair(id: w.id, state: .superseded, detail: "the current revision \(w.repair.kind == .clearBackup ? "marks backup" : "strips ADD_ADDR") again")
                continue
            }
            let detail = switch w.repair.kind {
            case .redeliverAddAddr: try redeliverMatching(w.repair.match, live: live, revision: w.revision)
            case .clearBackup: clearBackupMatching(w.repair.match, live: live, revision: w.revision)
            }
            try store.finishLiveRepair(id: w.id, state: .done, detail: detail)
            logger.info("live repair", metadata: ["repair.kind": "\(w.repair.kind.rawValue)", "repair.match": "\(w.repair.match)", "detail": "\(detail)"])
        }
        return work.count
    }

    private func liveSubflows() throws -> [SubflowKey: SubflowInfo] {
        var result: [SubflowKey: SubflowInfo] = [:]
        for s in try SubflowDiag.dump() { result[s.subflow] = s }
        return result
    }

    private func redeliverMatching(_ key: BindingKey, live: [SubflowKey: SubflowInfo], revision: Int64?) throws -> String {
        var started = 0, closed = 0, joined = 0
        for saved in try store.removedAddAddrs() {
            guard let subflow = SubflowKey(parsing: saved.subflow), LiveRepairPlanner.matches(key, subflow) else { continue }
            switch try redeliver(saved.option, subflow: subflow, live: live, revision: revision, done: { _ in }) {
            case .started: started += 1
            case .closed: closed += 1
            case .alreadyJoined: joined += 1
            }
        }
        return "\(started) ADD_ADDR re-delivered, \(joined) already joined, \(closed) on closed connections"
    }

    private func clearBackupMatching(_ key: BindingKey, live: [SubflowKey: SubflowInfo], revision: Int64?) -> String {
        let marked = live.values.filter { $0.peerBackup && LiveRepairPlanner.matches(key, $0.subflow) }
            .sorted { $0.subflow.description < $1.subflow.description }
        for info in marked { clearBackup(info, revision: revision, done: { _ in }) }
        return "MP_PRIO B=0 on \(marked.count) backup subflows"
    }

    // MARK: - One repair

    enum Start { case started, closed, alreadyJoined }

    /// Replays one saved ADD_ADDR on its subflow, unless the connection is gone (the saved
    /// option is dropped) or already has a subflow to the announced address.
    func redeliver(_ optionHex: String, subflow: SubflowKey, live: [SubflowKey: SubflowInfo], revision: Int64?,
                   done: @escaping (InjectionOutcome) -> Void) throws -> Start {
        guard let info = live[subflow] else {
            try store.forgetRemovedAddAddr(subflow: subflow.description, option: optionHex)
            return .closed
        }
        guard let option = MptcpOption.bytes(hex: optionHex), let announced = MptcpOption.announced(option) else {
            try store.forgetRemovedAddAddr(subflow: subflow.description, option: optionHex)
            done(.failed("saved option is not an ADD_ADDR"))
            return .started
        }
        if live.values.contains(where: { $0.token == info.token && $0.subflow.remote == announced.address }) {
            try store.forgetRemovedAddAddr(subflow: subflow.description, option: optionHex)
            return .alreadyJoined
        }
        let userspace = MptcpPathManager.isUserspace()
        let expected: ExpectedEvent = userspace ? .announced(token: info.token, remote: announced.address)
                                                : .subflowJoined(token: info.token, remote: announced.address)
        let what = "ADD_ADDR id \(announced.id) \(announced.address)"
        inject(option, on: info, what: what, expected: expected, revision: revision, attempt: 1) { [weak self] outcome in
            guard let self else { return }
            if outcome.isSeen { try? self.store.forgetRemovedAddAddr(subflow: subflow.description, option: optionHex) }
            if outcome.isSeen && userspace {
                self.createSubflow(info, to: announced.address, port: announced.port ?? info.subflow.remotePort, revision: revision, done: done)
            } else {
                done(outcome)
            }
        }
        return .started
    }

    /// Delivers MP_PRIO B=0 on the subflow.
    func clearBackup(_ info: SubflowInfo, revision: Int64?, done: @escaping (InjectionOutcome) -> Void) {
        inject(MptcpOption.mpPrio(backup: false), on: info, what: "MP_PRIO B=0",
               expected: .priority(token: info.token, subflow: info.subflow, backup: false), revision: revision, attempt: 1, done: done)
    }

    /// With the userspace path manager the stack only reports the announcement; the join is ours.
    private func createSubflow(_ info: SubflowInfo, to remote: IPAddress, port: UInt16, revision: Int64?, done: @escaping (InjectionOutcome) -> Void) {
        let local = Self.closestLocalAddress(to: remote) ?? info.subflow.local
        let what = "SUBFLOW_CREATE \(local) > \(EventFlow.endpoint(remote, port))"
        let sent = Sys.monotonicNanoseconds()
        do {
            if pathManagerHandle == nil { pathManagerHandle = try MptcpPathManager() }
            try pathManagerHandle!.createSubflow(token: info.token, local: local, remote: remote, remotePort: port)
        } catch {
            audit(info, what: what, kind: .subflowCreate, attempt: 1, revision: revision, outcome: .failed("\(error)"))
            done(.failed("\(error)"))
            return
        }
        watcher.expect(.subflowJoined(token: info.token, remote: remote), sentNs: sent, deadlineNs: sent + deadlineMs * 1_000_000) { [weak self] outcome in
            self?.audit(info, what: what, kind: .subflowCreate, attempt: 1, revision: revision, outcome: outcome)
            done(outcome)
        }
    }

    /// Builds the segment from the socket's state now, sends it, and waits for `expected`.
    func inject(_ options: [UInt8], on info: SubflowInfo, what: String, expected: ExpectedEvent, revision: Int64?, attempt: Int,
                        done: @escaping (InjectionOutcome) -> Void) {
        let finish: (InjectionOutcome) -> Void = { [weak self] outcome in
            guard let self else { return }
            self.audit(info, what: what, kind: MptcpOption.isAddAddr(options) ? .addAddr : .mpPrio, attempt: attempt, revision: revision,
                       outcome: outcome)
            if case .notSeen = outcome, attempt < self.attempts {
                self.inject(options, on: info, what: what, expected: expected, revision: revision, attempt: attempt + 1, done: done)
            } else {
                done(outcome)
            }
        }
        let sent = Sys.monotonicNanoseconds()
        do {
            guard let state = try tcpState.read()[info.subflow] else {
                finish(.failed("no TCP socket for the subflow (connection closed)"))
                return
            }
            let segment = InjectedSegment(flow: info.subflow.ingress, seq: state.receiveNext, ack: state.sendUnacknowledged,
                                          window: state.peerWindowField, options: options)
            guard let packet = segment.packet() else {
                finish(.failed(InjectError.optionTooLong(options.count).description))
                return
            }
            try sender.send(packet, to: info.subflow.local)
        } catch {
            finish(.failed("\(error)"))
            return
        }
        watcher.expect(expected, sentNs: sent, deadlineNs: sent + deadlineMs * 1_000_000, complete: finish)
    }

    private func audit(_ info: SubflowInfo, what: String, kind: DaemonMetrics.InjectionKind, attempt: Int, revision: Int64?,
                       outcome: InjectionOutcome) {
        metrics.injection(kind, outcome)
        let detail = "token=\(MptcpPmEvent.hex(info.token)) subflow=\(info.subflow) what=\(what) attempt=\(attempt) outcome=\(outcome)"
        do {
            try store.recordAudit(action: "inject", revision: revision, outcome: outcome.isSeen ? .ok : .failed, detail: detail)
        } catch {
            logger.error("could not audit an injection", metadata: ["detail": "\(detail)", "store.error": "\(error)"])
        }
        logger.info("inject", metadata: ["detail": "\(detail)"])
    }

    /// The local address of the same family sharing the longest prefix with `remote`.
    static func closestLocalAddress(to remote: IPAddress) -> IPAddress? {
        func common(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var bits = 0
            for (x, y) in zip(a, b) {
                let d = x ^ y
                if d == 0 { bits += 8; continue }
                bits += d.leadingZeroBitCount
                break
            }
            return bits
        }
        return Sys.localAddresses().filter { $0.count == remote.bytes.count && $0 != remote.bytes }
            .max { common($0, remote.bytes) < common($1, remote.bytes) }
            .flatMap { IPAddress(bytes: $0) }
    }

    // MARK: - Requests by subflow (daemon client verbs)

    /// The live subflow `flow` names, in either direction.
    func liveSubflow(_ flow: EventFlow) throws -> (SubflowInfo, [SubflowKey: SubflowInfo])? {
        let live = try liveSubflows()
        if let s = live[SubflowKey(ingress: flow)] { return (s, live) }
        if let s = live[SubflowKey(ingress: flow.reversed)] { return (s, live) }
        return nil
    }

    /// Replays the saved ADD_ADDRs of one subflow; `reply` gets (ok, text) once every outcome is in.
    public func redeliver(flow: EventFlow, reply: @escaping (Bool, String) -> Void) {
        do {
            guard let (info, live) = try liveSubflow(flow) else { return reply(false, "no live MPTCP subflow \(flow) (connection closed?)") }
            let saved = try store.removedAddAddrs().filter { $0.subflow == info.subflow.description }
            guard !saved.isEmpty else { return reply(false, "no removed ADD_ADDR saved for \(info.subflow)") }
            let ids = saved.compactMap { MptcpOption.bytes(hex: $0.option).flatMap(MptcpOption.announced).map { String($0.id) } }.joined(separator: ",")
            let gather = Gather(count: saved.count) { outcomes in
                let ok = outcomes.allSatisfy(\.isSeen)
                reply(ok, "re-delivered \(saved.count) ADD_ADDR (address id \(ids)) on \(info.subflow): " + outcomes.map(\.description).joined(separator: "; "))
            }
            for s in saved {
                switch try redeliver(s.option, subflow: info.subflow, live: live, revision: nil, done: gather.add) {
                case .started: break
                case .closed: gather.add(.failed("connection closed"))
                case .alreadyJoined: gather.add(.seen(event: "subflow already joined", afterMs: 0))
                }
            }
        } catch {
            reply(false, "\(error)")
        }
    }

    /// Delivers MP_PRIO B=0 on one subflow; `reply` gets the outcome.
    public func clearBackup(flow: EventFlow, reply: @escaping (Bool, String) -> Void) {
        do {
            guard let (info, _) = try liveSubflow(flow) else { return reply(false, "no live MPTCP subflow \(flow) (connection closed?)") }
            clearBackup(info, revision: nil) { outcome in
                reply(outcome.isSeen, "delivered MP_PRIO B=0 on \(info.subflow): \(outcome)")
            }
        } catch {
            reply(false, "\(error)")
        }
    }
}

/// Collects a known number of outcomes, then calls back once.
private final class Gather {
    private var outcomes: [InjectionOutcome] = []
    private let count: Int
    private let done: ([InjectionOutcome]) -> Void

    init(count: Int, done: @escaping ([InjectionOutcome]) -> Void) {
        self.count = count
        self.done = done
    }

    func add(_ outcome: InjectionOutcome) {
        outcomes.append(outcome)
        if outcomes.count == count { done(outcomes) }
    }
}
