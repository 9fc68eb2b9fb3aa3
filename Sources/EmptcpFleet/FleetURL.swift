import Foundation

/// A fleet address in the libpq URL form: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB?sslmode=require`,
/// or over a unix socket `postgresql:///DB?host=/run/postgresql&user=USER[&port=5432]` (a `host`
/// starting with `/` is the socket's directory, as in libpq).
public struct FleetURL: Sendable, Hashable, CustomStringConvertible {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// The socket file itself: DIR/.s.PGSQL.PORT.
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String?
    /// sslmode=require (or verify-full): TLS or no connection.
    public var requireTLS: Bool

    public init(_ text: String) throws {
        guard let c = URLComponents(string: text), ["postgres", "postgresql"].contains(c.scheme ?? "") else {
            throw FleetError.badURL("expected postgresql://USER@HOST[:PORT]/DB or postgresql:///DB?host=/socket/dir&user=USER")
        }
        var query: [String: String] = [:]
        for item in c.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let port = c.port ?? query["port"].flatMap(Int.init) ?? 5432
        let host = (c.percentEncodedHost.flatMap { $0.removingPercentEncoding }).flatMap { $0.isEmpty ? nil : $0 } ?? query["host"] ?? "/run/postgresql"
        endpoint = host.hasPrefix("/") ? .unixSocket(path: "\(host)/.s.PGSQL.\(port)") : .tcp(host: host, port: port)
        guard let user = c.user ?? query["user"], !user.isEmpty else { throw FleetError.badURL("the URL names no user") }
        self.user = user
        password = c.password ?? query["password"]
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        database = path.isEmpty ? query["dbname"] : path
        switch query["sslmode"] ?? "disable" {
        case "disable", "allow", "prefer": requireTLS = false
        case "require", "verify-ca", "verify-full": requireTLS = true
        case let mode: throw FleetError.badURL("unknown sslmode \(mode)")
        }
        if requireTLS, case .unixSocket = endpoint { throw FleetError.badURL("sslmode=\(query["sslmode"]!) needs a TCP host, not a unix socket") }
    }

    /// The address without its password, for logs and audit rows.
    public var description: String {
        switch endpoint {
        case let .tcp(host, port): "postgresql://\(user)@\(host):\(port)/\(database ?? "")"
        case let .unixSocket(path): "postgresql://\(user)@unix:\(path)/\(database ?? "")"
        }
    }
}
