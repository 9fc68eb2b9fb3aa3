import Foundation

/// Operator modules (docs/sdk.md, "Operator modules") and attachments (recorded by the applier for boot restore). Not
/// versioned: they describe the machine, not the policy.
extension PolicyStore {
    public func modules() throws -> [ModuleRecord] {
        try db.prepare("SELECT name, hook, kind, object_path, slot, added_at FROM module ORDER BY name").rows([]) {
            ModuleRecord(
                name: $0.text(0), hook: Hook(rawValue: $0.text(1)) ?? .xdp, kind: ModuleKind(rawValue: $0.text(2)) ?? .actor,
                objectPath: $0.text(3), slot: Int($0.int64(4)), addedAt: Date(millis: $0.int64(5)))
        }
    }

    public func addModule(_ m: ModuleRecord) throws {
        do {
            try write("module add") {
                guard PolicyValidator.isValidName(m.name) else {
                    throw StoreError.validation(file: nil, line: nil, key: "module", message: "module names are letters, digits, _ and - (at most 64), starting with a letter or _")
                }
                guard !ActorCall.builtinNames.contains(m.name), SelectorKind(rawValue: m.name) == nil else {
                    throw StoreError.validation(file: nil, line: nil, key: "module", message: "\(m.name) is a built-in name")
                }
                if try !db.prepare("SELECT 1 FROM module WHERE name = ?").rows([.text(m.name)], { _ in true }).isEmpty {
                    throw StoreError.moduleExists(m.name)
                }
                try db.prepare("INSERT INTO module (name, hook, kind, object_path, slot, added_at) VALUES (?, ?, ?, ?, ?, ?)").run([
                    .text(m.name), .text(m.hook.rawValue), .text(m.kind.rawValue), .text(m.objectPath), .int(Int64(m.slot)), .int(m.addedAt.millis),
                ])
                try insertAudit(action: "module-add", revision: nil, outcome: .ok, detail: "\(m.kind.rawValue) \(m.name) on \(m.hook.rawValue) slot \(m.slot) from \(m.objectPath)")
            }
        } catch {
            auditFailure(action: "module-add", revision: nil, error: error)
            throw error
        }
    }

    /// Refused while the current revision names the module.
    public func removeModule(name: String) throws {
        do {
            try write("module remove") {
                if let head = try currentRevision() {
                    let usedBySelector = try selectors(at: nil).values.contains { $0.contains { $0.name == name } }
                    let usedByChain = try chains(at: nil).values.contains { $0.contains { $0.name == name } }
                    if usedBySelector || usedByChain { throw StoreError.moduleInUse(name: name, revision: head.id) }
                }
                try db.prepare("DELETE FROM module WHERE name = ?").run([.text(name)])
                guard db.changes == 1 else { throw StoreError.moduleNotFound(name) }
                try insertAudit(action: "module-remove", revision: nil, outcome: .ok, detail: "module \(name) removed")
            }
        } catch {
            auditFailure(action: "module-remove", revision: nil, error: error)
            throw error
        }
    }

    public func recordAttachment(_ a: Attachment) throws {
        try write("record attachment") {
            try db.prepare("INSERT OR REPLACE INTO attachment (iface, hook, mode, pin_root, attached_at) VALUES (?, ?, ?, ?, ?)")
                .run([.text(a.iface), .text(a.hook.rawValue), .text(a.mode), .text(a.pinRoot), .int(a.attachedAt.millis)])
        }
    }

    public func removeAttachment(iface: String, hook: Hook) throws {
        try write("remove attachment") {
            try db.prepare("DELETE FROM attachment WHERE iface = ? AND hook = ?").run([.text(iface), .text(hook.rawValue)])
        }
    }

    public func attachments() throws -> [Attachment] {
        try db.prepare("SELECT iface, hook, mode, pin_root, attached_at FROM attachment ORDER BY iface, hook").rows([]) {
            Attachment(iface: $0.text(0), hook: Hook(rawValue: $0.text(1)) ?? .xdp, mode: $0.text(2), pinRoot: $0.text(3), attachedAt: Date(millis: $0.int64(4)))
        }
    }
}
