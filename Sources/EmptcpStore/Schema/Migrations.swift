import Logging

/// One numbered schema step from migrations/NNN_name.sql.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
}

/// Runs migrations forward, all pending ones in one transaction (all or nothing), tracking the schema in PRAGMA user_version.
/// Migrations are never edited after they ship; a change is a new file.
public enum Migrations {
    /// The schema this binary writes.
    public static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// Brings the database to `target` (default: latest). Refuses a database newer than we know.
    static func migrate(_ db: Database, to target: Int? = nil, logger: Logger) throws {
        let target = target ?? latestVersion
        // Up to date (the common case): no write lock, so readers without write access can open.
        let seen = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        if seen > latestVersion { throw StoreError.schemaTooNew(found: seen, supported: latestVersion) }
        if seen >= target { return }
        // BEGIN IMMEDIATE, then read the version again: two processes opening a fresh file at once
        // must not both run migration 1.
        try db.execute("BEGIN IMMEDIATE")
        var committed = false
        defer { if !committed { try? db.execute("ROLLBACK") } }
        let current = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        if current > latestVersion {
            throw StoreError.schemaTooNew(found: current, supported: latestVersion)
        }
        for m in embedded where m.version > current && m.version <= target {
            logger.debug("migrating schema", metadata: ["schema.version": "\(m.version)", "schema.name": "\(m.name)"])
            try db.execute(m.sql)
            try db.execute("PRAGMA user_version = \(m.version)")
        }
        try db.execute("COMMIT")
        committed = true
    }
}
