import Foundation

/// The daemon's durable runtime state (migrations/003_runtime_state.sql). Every change is its own
/// short transaction, committed before the daemon acts on it, so a SIGKILL at any point leaves
/// at worst a repeat, never a loss.
extension PolicyStore {
    // MARK: connections

    /// Records a live connection and (some of) its subflows; existing rows are kept.
    public func recordConnection(token: UInt32, subflows: [String]) throws {
        try write("runtime connection") {
            try db.prepare("INSERT OR IGNORE INTO runtime_connection (token, first_seen) VALUES (?, ?)").run([.int(Int64(token)), .int(Date().millis)])
            let insert = try db.prepare("INSERT OR REPLACE INTO runtime_subflow (subflow, token) VALUES (?, ?)")
            for s in subflows { try insert.run([.text(s), .int(Int64(token))]) }
        }
    }

    /// Forgets a closed connection, its subflows and the ADD_ADDRs removed from them.
    public func forgetConnection(token: UInt32) throws {
        try write("runtime connection") {
            try db.prepare("DELETE FROM runtime_removed_add_addr WHERE subflow IN (SELECT subflow FROM runtime_subflow WHERE token = ?)")
                .run([.int(Int64(token))])
            try db.prepare("DELETE FROM runtime_subflow WHERE token = ?").run([.int(Int64(token))])
            try db.prepare("DELETE FROM runtime_connection WHERE token = ?").run([.int(Int64(token))])
        }
    }

    /// Forgets one closed subflow.
    public func forgetSubflow(_ subflow: String) throws {
        try write("runtime subflow") {
            try db.prepare("DELETE FROM runtime_subflow WHERE subflow = ?").run([.text(subflow)])
            try db.prepare("DELETE FROM runtime_removed_add_addr WHERE subflow = ?").run([.text(subflow)])
        }
    }

    /// Replaces the tracked connections with what the kernel holds now (token → subflows), and
    /// drops removed ADD_ADDRs whose subflow is gone. Used when the daemon starts or lost events.
    public func replaceConnections(_ live: [UInt32: [String]]) throws {
        try write("runtime resync") {
            try db.execute("DELETE FROM runtime_subflow")
            let keep = try db.prepare("INSERT OR IGNORE INTO runtime_connection (token, first_seen) VALUES (?, ?)")
            let subflow = try db.prepare("INSERT OR REPLACE INTO runtime_subflow (subflow, token) VALUES (?, ?)")
            let now = Date().millis
            for (token, subflows) in live {
                try keep.run([.int(Int64(token)), .int(now)])
                for s in subflows { try subflow.run([.text(s), .int(Int64(token))]) }
            }
            try db.execute("DELETE FROM runtime_connection WHERE token NOT IN (SELECT token FROM runtime_subflow)")
            try db.execute("DELETE FROM runtime_removed_add_addr WHERE subflow NOT IN (SELECT subflow FROM runtime_subflow)")
        }
    }

    /// Tracked connections: token → subflows.
    public func connections() throws -> [UInt32: [String]] {
        var result: [UInt32: [String]] = [:]
        for c in try db.prepare("SELECT token FROM runtime_connection").rows([], { UInt32(truncatingIfNeeded: $0.int64(0)) }) {
            result[c] = []
        }
        for (s, t) in try db.prepare("SELECT subflow, token FROM runtime_subflow ORDER BY subflow").rows([], { ($0.text(0), UInt32(truncatingIfNeeded: $0.int64(1))) }) {
            result[t, default: []].append(s)
        }
        return result
    }

    // MARK: removed ADD_ADDRs

    /// Saves a removed ADD_ADDR (hex option bytes). A retransmission of the same bytes is one row.
    /// Returns true when it was new.
    @discardableResult
    public func recordRemovedAddAddr(subflow: String, option: String) throws -> Bool {
        try write("runtime add_addr") {
            try db.prepare("INSERT OR IGNORE INTO runtime_removed_add_addr (subflow, option, seen) VALUES (?, ?, ?)")
                .run([.text(subflow), .text(option), .int(Date().millis)])
            return try db.scalarInt("SELECT changes()") == 1
        }
    }

    /// Every saved removed ADD_ADDR, oldest first.
    public func removedAddAddrs() throws -> [(subflow: String, option: String)] {
        try db.prepare("SELECT subflow, option FROM runtime_removed_add_addr ORDER BY seen, rowid").rows([]) { ($0.text(0), $0.text(1)) }
    }

    /// Drops one saved ADD_ADDR once it has been delivered (or its connection is gone).
    public func forgetRemovedAddAddr(subflow: String, option: String) throws {
        try write("runtime add_addr") {
            try db.prepare("DELETE FROM runtime_removed_add_addr WHERE subflow = ? AND option = ?").run([.text(subflow), .text(option)])
        }
    }

    // MARK: live repairs

    /// Queues the repairs of one apply (one transaction); returns their ids.
    @discardableResult
    public func queueLiveRepairs(_ repairs: [LiveRepair], revision: Int64?) throws -> [Int64] {
        guard !repairs.isEmpty else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try write("runtime work") {
            let insert = try db.prepare("INSERT INTO runtime_work (created, revision, kind, match) VALUES (?, ?, ?, ?)")
            var ids: [Int64] = []
            for r in repairs {
                try insert.run([.int(Date().millis), .of(revision), .text(r.kind.rawValue), .text(String(decoding: try encoder.encode(r.match), as: UTF8.self))])
                ids.append(try db.scalarInt("SELECT last_insert_rowid()") ?? 0)
            }
            return ids
        }
    }

    /// Repairs not yet carried out, oldest first.
    public func pendingLiveRepairs() throws -> [LiveRepairWork] {
        let decoder = JSONDecoder()
        return try db.prepare("SELECT id, created, revision, kind, match, state, detail FROM runtime_work WHERE state = 'pending' ORDER BY id")
            .rows([]) { s -> LiveRepairWork? in
                guard let kind = LiveRepair.Kind(rawValue: s.text(3)),
                      let match = try? decoder.decode(BindingKey.self, from: Data(s.text(4).utf8)) else { return nil }
                return LiveRepairWork(id: s.int64(0), created: Date(millis: s.int64(1)), revision: s.int64OrNil(2),
                                      repair: LiveRepair(kind: kind, match: match), state: .pending, detail: s.text(6))
            }.compactMap { $0 }
    }

    /// Closes a repair with its outcome.
    public func finishLiveRepair(id: Int64, state: LiveRepairWork.State, detail: String) throws {
        try write("runtime work") {
            try db.prepare("UPDATE runtime_work SET state = ?, detail = ? WHERE id = ?").run([.text(state.rawValue), .text(detail), .int(id)])
        }
    }
}

extension PolicyStore {
    /// Caps this connection's page cache. The store opens with a large cache for big commits;
    /// the daemon keeps its connection for its whole life and appends an audit row per
    /// injection, so with the large cache its memory would grow with the audit trail.
    public func limitPageCache(kibibytes: Int) throws {
        try db.execute("PRAGMA cache_size = -\(max(64, kibibytes))")
    }
}
