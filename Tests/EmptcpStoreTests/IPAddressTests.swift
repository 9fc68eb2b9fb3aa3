import Testing
@testable import EmptcpStore
@Test func ipAddressRoundTrip() { #expect(IPAddress("10.0.1.1")?.description == "10.0.1.1"); #expect(IPAddress("fd00::1")?.description == "fd00::1"); #expect(IPAddress("300.1.1.1") == nil) }
