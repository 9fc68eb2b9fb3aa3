import Foundation
import Logging

/// The versioned policy store: one SQLite connection (WAL, busy timeout, every write in
/// `BEGIN IMMEDIATE`). Not shared across threads; open one per thread or process.
///
/// Opening migrates the schema and rolls back any `--confirm` commit whose deadline has passed
/// (see `expiredOnOpen`).
public final class PolicyStore {
    public let path: String
    let db: Database
    let logger: Logger
    let identity: Identity
    /// Revisions created while opening because a pending confirmation had expired.
    public private(set) var expiredOnOpen: [Revision] = []

    /// How long a writer waits for another writer before failing with `StoreError.busy`.
    public static let defaultBusyTimeout: TimeInterval = 30

    /// How opening treats a missing database.
    public enum OpenMode: Sendable {
        /// Create the database if it is missing (its directory 0700, its files 0600): writers.
        case create
        /// Open an existing database only, read-only when the file is not writable: reading
        /// commands, so that a mistyped path is an error and not a new, empty history.
        case existing
    }

    public convenience init(path: String, logger: Logger = Logger(label: "emptcp.store"), mode: OpenMode = .create) throws {
        try self.init(path: path, logger: logger, busyTimeout: Self.defaultBusyTimeout, mode: mode)
    }

    public init(
        path: String, logger: Logger = Logger(label: "emptcp.store"), busyTimeout: TimeInterval, schemaVersion: Int? = nil,
        mode: OpenMode = .create
    ) throws {
        try Self.checkPath(path)
        self.path = path
        self.logger = logger
        self.identity = Identity.current()
        if mode == .create { try Self.createDirectory(of: path) }
        db = try Database(path: path, busyTimeoutMs: Int32(min(busyTimeout * 1000, Double(Int32.max))), create: mode == .create)
        // SQLite answers some lock conflicts while a database is being opened (switching to WAL,
        // WAL recovery after another process's last close) with SQLITE_BUSY at once, without
        // calling the busy handler; so the open steps are retried until the busy timeout runs out.
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                // WAL is recorded in the file; a read-only connection cannot switch modes (and
                // need not: it reads a WAL database with the -shm in heap memory when it
                // cannot create one).
                if !db.isReadOnly { try db.execute("PRAGMA journal_mode = WAL") }
                // FULL: a commit the CLI reported is on disk even after a power cut (WAL fsync per commit).
                try db.execute("PRAGMA synchronous = FULL")
                try db.execute("PRAGMA foreign_keys = ON")
                // 64 MiB page cache: a 100k-binding commit touches ~30 MB of table and index pages;
                // with the 2 MiB default SQLite spills pages mid-transaction and the commit triples.
                try db.execute("PRAGMA cache_size = -65536")
                // Reads map the file (up to 256 MiB) instead of copying every page in with
                // pread: an apply scans a 100k-binding revision's ~9 MB of rows, ~5 ms less.
                // Writes still go through the file descriptor and the WAL.
                try db.execute("PRAGMA mmap_size = 268435456")
                try Migrations.migrate(db, to: schemaVersion, logger: logger)
                break
            } catch let error as StoreError {
                let busy = Self.busyAware(error, operation: "open \(path)")
                guard case .busy = busy, Date() < deadline else { throw busy }
                usleep(UInt32.random(in: 2_000...20_000))
            }
        }
        // A schema-limited open (tests of old schemas) has no pending_confirm table.
        if schemaVersion == nil {
            // Not fatal: a reader without write access must still be able to read.
            do {
                expiredOnOpen = try expirePendingConfirmation()
            } catch {
                logger.warning("could not roll back an expired pending commit", metadata: ["store.error": "\(error)"])
            }
        }
    }

    /// SQLite gives special meaning to some names: "" is a temporary database deleted on close
    /// and ":memory:" one in memory; a commit there would be lost while reporting success.
    static func checkPath(_ path: String) throws {
        if path.isEmpty || path == ":memory:" || path.hasPrefix("file:") {
            let shown = path.isEmpty ? "an empty path" : path
            throw StoreError.validation(file: nil, line: nil, key: "database", message: "\(shown) names no database file (SQLite would use a temporary one); give a file path")
        }
    }

    /// Creates the missing directories of `path` owner-only: the store holds who changed what.
    static func createDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        guard !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.io(path: dir, message: "cannot create database directory: \((error as NSError).localizedDescription)")
        }
    }

    /// The schema version of the open database.
    public func schemaVersion() throws -> Int { Int(try db.scalarInt("PRAGMA user_version") ?? 0) }

    // MARK: transactions

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: one writer at a time, all or nothing.
    func write<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            try db.execute("BEGIN IMMEDIATE")
        } catch let error as StoreError {
            throw Self.busyAware(error, operation: operation)
        }
        do {
            let result = try body()
            try db.execute("COMMIT")
            return result
        } catch {
            try? db.execute("ROLLBACK")
            if let e = error as? StoreError { throw Self.busyAware(e, operation: operation) }
            throw error
        }
    }

    /// Runs `body` in a read transaction so multi-query reads see one snapshot.
    func read<T>(_ body: () throws -> T) throws -> T {
        try db.execute("BEGIN")
        defer { try? db.execute("COMMIT") }
        return try body()
    }

    static func busyAware(_ error: StoreError, operation: String) -> StoreError {
        if case let .sqlite(_, code, _) = error, Database.isBusy(code) { return .busy(operation: operation) }
        return error
    }

    // MARK: revisions

    static let revisionColumns = "id, parent, created_at, uid, user, host, message, content_hash, action, rollback_to, binding_count, bindings_sum"

    static func decodeRevision(_ s: Statement) -> Revision {
        Revision(
            id: s.int64(0), parent: s.int64OrNil(1), createdAt: Date(millis: s.int64(2)), uid: UInt32(truncatingIfNeeded: s.int64(3)),
            user: s.text(4), host: s.text(5), message: s.textOrNil(6), contentHash: s.text(7), action: s.text(8),
            rollbackTo: s.int64OrNil(9), bindingCount: Int(s.int64(10)))
    }

    /// The latest revision: history is linear, so the current one is the highest id.
    public func currentRevision() throws -> Revision? {
        try db.prepare("SELECT \(Self.revisionColumns) FROM revision ORDER BY id DESC LIMIT 1").rows([], Self.decodeRevision).first
    }

    public func revision(_ id: Int64) throws -> Revision {
        guard let r = try db.prepare("SELECT \(Self.revisionColumns) FROM revision WHERE id = ?").rows([.int(id)], Self.decodeRevision).first else {
            throw StoreError.revisionNotFound(id)
        }
        return r
    }

    func bindingSum(of id: Int64) throws -> BindingSum {
        let hex = try db.prepare("SELECT bindings_sum FROM revision WHERE id = ?").rows([.int(id)]) { $0.text(0) }.first
        guard let hex, let sum = BindingSum(hex: hex) else { throw StoreError.revisionNotFound(id) }
        return sum
    }

    /// Newest first.
    public func log(limit: Int?) throws -> [Revision] {
        try db.prepare("SELECT \(Self.revisionColumns) FROM revision ORDER BY id DESC LIMIT ?").rows([.int(Int64(limit ?? -1))], Self.decodeRevision)
    }

    /// Inserts the revision row; content rows reference it.
    func insertRevision(
        id: Int64, parent: Int64?, message: String?, action: String, rollbackTo: Int64?, hash: String, sum: BindingSum, count: Int, now: Date
    ) throws -> Revision {
        try db.prepare("""
            INSERT INTO revision (id, parent, created_at, uid, user, host, message, action, rollback_to, content_hash, bindings_sum, binding_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run([
                .int(id), .of(parent), .int(now.millis), .int(Int64(identity.uid)), .text(identity.user), .text(identity.host),
                .of(message), .text(action), .of(rollbackTo), .text(hash), .text(sum.hex), .int(Int64(count)),
            ])
        return Revision(
            id: id, parent: parent, createdAt: Date(millis: now.millis), uid: identity.uid, user: identity.user, host: identity.host,
            message: message, contentHash: hash, action: action, rollbackTo: rollbackTo, bindingCount: count)
    }
}
