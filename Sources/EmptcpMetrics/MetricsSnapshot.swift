import EmptcpApply

/// Everything the Prometheus exposition tells, read at one moment: the data plane as `emptcp
/// status` reads it (counters, attached hooks, map entries, drift, revisions), the store's
/// runtime state (runtime bindings, tracked connections) and, from a running daemon, its own
/// counters. `status --format prometheus` and the daemon's `/metrics` both render one of these
/// through `registry()`, so the two never disagree on a name, a label or a meaning.
public struct MetricsSnapshot: Sendable {
    /// The emptcp version writing the metrics.
    public var version: String
    public var kernel: DataPlaneStatus
    /// The store's current revision (nil: none committed).
    public var currentRevision: Int64?
    /// The kernel holds the current revision, every hook is attached and nothing drifts.
    public var inSync: Bool
    /// The deadline of a `commit --confirm` awaiting confirmation, in Unix seconds (nil: none).
    public var confirmDeadline: Double?
    /// Controllers' per-connection bindings (docs/controllers.md).
    public var runtimeBindings: Int
    /// MPTCP connections the daemon tracks in the store.
    public var connectionsTracked: Int
    /// The daemon's own counters; nil outside the daemon (`status --format prometheus`).
    public var daemon: DaemonMetrics.Snapshot?

    public init(version: String, kernel: DataPlaneStatus, currentRevision: Int64?, inSync: Bool, confirmDeadline: Double? = nil,
                runtimeBindings: Int = 0, connectionsTracked: Int = 0, daemon: DaemonMetrics.Snapshot? = nil) {
        self.version = version
        self.kernel = kernel
        self.currentRevision = currentRevision
        self.inSync = inSync
        self.confirmDeadline = confirmDeadline
        self.runtimeBindings = runtimeBindings
        self.connectionsTracked = connectionsTracked
        self.daemon = daemon
    }
}
