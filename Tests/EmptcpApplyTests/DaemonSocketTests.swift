import Foundation
import Testing
@testable import EmptcpApply

/// The daemon's socket path: only a stale socket of ours is ever replaced.
@Suite struct DaemonSocketTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "emptcp-daemon-socket-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    @Test func regularFileAndSymlinkAreLeftAlone() throws {
        let file = dir + "/file.sock"
        try "keep me".write(toFile: file, atomically: false, encoding: .utf8)
        #expect(throws: SystemError.self) { _ = try Sys.unixListen(file) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")

        let target = dir + "/target"
        try "target".write(toFile: target, atomically: false, encoding: .utf8)
        let link = dir + "/link.sock"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: SystemError.self) { _ = try Sys.unixListen(link) }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func secondListenerOnTheSamePathIsRefused() throws {
        let path = dir + "/d.sock"
        let first = try Sys.unixListen(path)
        #expect {
            _ = try Sys.unixListen(path)
        } throws: { error in
            (error as? SystemError)?.code == EWOULDBLOCK
        }
        // The first daemon's socket is still there and still answers.
        _ = try Sys.unixConnect(path)
        Sys.removeSocket(path, of: first)
        #expect(!FileManager.default.fileExists(atPath: path))
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func liveSocketIsKeptEvenWithoutItsLock() throws {
        let path = dir + "/l.sock"
        let first = try Sys.unixListen(path)
        // Someone removed the lock file: the connect check still sees the listener.
        try FileManager.default.removeItem(atPath: path + ".lock")
        #expect {
            _ = try Sys.unixListen(path)
        } throws: { error in
            (error as? SystemError)?.code == EADDRINUSE
        }
        _ = try Sys.unixConnect(path)
        Sys.removeSocket(path, of: first)
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func staleSocketIsReplaced() throws {
        let path = dir + "/s.sock"
        do {
            // A daemon that died without cleaning up: socket file left, lock released.
            _ = try Sys.unixListen(path)
        }
        #expect(FileManager.default.fileExists(atPath: path))
        let second = try Sys.unixListen(path)
        _ = try Sys.unixConnect(path)
        Sys.removeSocket(path, of: second)
        try? FileManager.default.removeItem(atPath: dir)
    }
}
