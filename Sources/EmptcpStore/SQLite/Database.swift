import CSQLite
import Foundation

/// The one file that calls SQLite's C API. A `Database` owns one connection and closes it on
/// deinit; it is not thread-safe (one per thread or process, as SQLite's own docs advise).
final class Database {
    private var handle: OpaquePointer?
    let path: String

    /// `create`: make the file if missing, owner-only. Otherwise the file must exist; it opens
    /// read-only when this process may not write it (a reader with read access still reads).
    init(path: String, busyTimeoutMs: Int32, create: Bool = true) throws {
        self.path = path
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX
        var name = path
        if create {
            Self.createOwnerOnly(path)
            flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw StoreError.io(path: path, message: "no such database (only a commit creates one)")
            }
            if access(path, W_OK) == 0 {
                flags |= SQLITE_OPEN_READWRITE
            } else {
                flags |= SQLITE_OPEN_READONLY
                // A WAL database needs its -shm file. A reader that may not create it (no write
                // access to the directory) and finds none (no writer is active: the last one
                // removed it) opens the file as immutable, which reads it without the -shm.
                let dir = (path as NSString).deletingLastPathComponent
                if !FileManager.default.fileExists(atPath: path + "-shm"), access(dir.isEmpty ? "." : dir, W_OK) != 0,
                   let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) {
                    name = "file:\(encoded)?immutable=1"
                    flags |= SQLITE_OPEN_URI
                }
            }
        }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StoreError.sqlite(operation: "open \(path)", code: rc, message: message)
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeoutMs)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Creates an empty database file with mode 0600 unless one exists. SQLite would create it
    /// 0644 (less the umask), and gives its -wal and -shm files the database file's mode, so
    /// this one call keeps all three owner-only.
    private static func createOwnerOnly(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
    }

    /// Runs one or more statements without results (schema, pragmas, transaction control).
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw StoreError.sqlite(operation: Self.firstLine(sql), code: rc, message: message)
        }
    }

    func prepare(_ sql: String) throws -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw StoreError.sqlite(operation: Self.firstLine(sql), code: rc, message: String(cString: sqlite3_errmsg(handle)))
        }
        return Statement(stmt, db: self, sql: sql)
    }

    /// Opened read-only (the file was not writable by this process).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// A single integer from a query such as `PRAGMA user_version`.
    func scalarInt(_ sql: String) throws -> Int64? {
        let stmt = try prepare(sql)
        return try stmt.step() ? stmt.int64OrNil(0) : nil
    }

    static func firstLine(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).first.map(String.init) ?? sql
        return line.trimmingCharacters(in: .whitespaces)
    }

    static func isBusy(_ code: Int32) -> Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
}

/// A prepared statement; bind by 1-based index, read columns by 0-based index.
final class Statement {
    private let stmt: OpaquePointer
    private unowned let db: Database
    private let sql: String

    fileprivate init(_ stmt: OpaquePointer, db: Database, sql: String) {
        self.stmt = stmt
        self.db = db
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    @discardableResult
    func bind(_ values: [SQLValue?]) -> Statement {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() { bind(v, at: Int32(i + 1)) }
        return self
    }

    /// Resets the statement for binding one column at a time with `set` (no array per row: the
    /// hot loop of a large commit).
    func reset() {
        sqlite3_reset(stmt)
    }

    func set(_ i: Int32, _ text: String?) {
        if let text { sqlite3_bind_text(stmt, i, text, -1, emptcp_sqlite_transient()) } else { sqlite3_bind_null(stmt, i) }
    }

    /// Binds `count` UTF-8 bytes at `text` without copying them (SQLITE_STATIC): SQLite reads
    /// them when the statement steps, so the caller binds and steps while it lends the bytes
    /// (inside its `withUTF8`). The hot loop of a large commit binds six texts per row; copied,
    /// each cost SQLite an allocation and a free.
    func setLent(_ i: Int32, _ text: UnsafePointer<UInt8>, count: Int) {
        sqlite3_bind_text(stmt, i, UnsafeRawPointer(text).assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    func set(_ i: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(stmt, i, value) } else { sqlite3_bind_null(stmt, i) }
    }

    private func bind(_ value: SQLValue?, at i: Int32) {
        switch value {
        case nil: sqlite3_bind_null(stmt, i)
        case .int(let v): sqlite3_bind_int64(stmt, i, v)
        case .text(let v): sqlite3_bind_text(stmt, i, v, -1, emptcp_sqlite_transient())
        case .real(let v): sqlite3_bind_double(stmt, i, v)
        }
    }

    /// Advances; true while a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = db.errorMessage
            sqlite3_reset(stmt)
            throw StoreError.sqlite(operation: Database.firstLine(sql), code: rc, message: message)
        }
    }

    /// Binds and runs a statement that returns no rows.
    func run(_ values: [SQLValue?] = []) throws {
        bind(values)
        while try step() {}
    }

    /// Binds, then hands every row to `body` in turn (no array of results: the row path of
    /// a large read, whose columns `body` reads in place).
    func forEachRow(_ values: [SQLValue?] = [], _ body: (Statement) throws -> Void) throws {
        bind(values)
        while try step() { try body(self) }
    }

    /// Binds, then maps every row.
    func rows<T>(_ values: [SQLValue?] = [], _ map: (Statement) throws -> T) throws -> [T] {
        bind(values)
        var out: [T] = []
        while try step() { out.append(try map(self)) }
        return out
    }

    var columnCount: Int32 { sqlite3_column_count(stmt) }
    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func int64OrNil(_ i: Int32) -> Int64? { isNull(i) ? nil : int64(i) }
    func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, i) else { return "" }
        return String(cString: p)
    }
    func textOrNil(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }

    /// The UTF-8 bytes of text column `i` in SQLite's own buffer, NUL-terminated after `count`
    /// bytes; nil when NULL. Lent, not copied: valid until the next step or reset, so callers
    /// decode them before they step again.
    func lentText(_ i: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, i)))
    }
}

enum SQLValue {
    case int(Int64)
    case text(String)
    case real(Double)
}

extension SQLValue {
    static func of(_ v: Int64?) -> SQLValue? { v.map { .int($0) } }
    static func of(_ v: Int?) -> SQLValue? { v.map { .int(Int64($0)) } }
    static func of(_ v: UInt16?) -> SQLValue? { v.map { .int(Int64($0)) } }
    static func of(_ v: String?) -> SQLValue? { v.map { .text($0) } }
}
