import EmptcpStore
import Logging

/// Keeps the store's runtime tables in step with the kernel: connections and subflows from the
/// path manager's events (CLOSED forgets a connection), removed ADD_ADDRs from the ring buffer,
/// and a full resynchronisation from sock_diag at start or after lost events (connections
/// that began before the daemon are learned there). Each change is committed before the next
/// event is looked at.
public final class ConnectionTracker {
    let store: PolicyStore
    let logger: Logger

    public init(store: PolicyStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func observe(_ event: EmptcpEvent) {
        guard case .removedAddAddr(let h, let r) = event, h.hook == "xdp", let flow = h.flow, MptcpOption.isAddAddr(r.option) else { return }
        let subflow = SubflowKey(ingress: flow).description
        do {
            if try store.recordRemovedAddAddr(subflow: subflow, option: MptcpOption.hex(r.option)) {
                logger.info("saved removed ADD_ADDR", metadata: ["subflow": "\(subflow)", "addr.id": "\(r.addressId ?? 0)"])
            }
        } catch {
            logger.error("could not save a removed ADD_ADDR", metadata: ["subflow": "\(subflow)", "store.error": "\(error)"])
        }
    }

    public func observe(_ event: MptcpPmEvent) {
        do {
            switch event.kind {
            case .created, .established, .subEstablished:
                try store.recordConnection(token: event.token, subflows: event.subflow.map { [$0.description] } ?? [])
            case .subClosed:
                if let s = event.subflow { try store.forgetSubflow(s.description) }
            case .closed:
                try store.forgetConnection(token: event.token)
            default:
                break
            }
        } catch {
            logger.error("could not record a path manager event", metadata: ["event": "\(event.text)", "store.error": "\(error)"])
        }
    }

    /// Replaces the tracked connections with the kernel's; returns the subflows seen.
    @discardableResult
    public func resync() throws -> [SubflowInfo] {
        let live = try SubflowDiag.dump()
        var byToken: [UInt32: [String]] = [:]
        for s in live { byToken[s.token, default: []].append(s.subflow.description) }
        try store.replaceConnections(byToken)
        logger.info("tracking live connections", metadata: ["connections": "\(byToken.count)", "subflows": "\(live.count)"])
        return live
    }
}
