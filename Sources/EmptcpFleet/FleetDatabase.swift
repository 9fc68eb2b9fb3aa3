import PostgresNIO

/// PostgresNIO hides the server's message from an error's description (it may hold data); the
/// fleet's errors are its own SQL, so the server's message is what an operator needs to read.
enum FleetDatabase {
    static func message(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let m = e.serverInfo?[.message] { return m }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        if let e = error as? PostgresTransactionError {
            if let inner = e.closureError ?? e.beginError ?? e.commitError { return message(inner) }
        }
        return "\(error)"
    }

    /// The SQLSTATE of a server error, if any.
    static func sqlState(_ error: Error) -> String? {
        if let e = error as? PSQLError { return e.serverInfo?[.sqlState] }
        if let e = error as? PostgresTransactionError, let inner = e.closureError { return sqlState(inner) }
        return nil
    }

    /// Runs `body`, turning database errors into one-line `FleetError.database`.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as FleetError {
            throw e
        } catch let e as PostgresTransactionError where e.closureError is FleetError {
            throw e.closureError!
        } catch {
            throw FleetError.database(message(error))
        }
    }
}
