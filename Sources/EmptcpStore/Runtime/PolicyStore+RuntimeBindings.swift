import Foundation

/// A controller's binding of one flow to a committed chain (migrations/004_runtime_bindings.sql).
public struct RuntimeBinding: Codable, Sendable, Equatable, Hashable {
    public var hook: String
    public var flow: String
    public var chain: String
    public var token: UInt32
    public var controller: String

    public init(hook: String, flow: String, chain: String, token: UInt32, controller: String) {
        self.hook = hook
        self.flow = flow
        self.chain = chain
        self.token = token
        self.controller = controller
    }
}

/// Runtime bindings: each change is one transaction with its audit row, so the table and the
/// audit trail never disagree.
extension PolicyStore {
    /// Adds or replaces the binding of (hook, flow); audits `runtime-bind`.
    public func recordRuntimeBinding(_ b: RuntimeBinding) throws {
        try write("runtime binding") {
            try db.prepare("INSERT OR REPLACE INTO runtime_binding (hook, flow, chain, token, controller, created) VALUES (?, ?, ?, ?, ?, ?)")
                .run([.text(b.hook), .text(b.flow), .text(b.chain), .int(Int64(b.token)), .text(b.controller), .int(Date().millis)])
            try insertAudit(action: "runtime-bind", revision: nil, outcome: .ok, detail: "controller=\(b.controller) hook=\(b.hook) flow=\(b.flow) chain=\(b.chain) token=\(String(format: "%08x", b.token))")
        }
    }

    /// Removes bindings; audits `runtime-unbind` per row with `reason`.
    public func forgetRuntimeBindings(_ bindings: [RuntimeBinding], reason: String) throws {
        guard !bindings.isEmpty else { return }
        try write("runtime unbind") {
            let delete = try db.prepare("DELETE FROM runtime_binding WHERE hook = ? AND flow = ?")
            for b in bindings {
                try delete.run([.text(b.hook), .text(b.flow)])
                try insertAudit(action: "runtime-unbind", revision: nil, outcome: .ok, detail: "controller=\(b.controller) hook=\(b.hook) flow=\(b.flow) chain=\(b.chain) token=\(String(format: "%08x", b.token)) reason=\(reason)")
            }
        }
    }

    /// Every runtime binding, ordered by hook and flow.
    public func runtimeBindings() throws -> [RuntimeBinding] {
        try db.prepare("SELECT hook, flow, chain, token, controller FROM runtime_binding ORDER BY hook, flow").rows([]) {
            RuntimeBinding(hook: $0.text(0), flow: $0.text(1), chain: $0.text(2), token: UInt32(truncatingIfNeeded: $0.int64(3)), controller: $0.text(4))
        }
    }
}
