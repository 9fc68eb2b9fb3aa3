import Foundation

/// A change to the current bindings only, for callers that edit a few bindings of a large policy:
/// it reads and writes only the rows it names, so its cost does not grow with the policy.
public struct BindingChanges: Sendable {
    /// Bindings to add, or to re-point at another chain when their key exists.
    public var upsert: [Binding]
    /// Keys of bindings to remove; each must exist.
    public var remove: [BindingKey]

    /// What an upserted key must be in the current revision.
    public var upsertRequires: KeyPresence

    /// `.either`: add or re-point (a patch); `.absent`: add only (`binding add`); `.present`:
    /// re-point only (`binding set`).
    public enum KeyPresence: Sendable {
        case either, absent, present
    }

    public init(upsert: [Binding] = [], remove: [BindingKey] = [], upsertRequires: KeyPresence = .either) {
        self.upsert = upsert
        self.remove = remove
        self.upsertRequires = upsertRequires
    }
}

extension PolicyStore {
    /// Validates `policy` and makes it the new current revision. Throws `StoreError.identical`
    /// when nothing would change. Failures are audited.
    public func commit(_ policy: Policy, message: String?) throws -> Revision {
        try commit(policy, message: message, sourceMap: SourceMap(), confirmWithin: nil)
    }

    /// Parses, validates and commits a policy file; parse and validation failures are audited.
    public func commitFile(_ path: String, message: String?) throws -> Revision {
        try commitFile(path, message: message, confirmWithin: nil)
    }

    /// `confirmWithin`: keep the new revision only if `confirm()` is called within that many seconds.
    public func commitFile(_ path: String, message: String?, confirmWithin: TimeInterval?) throws -> Revision {
        try commitFile(PolicyPath(path), message: message, confirmWithin: confirmWithin)
    }

    /// A file named by raw bytes (a name that is not UTF-8).
    public func commitFile(_ path: PolicyPath, message: String?, confirmWithin: TimeInterval?) throws -> Revision {
        let parsed: (Policy, SourceMap)
        do {
            parsed = try PolicyFile.load(path: path)
        } catch {
            auditFailure(action: "commit", revision: nil, error: error)
            throw error
        }
        return try commit(parsed.0, message: message, sourceMap: parsed.1, confirmWithin: confirmWithin)
    }

    public func commit(_ policy: Policy, message: String?, sourceMap: SourceMap, confirmWithin: TimeInterval?) throws -> Revision {
        do {
            return try write("commit") { try commitLocked(policy, message: message, sourceMap: sourceMap, confirmWithin: confirmWithin) }
        } catch {
            auditFailure(action: "commit", revision: nil, error: error)
            throw error
        }
    }

    /// Applies `changes` to the current bindings as a new revision. Reads and writes O(changes)
    /// rows: the content hash is updated from the stored binding sum, not recomputed.
    public func commit(changes: BindingChanges, message: String?) throws -> Revision {
        try commit(changes: changes, message: message, sourceMap: SourceMap(), confirmWithin: nil)
    }

    /// `sourceMap` names the file the changes came from (a patch) and their lines in errors;
    /// `confirmWithin` as for a full commit.
    public func commit(changes: BindingChanges, message: String?, sourceMap: SourceMap, confirmWithin: TimeInterval?) throws -> Revision {
        do {
            return try write("commit") { try commitLocked(changes: changes, message: message, map: sourceMap, confirmWithin: confirmWithin) }
        } catch {
            auditFailure(action: "commit", revision: nil, error: error)
            throw error
        }
    }

    /// Parses, validates and commits a patch file (`PolicyPatch`) through `commit(changes:)`;
    /// parse and validation failures are audited as a commit's are.
    public func commitPatch(_ path: PolicyPath, message: String?, confirmWithin: TimeInterval?) throws -> Revision {
        let parsed: (BindingChanges, SourceMap)
        do {
            parsed = try PolicyPatch.load(path: path)
        } catch {
            auditFailure(action: "commit", revision: nil, error: error)
            throw error
        }
        return try commit(changes: parsed.0, message: message, sourceMap: parsed.1, confirmWithin: confirmWithin)
    }

    func commitLocked(_ policy: Policy, message: String?, sourceMap: SourceMap, confirmWithin: TimeInterval?) throws -> Revision {
        let head = try currentRevision()
        let keys = policy.bindings.map { $0.key.storageKey }
        try PolicyValidator.validate(policy, modules: try modules(), map: sourceMap, keys: keys)
        let (hash, sum) = ContentHash.of(policy, keys: keys)
        if let head, head.contentHash == hash { throw StoreError.identical(revision: head.id) }
        let id = (head?.id ?? 0) + 1
        let rev = try insertRevision(
            id: id, parent: head?.id, message: message, action: "commit", rollbackTo: nil, hash: hash, sum: sum,
            count: policy.bindings.count, now: Date())
        let structure = try writeSelectorsAndChains(policy, revision: id)

        // Compare with the live bindings by key: unchanged rows stay, others close and open.
        var live: [String: (row: Int64, chain: String)] = [:]
        live.reserveCapacity(head?.bindingCount ?? 0)
        let liveRows = try db.prepare("SELECT id, key, chain FROM binding WHERE removed_in IS NULL")
        liveRows.bind([])
        while try liveRows.step() { live[liveRows.text(1)] = (liveRows.int64(0), liveRows.text(2)) }
        let writer = try BindingWriter(db)
        var added = 0, changed = 0
        // Rows are written as the bindings go by: a changed key's live row is closed just before
        // its replacement opens, and an added key is not live (the live rows left over at the end
        // are the removed ones), so the unique index on live keys never sees two at once.
        for (b, key) in zip(policy.bindings, keys) {
            if let old = live.removeValue(forKey: key) {
                if old.chain == b.chain { continue }
                try writer.close(rowID: old.row, revision: id)
                changed += 1
            } else {
                added += 1
            }
            try writer.insert(b, key: key, revision: id)
        }
        for old in live.values { try writer.close(rowID: old.row, revision: id) }
        var detail = "revision \(id): \(policy.bindings.count) bindings (+\(added) -\(live.count) ~\(changed))"
        if structure.chains > 0 { detail += ", \(structure.chains) chain\(structure.chains == 1 ? "" : "s") changed" }
        if structure.selectors > 0 { detail += ", \(structure.selectors) selector chain\(structure.selectors == 1 ? "" : "s") changed" }
        try settlePending(revision: rev, previous: head?.id, confirmWithin: confirmWithin)
        try insertAudit(action: "commit", revision: id, outcome: .ok, detail: message.map { "\(detail); \($0)" } ?? detail)
        return rev
    }

    private func commitLocked(changes: BindingChanges, message: String?, map: SourceMap, confirmWithin: TimeInterval?) throws -> Revision {
        let head = try currentRevision()
        let selectors = try selectors(at: nil), chains = try chains(at: nil)
        // Validate the new bindings against the live selector chains and action chains.
        let probe = Policy(selectors: selectors, chains: chains, bindings: changes.upsert)
        try PolicyValidator.validate(probe, modules: try modules(), map: map)
        // A removal's error names its entry and line when the changes came from a file.
        func removeError(_ i: Int, _ message: String) -> StoreError {
            map.file == nil ? map.error("remove", message) : map.error("remove[\(i)]", message)
        }
        let upsertKeys = Set(changes.upsert.map(\.key))
        var removeKeys = Set<BindingKey>()
        for (i, k) in changes.remove.enumerated() {
            guard !upsertKeys.contains(k) else { throw removeError(i, "\(k) is both upserted and removed") }
            guard removeKeys.insert(k).inserted else { throw removeError(i, "\(k) listed twice") }
        }

        let lookup = try db.prepare("SELECT id, chain FROM binding WHERE key = ? AND removed_in IS NULL")
        func live(_ key: String) throws -> (row: Int64, chain: String)? {
            try lookup.rows([.text(key)]) { ($0.int64(0), $0.text(1)) }.first
        }
        var sum = try head.map { try bindingSum(of: $0.id) } ?? BindingSum()
        var count = head?.bindingCount ?? 0
        var closes: [Int64] = [], opens: [(Binding, String)] = []
        for b in changes.upsert {
            let key = b.key.storageKey
            let old = try live(key)
            switch (changes.upsertRequires, old) {
            case (.absent, .some):
                throw StoreError.validation(file: nil, line: nil, key: "binding", message: "\(b.key) exists (bound to chain \(old!.chain)); change it with `emptcp binding set`")
            case (.present, nil):
                throw StoreError.validation(file: nil, line: nil, key: "binding", message: "no binding \(b.key); add it with `emptcp binding add`")
            default: break
            }
            if let old {
                if old.chain == b.chain { continue }
                var oldBinding = b
                oldBinding.chain = old.chain
                sum.remove(oldBinding)
                closes.append(old.row)
            } else {
                count += 1
            }
            sum.add(b)
            opens.append((b, key))
        }
        for (i, k) in changes.remove.enumerated() {
            guard let old = try live(k.storageKey) else { throw removeError(i, "no binding \(k)") }
            sum.remove(Binding(k, chain: old.chain))
            count -= 1
            closes.append(old.row)
        }
        let hash = ContentHash.of(selectors: selectors, chains: chains, bindings: sum, count: count)
        if let head, head.contentHash == hash { throw StoreError.identical(revision: head.id) }
        let id = (head?.id ?? 0) + 1
        let rev = try insertRevision(
            id: id, parent: head?.id, message: message, action: "commit", rollbackTo: nil, hash: hash, sum: sum, count: count, now: Date())
        let writer = try BindingWriter(db)
        for row in closes { try writer.close(rowID: row, revision: id) }
        for (b, key) in opens { try writer.insert(b, key: key, revision: id) }
        try settlePending(revision: rev, previous: head?.id, confirmWithin: confirmWithin)
        let detail = "revision \(id): \(count) bindings (upsert \(changes.upsert.count), remove \(changes.remove.count))"
        try insertAudit(action: "commit", revision: id, outcome: .ok, detail: message.map { "\(detail); \($0)" } ?? detail)
        return rev
    }
}
