import EmptcpApply
import EmptcpMetrics
import EmptcpStore

/// What `emptcp status` reads, for every format, and what the daemon's `/metrics` reads on each
/// scrape: the store's side (current revision, pending confirmation, runtime bindings, tracked
/// connections) and the kernel's, compared with the current policy plus the runtime bindings
/// (the kernel holds both).
struct StatusReading {
    var current: Revision?
    var pending: PendingConfirmation?
    var identity: StoreIdentity?
    var runtime: [RuntimeBinding] = []
    var connectionsTracked = 0
    var kernel: DataPlaneStatus

    /// Reads both sides; without a store (no database yet) the kernel is compared with an empty policy.
    static func read(_ session: DataPlaneSession, store: PolicyStore?) throws -> StatusReading {
        var current: Revision?
        var policy: Policy?
        var modules = ModuleSlots()
        var pending: PendingConfirmation?
        var identity: StoreIdentity?
        var runtime: [RuntimeBinding] = []
        var connections = 0
        if let store {
            current = try store.currentRevision()
            if let current { policy = try store.policy(at: current.id) }
            modules = try session.moduleSlots(store)
            pending = try store.pendingConfirmation()
            identity = try store.storeIdentity()
            runtime = try store.runtimeBindings()
            connections = try store.connections().count
            if var p = policy {
                let committed = Set(p.bindings.map(\.key))
                p.bindings += runtime.compactMap(\.mapBinding).filter { !committed.contains($0.key) }
                policy = p
            }
        }
        let kernel = try session.applier().status(policy: policy ?? Policy(), modules: modules)
        return StatusReading(current: current, pending: pending, identity: identity, runtime: runtime, connectionsTracked: connections,
                             kernel: kernel)
    }

    /// Every attached interface has both hooks, none lost its device.
    var linksOK: Bool { kernel.interfaces.allSatisfy { $0.hooks.count == 2 && !$0.hooks.contains { $0.mode == "detached" } } }

    var inSync: Bool { kernel.loaded && linksOK && kernel.drift.isEmpty && kernel.kernelRevision == current?.id }

    /// Nothing loaded and nothing committed is not a difference; `inSync` (which also needs
    /// programs loaded) keeps its meaning for existing readers.
    var differs: Bool { !linksOK || !kernel.drift.isEmpty || kernel.kernelRevision != current?.id }

    /// The metrics of this reading (`daemon`: the daemon's own counters, when it is the reader).
    func metrics(daemon: DaemonMetrics.Snapshot? = nil) -> MetricsSnapshot {
        MetricsSnapshot(version: EmptcpVersion.string, kernel: kernel, currentRevision: current?.id, inSync: inSync,
                        confirmDeadline: pending?.deadline.timeIntervalSince1970, runtimeBindings: runtime.count,
                        connectionsTracked: connectionsTracked, daemon: daemon)
    }
}
