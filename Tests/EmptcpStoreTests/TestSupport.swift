import Foundation
@testable import EmptcpStore

/// A fresh directory per test, under the system temp dir.
func scratchDir(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "emptcp-store-tests/\(safe)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func write(_ text: String, to path: String) {
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// The sample policy of docs/store.md ("Policy file").
let samplePolicyYAML = """
    selectors:
      xdp: [{tcp4: or}, {tcp2: or}]
      tc:  [{tcp2: or}]
    chains:
      slow:
        - set_recv_win: {window: 1600}
        - rm_add_addr: {}
      backup:
        - set_flow_prio: {backup: true}
    bindings:
      - {hook: xdp, selector: tcp2, local: 10.0.1.1, remote: 10.0.1.2, chain: slow}
      - {hook: xdp, selector: tcp4, local: 10.0.1.1, local_port: 5201, remote: 10.0.1.2, remote_port: 40000, chain: slow}
      - {hook: tc, selector: tcp2, local: "fd00::1", remote: "fd00::2", chain: backup}

    """

func parse(_ yaml: String) throws -> Policy { try PolicyFile.parse(yaml, file: "test.yaml").0 }

/// A policy with `n` tcp2 bindings on xdp, all on chain `slow`.
func bigPolicy(_ n: Int, chain: String = "slow") -> Policy {
    var p = try! parse(samplePolicyYAML)
    p.bindings = (0..<n).map { i -> Binding in
        let local: [UInt8] = [10, 1, UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i)]
        let remote: [UInt8] = [10, 2, UInt8(truncatingIfNeeded: i >> 16), 1]
        return Binding(BindingKey(hook: .xdp, selector: .tcp2, local: IPAddress(bytes: local), remote: IPAddress(bytes: remote)), chain: chain)
    }
    return p
}

/// Runs a process to completion; returns (status, stdout, stderr).
@discardableResult
func run(_ executable: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting so a full pipe cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The `emptcp` executable built next to the test bundle (or EMPTCP_BIN).
func emptcpBinary() -> String {
    if let bin = ProcessInfo.processInfo.environment["EMPTCP_BIN"] { return bin }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // Linux: .build/debug/emptcpPackageTests.xctest; macOS: a bundle inside .build/debug.
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("emptcp").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("emptcp").path
}
