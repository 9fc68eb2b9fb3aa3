import Testing
@testable import EmptcpApply
@Test func placeholder() { #expect(Bool(true)) }
