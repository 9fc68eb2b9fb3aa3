import EmptcpApply
import EmptcpStore
import Synchronization

/// The daemon's answer to one scrape of `/metrics`, on the metrics listener's worker thread: the
/// same reading `emptcp status` makes, through a store connection of its own (opened at the first
/// scrape; a SQLite connection belongs to one thread, and WAL lets it read while the daemon
/// writes), plus the daemon's counters.
final class MetricsScrape: Sendable {
    private let session: DataPlaneSession
    private let daemon: DaemonMetrics
    private let store = Mutex<PolicyStore?>(nil)

    init(session: DataPlaneSession, daemon: DaemonMetrics) {
        self.session = session
        self.daemon = daemon
    }

    func render() throws -> String {
        try store.withLock { store in
            if store == nil { store = try PolicyStore(path: session.global.db, logger: session.logger, mode: .existing) }
            return try StatusReading.read(session, store: store).metrics(daemon: daemon.snapshot).exposition()
        }
    }
}
