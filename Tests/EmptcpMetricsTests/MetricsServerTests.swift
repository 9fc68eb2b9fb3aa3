import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import EmptcpMetrics

/// The metrics listener on loopback with an ephemeral port: what it answers on /metrics and
/// elsewhere, a reading that fails, and an address already taken.
@Suite struct MetricsServerTests {
    static func get(_ server: MetricsServer, _ path: String, method: String = "GET") async throws -> (Int, String, String?) {
        var request = URLRequest(url: URL(string: "http://\(server.listening)\(path)")!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Content-Type"))
    }

    @Test func servesTheRenderedExpositionAtMetricsOnly() async throws {
        let server = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: 0)) { "# TYPE x gauge\nx 1\n" }
        defer { server.stop() }
        let (status, body, type) = try await Self.get(server, "/metrics")
        #expect(status == 200 && body == "# TYPE x gauge\nx 1\n")
        #expect(type == MetricsHTTPHandler.contentType)
        #expect(try await Self.get(server, "/metrics?name[]=x").0 == 200)
        #expect(try await Self.get(server, "/").0 == 404)
        #expect(try await Self.get(server, "/metrics/x").0 == 404)
        #expect(try await Self.get(server, "/metrics", method: "POST").0 == 405)
    }

    @Test func aFailedReadingIs500WithItsLine() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "store is busy" } }
        let server = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: 0)) { throw Broken() }
        defer { server.stop() }
        let (status, body, _) = try await Self.get(server, "/metrics")
        #expect(status == 500 && body == "reading the metrics failed: store is busy\n")
    }

    @Test func anAddressInUseIsOneLine() throws {
        let first = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: 0)) { "" }
        defer { first.stop() }
        let port = try #require(Int(first.listening.split(separator: ":").last!))
        let error = #expect(throws: MetricsServer.ListenError.self) {
            try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: port)) { "" }
        }
        #expect(error?.description == "cannot listen for metrics on 127.0.0.1:\(port): Address already in use")
    }
}
