/// The floor the store benchmark is measured against: the same binding rows inserted with one
/// prepared statement in one transaction into a plain table, with the store's pragmas (WAL,
/// synchronous FULL, cache size) but none of its work (no revision, validation, hash, indexes or diff).
/// Opening and creating the table happen in `init`, outside what the benchmark times.
public final class RawBaseline {
    private let db: Database

    public init(path: String) throws {
        db = try Database(path: path, busyTimeoutMs: 5000)
        try db.execute("PRAGMA journal_mode = WAL")
        try db.execute("PRAGMA synchronous = FULL")
        try db.execute("PRAGMA cache_size = -65536")
        try db.execute("""
            CREATE TABLE IF NOT EXISTS raw (key TEXT, hook TEXT, selector TEXT, local TEXT, local_port INTEGER,
                                            remote TEXT, remote_port INTEGER, chain TEXT, added_in INTEGER)
            """)
    }

    public func insert(_ bindings: [Binding]) throws {
        try db.execute("BEGIN IMMEDIATE")
        let insert = try db.prepare("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)")
        for b in bindings {
            insert.reset()
            try insert.withBindingRow(b, storageKey: b.key.storageKey) { while try insert.step() {} }
        }
        try db.execute("COMMIT")
    }
}
