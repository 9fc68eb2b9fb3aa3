import Foundation

extension PolicyStore {
    /// Creates a new revision whose content equals revision `target` (default: the parent of the
    /// current one). History is never rewritten. Failures are audited.
    public func rollback(to target: Int64?, message: String?) throws -> Revision {
        do {
            return try write("rollback") {
                guard let head = try currentRevision() else { throw StoreError.nothingToRollBack }
                guard let targetID = target ?? head.parent else { throw StoreError.nothingToRollBack }
                let rev: Revision
                do {
                    rev = try restoreLocked(head: head, target: targetID, message: message ?? "rollback to revision \(targetID)")
                } catch StoreError.identical(let current) {
                    throw StoreError.alreadyCurrent(target: targetID, current: current)
                }
                try settlePending(revision: rev, previous: head.id, confirmWithin: nil)
                try insertAudit(action: "rollback", revision: rev.id, outcome: .ok, detail: "revision \(rev.id) restores revision \(targetID) (\(rev.bindingCount) bindings)")
                return rev
            }
        } catch {
            auditFailure(action: "rollback", revision: target, error: error)
            throw error
        }
    }

    /// Makes the content of `target` (nil: the empty policy) current as a new `rollback` revision.
    /// Works in SQL on the interval columns: rows live now but not at `target` are closed, rows
    /// live at `target` but closed since are copied; cost grows with the difference only.
    func restoreLocked(head: Revision, target: Int64?, message: String) throws -> Revision {
        let hash: String, sum: BindingSum, count: Int
        if let target {
            let t = try revision(target)
            try checkModulesExist(at: target)
            (hash, sum, count) = (t.contentHash, try bindingSum(of: target), t.bindingCount)
        } else {
            (hash, sum, count) = (ContentHash.of(Policy()).hash, BindingSum(), 0)
        }
        if hash == head.contentHash { throw StoreError.identical(revision: head.id) }
        let id = head.id + 1
        let rev = try insertRevision(
            id: id, parent: head.id, message: message, action: "rollback", rollbackTo: target, hash: hash, sum: sum, count: count, now: Date())
        let tables = [
            ("selector_chain", "hook, steps"),
            ("chain", "name, actors"),
            ("binding", "key, \(Self.bindingColumns)"),
        ]
        let t = target ?? 0
        for (table, columns) in tables {
            try db.prepare("UPDATE \(table) SET removed_in = ?1 WHERE removed_in IS NULL AND added_in > ?2").run([.int(id), .int(t)])
            guard target != nil else { continue }
            try db.prepare("""
                INSERT INTO \(table) (\(columns), added_in)
                SELECT \(columns), ?1 FROM \(table) WHERE added_in <= ?2 AND removed_in > ?2
                """).run([.int(id), .int(t)])
        }
        return rev
    }

    /// A rollback must not resurrect a policy that names a module removed since.
    private func checkModulesExist(at id: Int64) throws {
        let known = Set(try modules().map(\.name))
        for steps in try selectors(at: id).values {
            for s in steps where s.builtin == nil && !known.contains(s.name) {
                throw StoreError.moduleNotFound("\(s.name) (used by revision \(id))")
            }
        }
        for actors in try chains(at: id).values {
            for case .module(let name, _) in actors where !known.contains(name) {
                throw StoreError.moduleNotFound("\(name) (used by revision \(id))")
            }
        }
    }

    /// The differences from revision `a` to revision `b` (default: the current one).
    public func diff(from a: Int64, to b: Int64?) throws -> PolicyDiff {
        let from = try policy(at: a)
        let to = try b.map { try policy(at: $0) } ?? currentPolicy()
        return PolicyDiff(from: from, to: to)
    }
}
