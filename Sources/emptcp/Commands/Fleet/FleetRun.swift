import Dispatch
import EmptcpFleet
import Foundation
import Logging
import PostgresNIO

/// The CLI's commands are synchronous; the fleet speaks to PostgreSQL asynchronously. `FleetRun`
/// runs one async body to completion on the concurrency pool while the calling thread waits.
enum FleetRun {
    static func block<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// Resolves the URL, connects, checks the schema and runs `body` with a repository.
    static func withRepository<T: Sendable>(_ options: FleetOptions, _ body: @escaping @Sendable (FleetRepository) async throws -> T) throws -> T {
        let url = try FleetURL.resolve(flag: options.url, file: options.file)
        let logger = Logger.cli
        return try block {
            try await FleetConnection.with(url, logger: logger) { conn in
                try await FleetSchema.require(conn, logger: logger)
                return try await body(FleetRepository(conn: conn, logger: logger))
            }
        }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    // Written by the task before the semaphore signals, read after the wait: never at once.
    var result: Result<T, Error>?
}
