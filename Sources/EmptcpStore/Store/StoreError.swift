/// Every error the store throws. Each prints as one line naming the operation, the object and the
/// cause; `exitCode` is 2 for bad input and 1 for failures (docs/architecture.md, "CLI and exit codes").
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A policy file or policy that does not validate. `file`/`line` are nil for in-memory policies.
    case validation(file: String?, line: Int?, key: String, message: String)
    /// The commit (or rollback) would produce the content of the current revision again.
    case identical(revision: Int64)
    /// A rollback whose target has the content of the current revision: nothing to restore.
    case alreadyCurrent(target: Int64, current: Int64)
    case revisionNotFound(Int64)
    /// Rollback without a target and no revision before the current one.
    case nothingToRollBack
    /// The database was written by a newer emptcp.
    case schemaTooNew(found: Int, supported: Int)
    /// Another writer held the database for longer than the busy timeout.
    case busy(operation: String)
    case sqlite(operation: String, code: Int32, message: String)
    case moduleInUse(name: String, revision: Int64)
    case moduleNotFound(String)
    case moduleExists(String)
    case noPendingConfirmation
    case io(path: String, message: String)
    /// A stored row no commit writes (a field the schema's checks let through but the model
    /// cannot hold, e.g. an address that does not parse): the database was edited by hand or
    /// damaged. `row` is the row's id in `table`.
    case corruptRow(table: String, row: Int64, message: String)

    public var description: String {
        switch self {
        case let .validation(file, line, key, message):
            let place = [file, line.map(String.init)].compactMap { $0 }.joined(separator: ":")
            return place.isEmpty ? "\(key): \(message)" : "\(place): \(key): \(message)"
        case let .identical(rev):
            return "commit refused: content identical to current revision \(rev)"
        case let .alreadyCurrent(target, current):
            return "rollback refused: revision \(target) has the same content as current revision \(current); it is already the current content"
        case let .revisionNotFound(rev):
            return "revision \(rev) not found"
        case .nothingToRollBack:
            return "rollback refused: no revision before the current one"
        case let .schemaTooNew(found, supported):
            return "database schema version \(found) is newer than this emptcp supports (\(supported)); upgrade emptcp"
        case let .busy(operation):
            return "\(operation): database is busy (another writer held it past the busy timeout); retry"
        case let .sqlite(operation, code, message):
            return "sqlite: \(operation): \(message) (code \(code))"
        case let .moduleInUse(name, rev):
            return "module \(name) is used by current revision \(rev); remove it from the policy first"
        case let .moduleNotFound(name):
            return "module \(name) not found"
        case let .moduleExists(name):
            return "module \(name) already exists"
        case .noPendingConfirmation:
            return "confirm: no commit is waiting for confirmation"
        case let .io(path, message):
            return "\(path): \(message)"
        case let .corruptRow(table, row, message):
            return "\(table) row \(row): \(message) (the database holds a row no commit writes)"
        }
    }

    /// 2 for input the user can fix (validation, unknown revision), 1 for everything else.
    public var exitCode: Int32 {
        switch self {
        case .validation, .revisionNotFound, .moduleNotFound: 2
        default: 1
        }
    }
}
