import Foundation
import Logging
import Testing
@testable import EmptcpApply

// setns(2) is not exported by Glibc's Swift module (it needs _GNU_SOURCE); declared here for the
// tests only, with CLONE_NEWNET from <linux/sched.h>.
@_silgen_name("setns") private func setns(_ fd: Int32, _ nstype: Int32) -> Int32
private let CLONE_NEWNET: Int32 = 0x4000_0000

/// Real-kernel fixtures: a uniquely named veth pair in the test's own namespace and a private
/// bpffs pin root, both removed even when the test fails. Kernel tests need root and the built
/// objects; without them they fail (never skip silently).
final class ApplierFixture {
    let tag: String
    let netns: String
    let pinRoot: String
    let bpfDir: String
    let logger: Logger

    static let repo: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path
    }()

    init(_ name: String) throws {
        try #require(geteuid() == 0, "kernel tests need root (run as root; under CI they never skip)")
        bpfDir = ProcessInfo.processInfo.environment["EMPTCP_BPF_DIR"] ?? Self.repo + "/build/bpf"
        try #require(FileManager.default.fileExists(atPath: bpfDir + "/xdp/entry.o"), "BPF objects missing in \(bpfDir): run bash bpf/build.sh")
        tag = "\(name.prefix(4))\(getpid() % 10000)\(UInt16.random(in: 0...UInt16.max) % 1000)"
        netns = "eapt-\(tag)"
        pinRoot = NSTemporaryDirectory() + "eapt-pin-\(tag)"
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        self.logger = logger
        try sh("ip netns add \(netns)")
        try sh("ip -n \(netns) link add a0 type veth peer name b0 && ip -n \(netns) link set a0 up && ip -n \(netns) link set b0 up")
    }

    /// Runs `body` with this thread inside the test's network namespace (setns on the calling
    /// thread only; the rest of the test process stays where it is).
    func inNetns<T>(_ body: () throws -> T) throws -> T {
        let original = open("/proc/thread-self/ns/net", O_RDONLY)
        let target = open("/run/netns/\(netns)", O_RDONLY)
        defer { close(original); close(target) }
        try #require(original >= 0 && target >= 0)
        try #require(setns(target, CLONE_NEWNET) == 0, "setns: \(String(cString: strerror(errno)))")
        defer { _ = setns(original, CLONE_NEWNET) }
        return try body()
    }

    var applier: Applier { Applier(pinRoot: pinRoot, bpfDir: bpfDir, logDirectory: NSTemporaryDirectory(), logger: logger) }

    func cleanup() {
        _ = try? sh("ip netns del \(netns)")
        if Sys.isDirectory(pinRoot) {
            _ = try? sh("umount \(pinRoot)")
            _ = try? sh("rmdir \(pinRoot)")
        }
        // The data plane lock's file (a test that never detached leaves it behind).
        try? Sys.unlinkFile(ApplyLock.path(pinRoot: pinRoot))
    }

    deinit { cleanup() }

    /// Runs a shell command, in the namespace when `netns` is set; throws with its output on failure.
    @discardableResult
    func sh(_ command: String, inNetns: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", inNetns ? "nsenter --net=/run/netns/\(netns) sh -c '\(command)'" : command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ShellError(command: command, status: process.terminationStatus, output: output)
        }
        return output
    }

    struct ShellError: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "`\(command)` exited \(status): \(output)" }
    }
}
