/// Runs a pinned program once per `repeat` over `packet` with BPF_PROG_TEST_RUN and returns its
/// return code, the kernel's average duration per run in ns and the output packet (room for 256
/// bytes of growth).
public func testRun(progPath: String, packet: [UInt8], repeat count: UInt32) throws -> (retval: UInt32, durationNs: UInt32, output: [UInt8]) {
    let program = try Sys.objectGet(progPath)
    return try Sys.testRun(program, "program \(progPath)", packet: packet, repeat: max(count, 1), outputSize: packet.count + 256)
}
