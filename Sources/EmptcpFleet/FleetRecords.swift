import Foundation

/// One fleet revision. History is linear like a host's: `parent` was the head when it was made.
/// `content` is the canonical policy file (JSON) that hosts commit into their own stores.
public struct FleetRevision: Codable, Sendable, Hashable {
    public var id: Int64
    public var parent: Int64?
    public var createdAt: Date
    public var author: String
    public var clientHost: String
    public var message: String?
    public var action: String
    public var rollbackTo: Int64?
    public var contentHash: String
    public var bindingCount: Int
    public var content: String

    enum CodingKeys: String, CodingKey {
        case id, parent, author, message, action, content
        case createdAt = "created_at", clientHost = "client_host", rollbackTo = "rollback_to"
        case contentHash = "content_hash", bindingCount = "binding_count"
    }
}

/// One following host as it last reported itself.
public struct FleetHost: Codable, Sendable, Hashable {
    public var hostID: String
    public var owner: String
    public var labels: [String: String]
    /// The fleet revision the host runs (nil before its first apply).
    public var revision: Int64?
    /// The content the host's store holds now: differs from the fleet revision's after a forced
    /// local commit (drift).
    public var contentHash: String?
    public var appliedAt: Date?
    public var inSync: Bool
    public var lastSeen: Date
    public var error: String?
    public var errorRevision: Int64?

    enum CodingKeys: String, CodingKey {
        case owner, labels, revision, error
        case hostID = "host_id", contentHash = "content_hash", appliedAt = "applied_at", inSync = "in_sync"
        case lastSeen = "last_seen", errorRevision = "error_revision"
    }

    /// `in sync`, `drift` (a local commit differs from the fleet revision), `failed` (the last
    /// revision it tried failed; it keeps `revision`), or `pending` (nothing applied yet).
    public var state: String {
        if error != nil { return "failed" }
        if revision == nil { return "pending" }
        return inSync ? "in sync" : "drift"
    }
}

/// What a host reports into its row.
public struct FleetHostReport: Sendable, Hashable {
    public var hostID: String
    public var labels: [String: String]
    public var revision: Int64?
    public var contentHash: String?
    public var appliedAt: Date?
    public var inSync: Bool
    public var error: String?
    public var errorRevision: Int64?
    /// An audit line (`applied fleet revision 7`), nil for a heartbeat.
    public var event: String?

    public init(hostID: String, labels: [String: String], revision: Int64?, contentHash: String?, appliedAt: Date?, inSync: Bool,
                error: String? = nil, errorRevision: Int64? = nil, event: String? = nil) {
        self.hostID = hostID
        self.labels = labels
        self.revision = revision
        self.contentHash = contentHash
        self.appliedAt = appliedAt
        self.inSync = inSync
        self.error = error
        self.errorRevision = errorRevision
        self.event = event
    }
}
