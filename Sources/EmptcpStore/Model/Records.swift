import Foundation

/// One revision of the policy. History is linear: `parent` is the revision that was current when
/// this one was made (nil for the first).
public struct Revision: Codable, Sendable, Hashable {
    public var id: Int64
    public var parent: Int64?
    public var createdAt: Date
    public var uid: UInt32
    public var user: String
    public var host: String
    public var message: String?
    /// SHA-256 hex of the canonical content (ContentHash.swift): equal content, equal hash.
    public var contentHash: String
    /// `commit` or `rollback`.
    public var action: String
    /// For a rollback: the revision whose content it restored.
    public var rollbackTo: Int64?
    public var bindingCount: Int

    enum CodingKeys: String, CodingKey {
        case id, parent, createdAt = "created_at", uid, user, host, message, contentHash = "content_hash", action
        case rollbackTo = "rollback_to", bindingCount = "binding_count"
    }
}

public enum AuditOutcome: String, Codable, Sendable {
    case ok, failed, refused
}

/// One row of the audit trail: every commit, rollback, confirmation and failed attempt.
public struct AuditEntry: Codable, Sendable, Hashable {
    public var id: Int64
    public var time: Date
    public var uid: UInt32
    public var user: String
    public var host: String
    public var action: String
    public var revision: Int64?
    public var outcome: AuditOutcome
    public var detail: String
}

/// Where the applier attached the data plane, so a boot restore can redo it.
public struct Attachment: Codable, Sendable, Hashable {
    public var iface: String
    public var hook: Hook
    public var mode: String
    public var pinRoot: String
    public var attachedAt: Date

    enum CodingKeys: String, CodingKey {
        case iface, hook, mode, pinRoot = "pin_root", attachedAt = "attached_at"
    }

    public init(iface: String, hook: Hook, mode: String, pinRoot: String, attachedAt: Date = Date()) {
        self.iface = iface
        self.hook = hook
        self.mode = mode
        self.pinRoot = pinRoot
        self.attachedAt = attachedAt
    }
}

public enum ModuleKind: String, Codable, Sendable, CaseIterable {
    case selector, actor
}

/// An operator module (docs/sdk.md, "Operator modules"): a BPF program in a free slot of one hook's program array.
public struct ModuleRecord: Codable, Sendable, Hashable {
    public var name: String
    public var hook: Hook
    public var kind: ModuleKind
    public var objectPath: String
    public var slot: Int
    public var addedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, hook, kind, objectPath = "object_path", slot, addedAt = "added_at"
    }

    public init(name: String, hook: Hook, kind: ModuleKind, objectPath: String, slot: Int, addedAt: Date = Date()) {
        self.name = name
        self.hook = hook
        self.kind = kind
        self.objectPath = objectPath
        self.slot = slot
        self.addedAt = addedAt
    }
}

/// A commit made with `--confirm`: rolled back to `previous` unless confirmed by `deadline`.
public struct PendingConfirmation: Codable, Sendable, Hashable {
    public var revision: Int64
    public var previous: Int64?
    public var deadline: Date
}
