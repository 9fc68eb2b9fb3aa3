import Foundation
import Testing
@testable import EmptcpFleet

@Suite struct FleetURLTests {
    @Test func tcpURLWithTLS() throws {
        let u = try FleetURL("postgresql://writer:s3cret@db.example:6432/fleet?sslmode=require")
        #expect(u.endpoint == .tcp(host: "db.example", port: 6432))
        #expect(u.user == "writer" && u.password == "s3cret" && u.database == "fleet" && u.requireTLS)
        // The password never prints.
        #expect(u.description == "postgresql://writer@db.example:6432/fleet")
    }

    @Test func unixSocketURL() throws {
        let u = try FleetURL("postgresql:///fleet?host=/tmp/pg&port=7000&user=h1")
        #expect(u.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.7000"))
        #expect(u.user == "h1" && u.database == "fleet" && !u.requireTLS)
    }

    @Test func badURLsAreRefused() {
        for text in ["http://x/y", "postgresql://db.example/fleet", "postgresql://u@h/d?sslmode=bogus",
                     "postgresql:///d?host=/tmp&user=u&sslmode=require"] {
            #expect(throws: FleetError.self) { try FleetURL(text) }
        }
    }

    @Test func resolveOrderFlagThenFileThenEnvironment() throws {
        let env = ["EMPTCP_FLEET": "postgresql://envuser@h/d"]
        #expect(try FleetURL.resolve(flag: "postgresql://flag@h/d", file: nil, environment: env).user == "flag")
        #expect(try FleetURL.resolve(flag: nil, file: nil, environment: env).user == "envuser")
        #expect(throws: FleetError.self) { try FleetURL.resolve(flag: nil, file: nil, environment: [:]) }
    }

    @Test func urlFileReadableByOthersIsRefused() throws {
        let path = NSTemporaryDirectory() + "fleet-url-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# fleet\npostgresql://h1:pw@db/fleet\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try FleetURL.resolve(flag: nil, file: path, environment: [:])
            Issue.record("a world-readable URL file was read")
        } catch let FleetError.urlFile(_, message) {
            #expect(message.contains("readable by group or others"))
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        if getuid() == 0 {
            #expect(try FleetURL.resolve(flag: nil, file: path, environment: [:]).password == "pw")
        } else {
            #expect(throws: FleetError.self) { try FleetURL.resolve(flag: nil, file: path, environment: [:]) }
        }
    }
}
