import Foundation

/// A repair of live connections that an apply asks for, because the new revision undoes what
/// the old one did to packets that already reached the stack.
public struct LiveRepair: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        /// ADD_ADDR stripping stopped (or `recover_add_addr` was bound): replay the removed
        /// ADD_ADDRs of matching connections so the stack can join the announced address.
        case redeliverAddAddr = "redeliver-add-addr"
        /// An ingress backup mark (`set_flow_prio {backup: true}` on XDP) was removed: deliver
        /// MP_PRIO B=0 on every matching subflow the peer side left marked backup.
        case clearBackup = "clear-backup"
    }

    public var kind: Kind
    /// The binding whose change caused the repair (XDP: local = this host).
    public var match: BindingKey

    public init(kind: Kind, match: BindingKey) {
        self.kind = kind
        self.match = match
    }
}

/// A stored repair and where it stands.
public struct LiveRepairWork: Sendable, Hashable {
    public enum State: String, Sendable { case pending, done, superseded }
    public var id: Int64
    public var created: Date
    public var revision: Int64?
    public var repair: LiveRepair
    public var state: State
    public var detail: String
}
