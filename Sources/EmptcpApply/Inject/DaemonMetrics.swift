import Synchronization

/// What the daemon counts while it runs, for `daemon run --metrics`: injections by what they
/// carried and how the kernel answered, the events it consumed, and its sessions. The daemon's
/// loop writes (one short lock per batch of events or per injection outcome); the metrics
/// listener's thread reads a copy on each scrape, so a scrape never waits on the loop's work
/// and the loop never waits on a scrape's reading of the maps or the store.
public final class DaemonMetrics: Sendable {
    /// What an injection carried (docs/events.md).
    public enum InjectionKind: String, Sendable, CaseIterable {
        /// A removed ADD_ADDR re-delivered into the local stack.
        case addAddr = "add_addr"
        /// MP_PRIO (a restore-prio, a live repair, or a controller's priority verb).
        case mpPrio = "mp_prio"
        /// The subflow the userspace path manager is asked to create after an ADD_ADDR it accepted.
        case subflowCreate = "subflow_create"
    }

    /// How the kernel answered, as InjectionOutcome says.
    public enum Outcome: String, Sendable, CaseIterable {
        case seen
        case notSeen = "not_seen"
        case failed

        public init(_ outcome: InjectionOutcome) {
            switch outcome {
            case .seen: self = .seen
            case .notSeen: self = .notSeen
            case .failed: self = .failed
            }
        }
    }

    public struct InjectionKey: Hashable, Sendable {
        public var kind: InjectionKind
        public var outcome: Outcome

        public init(_ kind: InjectionKind, _ outcome: Outcome) {
            self.kind = kind
            self.outcome = outcome
        }
    }

    public struct Snapshot: Sendable, Equatable {
        /// Attempts by kind and outcome (each retry is one attempt).
        public var injections: [InjectionKey: UInt64] = [:]
        /// Records consumed from the ring buffer.
        public var ringEvents: UInt64 = 0
        /// MPTCP path manager events read from generic netlink.
        public var pathManagerEvents: UInt64 = 0
        /// Injections waiting for the kernel's answer.
        public var injectionsInFlight = 0
        public var controllers = 0
        public var eventSubscribers = 0

        public init() {}
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func injection(_ kind: InjectionKind, _ outcome: InjectionOutcome) {
        state.withLock { $0.injections[InjectionKey(kind, Outcome(outcome)), default: 0] += 1 }
    }

    func events(ring: Int = 0, pathManager: Int = 0) {
        guard ring > 0 || pathManager > 0 else { return }
        state.withLock {
            $0.ringEvents += UInt64(ring)
            $0.pathManagerEvents += UInt64(pathManager)
        }
    }

    func sessions(injectionsInFlight: Int, controllers: Int, eventSubscribers: Int) {
        state.withLock {
            $0.injectionsInFlight = injectionsInFlight
            $0.controllers = controllers
            $0.eventSubscribers = eventSubscribers
        }
    }
}
