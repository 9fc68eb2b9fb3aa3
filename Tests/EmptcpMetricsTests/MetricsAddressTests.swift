import Testing
@testable import EmptcpMetrics

/// `daemon run --metrics ADDR`, spelled as node_exporter's --web.listen-address.
@Suite struct MetricsAddressTests {
    @Test func acceptsHostPortBracketedIPv6AndPortAlone() throws {
        #expect(try MetricsAddress(parsing: "127.0.0.1:9100") == MetricsAddress(host: "127.0.0.1", port: 9100))
        #expect(try MetricsAddress(parsing: "[::1]:9100") == MetricsAddress(host: "::1", port: 9100))
        #expect(try MetricsAddress(parsing: "[fd00:1::2]:80") == MetricsAddress(host: "fd00:1::2", port: 80))
        #expect(try MetricsAddress(parsing: ":9100") == MetricsAddress(host: nil, port: 9100))
        #expect(try MetricsAddress(parsing: "localhost:9100") == MetricsAddress(host: "localhost", port: 9100))
        #expect(try MetricsAddress(parsing: "127.0.0.1:0").port == 0)
        #expect(try MetricsAddress(parsing: "[::1]:9100").description == "[::1]:9100")
        #expect(try MetricsAddress(parsing: ":9100").description == ":9100")
    }

    @Test(arguments: ["9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "::1:9100",
                      "[::1]9100", "[::1:9100", "[127.0.0.1]:9100", "[nothex]:9100", "host name:9100", "a/b:1", ":", "", ":+80", ":٣٣"])
    func refusesWhatIsNotAnAddress(_ text: String) {
        #expect(throws: MetricsAddress.Invalid.self) { try MetricsAddress(parsing: text) }
    }

    @Test func bracketlessIPv6SaysWhereTheBracketsGo() {
        let error = #expect(throws: MetricsAddress.Invalid.self) { try MetricsAddress(parsing: "::1:9100") }
        #expect(error?.description.contains("[::1]:9100") == true)
        #expect(error?.description.contains("\n") == false)
    }
}
