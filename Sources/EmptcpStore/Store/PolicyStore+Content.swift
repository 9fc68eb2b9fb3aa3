import Foundation

/// Reading and writing the content tables (selector_chain, chain, binding). Each row lives from
/// `added_in` until `removed_in`; see migrations/001_initial.sql.
extension PolicyStore {
    /// SQL condition for rows alive at revision `?1` (bound twice as ?1).
    static let aliveAt = "added_in <= ?1 AND (removed_in IS NULL OR removed_in > ?1)"

    func selectors(at id: Int64?) throws -> [Hook: [SelectorStep]] {
        let (cond, args): (String, [SQLValue?]) = id.map { (Self.aliveAt, [.int($0)]) } ?? ("removed_in IS NULL", [])
        var out: [Hook: [SelectorStep]] = [:]
        for (hookText, json) in try db.prepare("SELECT hook, steps FROM selector_chain WHERE \(cond)").rows(args, { ($0.text(0), $0.text(1)) }) {
            guard let hook = Hook(rawValue: hookText) else { continue }
            out[hook] = try PolicyFile.storedSteps(json, hook: hook)
        }
        return out
    }

    func chains(at id: Int64?) throws -> [String: [ActorCall]] {
        let (cond, args): (String, [SQLValue?]) = id.map { (Self.aliveAt, [.int($0)]) } ?? ("removed_in IS NULL", [])
        var out: [String: [ActorCall]] = [:]
        for (name, json) in try db.prepare("SELECT name, actors FROM chain WHERE \(cond)").rows(args, { ($0.text(0), $0.text(1)) }) {
            out[name] = try PolicyFile.storedActors(json)
        }
        return out
    }

    /// A binding row's content columns, in the order `forEachBinding` reads them after `id`.
    static let bindingColumns = "hook, selector, local, local_port, remote, remote_port, chain"

    func bindings(at id: Int64?) throws -> [Binding] {
        var out: [Binding] = []
        try forEachBinding(at: id) { out.append($0.binding) }
        return out
    }

    /// Hands every binding of revision `id` (nil: the current rows) to `body`, in row order,
    /// decoded in place from SQLite's buffers: hook and selector by their bytes, addresses
    /// parsed from the column text without a String, and one chain String shared by
    /// consecutive rows of one chain (they come grouped as a policy lists them). A row that no
    /// commit writes (a hook, selector, address or port the model cannot hold) fails with
    /// `StoreError.corruptRow` rather than being read as something else.
    func forEachBinding(at id: Int64?, _ body: (BindingRow) throws -> Void) throws {
        let (cond, args): (String, [SQLValue?]) = id.map { (Self.aliveAt, [.int($0)]) } ?? ("removed_in IS NULL", [])
        let statement = try db.prepare(
            "SELECT id, \(Self.bindingColumns) FROM binding WHERE \(cond)")
        var chain = "", chainBytes: [UInt8] = []
        try statement.forEachRow(args) { s in
            let row = s.int64(0)
            guard let hook = Self.named(s.lentText(1), Self.hookNames) else { throw Self.corrupt(row, "hook", s.lentText(1)) }
            guard let selector = Self.named(s.lentText(2), Self.selectorNames) else { throw Self.corrupt(row, "selector", s.lentText(2)) }
            let local = try Self.address(s, 3, "local", row: row), remote = try Self.address(s, 5, "remote", row: row)
            let localPort = try Self.port(s, 4, "local_port", row: row), remotePort = try Self.port(s, 6, "remote_port", row: row)
            guard let name = s.lentText(7) else { throw Self.corrupt(row, "chain", nil) }
            if !Self.same(name, chainBytes) {
                chain = String(decoding: name, as: UTF8.self)
                chainBytes = Array(name)
            }
            try body(BindingRow(hook: hook, selector: selector, local: local, localPort: localPort,
                                remote: remote, remotePort: remotePort, chain: chain))
        }
    }

    private static let hookNames = Hook.allCases.map { ($0, Array($0.rawValue.utf8)) }
    private static let selectorNames = SelectorKind.allCases.map { ($0, Array($0.rawValue.utf8)) }

    /// The value whose name is `bytes` (the schema's checks allow no other text).
    private static func named<E>(_ bytes: UnsafeBufferPointer<UInt8>?, _ names: [(E, [UInt8])]) -> E? {
        guard let bytes else { return nil }
        for (value, name) in names where same(bytes, name) { return value }
        return nil
    }

    private static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ other: [UInt8]) -> Bool {
        guard bytes.count == other.count else { return false }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        return other.withUnsafeBufferPointer { memcmp($0.baseAddress!, base, bytes.count) == 0 }
    }

    private static func address(_ s: Statement, _ column: Int32, _ field: String, row: Int64) throws -> InlineAddress? {
        guard let text = s.lentText(column) else { return nil }
        guard let base = text.baseAddress,
              let address = UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: text.count + 1, { InlineAddress(cString: $0) })
        else { throw corrupt(row, field, text, "is not an IP address") }
        return address
    }

    private static func port(_ s: Statement, _ column: Int32, _ field: String, row: Int64) throws -> UInt16? {
        guard let value = s.int64OrNil(column) else { return nil }
        guard let port = UInt16(exactly: value) else { throw StoreError.corruptRow(table: "binding", row: row, message: "\(field) \(value) is not a port") }
        return port
    }

    private static func corrupt(_ row: Int64, _ field: String, _ text: UnsafeBufferPointer<UInt8>?, _ problem: String = "is not valid") -> StoreError {
        let value = text.map { "'\(String(decoding: $0, as: UTF8.self))'" } ?? "NULL"
        return StoreError.corruptRow(table: "binding", row: row, message: "\(field) \(value) \(problem)")
    }

    /// Revision `id`'s content for an encoder that streams its bindings: `body` gets the
    /// selector and action chains as values and reads the bindings with
    /// `RevisionContent.forEachBinding`, all inside one read transaction, so the three are of
    /// one revision even while a commit runs.
    public func withContent<T>(at id: Int64, _ body: (RevisionContent) throws -> T) throws -> T {
        try read {
            try body(RevisionContent(revision: try revision(id), selectors: try selectors(at: id), chains: try chains(at: id), store: self))
        }
    }

    /// The full content of revision `id`.
    public func policy(at id: Int64) throws -> Policy {
        try read {
            _ = try revision(id)
            return Policy(selectors: try selectors(at: id), chains: try chains(at: id), bindings: try bindings(at: id))
        }
    }

    /// The content of the current revision (empty before the first commit).
    public func currentPolicy() throws -> Policy {
        try read {
            guard let head = try currentRevision() else { return Policy() }
            return Policy(selectors: try selectors(at: head.id), chains: try chains(at: head.id), bindings: try bindings(at: head.id))
        }
    }

    /// Closes the live selector chains and action chains that differ in `p` and opens the new ones.
    /// Both are small (a few rows), so they are compared in full.
    /// Returns how many selector chains (hooks) and action chains changed, for the audit detail.
    @discardableResult
    func writeSelectorsAndChains(_ p: Policy, revision: Int64) throws -> (selectors: Int, chains: Int) {
        var changed = (selectors: 0, chains: 0)
        let oldSelectors = try selectors(at: nil), oldChains = try chains(at: nil)
        let closeSel = try db.prepare("UPDATE selector_chain SET removed_in = ? WHERE hook = ? AND removed_in IS NULL")
        let openSel = try db.prepare("INSERT INTO selector_chain (hook, steps, added_in) VALUES (?, ?, ?)")
        for hook in Hook.allCases {
            let old = oldSelectors[hook] ?? [], new = p.selectors[hook] ?? []
            guard old != new else { continue }
            changed.selectors += 1
            if !old.isEmpty { try closeSel.run([.int(revision), .text(hook.rawValue)]) }
            if !new.isEmpty { try openSel.run([.text(hook.rawValue), .text(PolicyCanonical.stepsJSON(new)), .int(revision)]) }
        }
        let closeChain = try db.prepare("UPDATE chain SET removed_in = ? WHERE name = ? AND removed_in IS NULL")
        let openChain = try db.prepare("INSERT INTO chain (name, actors, added_in) VALUES (?, ?, ?)")
        for name in Set(oldChains.keys).union(p.chains.keys).sorted() {
            let old = oldChains[name], new = p.chains[name]
            guard old != new else { continue }
            changed.chains += 1
            if old != nil { try closeChain.run([.int(revision), .text(name)]) }
            if let new { try openChain.run([.text(name), .text(PolicyCanonical.actorsJSON(new)), .int(revision)]) }
        }
        return changed
    }

    /// Prepared statements for binding rows, reused across a commit.
    struct BindingWriter {
        let open: Statement
        let close: Statement

        init(_ db: Database) throws {
            open = try db.prepare("""
                INSERT INTO binding (key, hook, selector, local, local_port, remote, remote_port, chain, added_in)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            close = try db.prepare("UPDATE binding SET removed_in = ? WHERE id = ?")
        }

        func insert(_ b: Binding, key: String, revision: Int64) throws {
            open.reset()
            try open.withBindingRow(b, storageKey: key) {
                open.set(9, revision)
                while try open.step() {}
            }
        }

        func close(rowID: Int64, revision: Int64) throws { try close.run([.int(revision), .int(rowID)]) }
    }
}

extension Statement {
    /// Sets parameters 1–8 to a binding row in the order of the binding table (storage key,
    /// hook, selector, local, local_port, remote, remote_port, chain) and runs `body` (the step)
    /// while they are bound. The texts are lent, not copied (`setLent`): hook, selector and the
    /// addresses are the storage key's own fields (`hook selector local local_port remote
    /// remote_port`, `-` when absent), so a row formats no address a second time.
    func withBindingRow<T>(_ b: Binding, storageKey: String, _ body: () throws -> T) throws -> T {
        var key = storageKey, chain = b.chain
        return try key.withUTF8 { k in
            try chain.withUTF8 { c in
                var space = (-1, -1, -1, -1, -1), n = 0
                for i in 0..<k.count where k[i] == 0x20 {
                    switch n {
                    case 0: space.0 = i
                    case 1: space.1 = i
                    case 2: space.2 = i
                    case 3: space.3 = i
                    case 4: space.4 = i
                    default: break
                    }
                    n += 1
                }
                guard n == 5, let base = k.baseAddress, let chainBase = c.baseAddress else {
                    setBindingRow(b, storageKey: storageKey)  // not the storage key's shape: copy as before
                    return try body()
                }
                func field(_ i: Int32, _ from: Int, _ to: Int, nullable: Bool) {
                    if nullable && to - from == 1 && k[from] == 0x2d { set(i, nil as String?) } else { setLent(i, base + from, count: to - from) }
                }
                setLent(1, base, count: k.count)
                field(2, 0, space.0, nullable: false)
                field(3, space.0 + 1, space.1, nullable: false)
                field(4, space.1 + 1, space.2, nullable: true)
                set(5, b.key.localPort.map { Int64($0) })
                field(6, space.3 + 1, space.4, nullable: true)
                set(7, b.key.remotePort.map { Int64($0) })
                setLent(8, chainBase, count: c.count)
                return try body()
            }
        }
    }

    /// Sets parameters 1–8 to a binding row, copying each text.
    func setBindingRow(_ b: Binding, storageKey: String) {
        set(1, storageKey)
        set(2, b.key.hook.rawValue)
        set(3, b.key.selector.rawValue)
        set(4, b.key.local?.description)
        set(5, b.key.localPort.map { Int64($0) })
        set(6, b.key.remote?.description)
        set(7, b.key.remotePort.map { Int64($0) })
        set(8, b.chain)
    }
}
