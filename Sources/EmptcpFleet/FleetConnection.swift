import Foundation
import Logging
import PostgresNIO

/// Opening a connection to the fleet database.
public enum FleetConnection {
    /// Connects to `url`; TLS when the URL asks for it (sslmode=require), with the system's trust
    /// roots and the host name checked. A failure to connect is `FleetError.unreachable`.
    public static func open(_ url: FleetURL, logger: Logger) async throws -> PostgresConnection {
        var config: PostgresConnection.Configuration
        switch url.endpoint {
        case let .unixSocket(path):
            config = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
        case let .tcp(host, port):
            let tls: PostgresConnection.Configuration.TLS
            if url.requireTLS {
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            } else {
                tls = .disable
            }
            config = .init(host: host, port: port, username: url.user, password: url.password, database: url.database, tls: tls)
        }
        config.options.connectTimeout = .seconds(5)
        do {
            return try await PostgresConnection.connect(configuration: config, id: Int.random(in: 1...Int(Int32.max)), logger: logger)
        } catch {
            throw FleetError.unreachable(url.description, cause: FleetDatabase.message(error))
        }
    }

    /// Runs `body` on a fresh connection, closing it afterwards.
    public static func with<T: Sendable>(_ url: FleetURL, logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let conn = try await open(url, logger: logger)
        do {
            let value = try await body(conn)
            try? await conn.close()
            return value
        } catch {
            try? await conn.close()
            throw error
        }
    }
}
