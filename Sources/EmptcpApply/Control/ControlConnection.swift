import Foundation

/// The controller's end of the daemon's socket: sends the hello and command lines, and reads
/// the lines the daemon sends (blocking). Used by the EmptcpControl library; all socket calls
/// go through Sys. Writes are serialised by a lock, so any thread may send while one thread reads.
public final class ControlConnection: @unchecked Sendable {
    private let socket: Descriptor
    private let path: String
    private var pending: [UInt8] = []
    private let writeLock = NSLock()

    public init(socketPath: String, hello: ControlHello) throws {
        Sys.ignoreSIGPIPE()
        socket = try Sys.unixConnect(socketPath)
        path = socketPath
        Sys.setReceiveTimeout(socket, seconds: 0)
        try send(hello)
    }

    public func send<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = Array((String(decoding: try encoder.encode(value), as: UTF8.self) + "\n").utf8)
        writeLock.lock()
        defer { writeLock.unlock() }
        try Sys.writeAll(socket, bytes, path)
    }

    /// The next complete lines; blocks until at least one arrives; nil when the daemon hung up.
    public func lines() throws -> [ControlLine]? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var result: [ControlLine] = []
                var rest = pending[...]
                var at: Array<UInt8>.Index? = newline
                while let n = at {
                    let line = Data(rest[rest.startIndex..<n])
                    rest = rest[(n + 1)...]
                    result.append(try JSONDecoder().decode(ControlLine.self, from: line))
                    at = rest.firstIndex(of: UInt8(ascii: "\n"))
                }
                pending = Array(rest)
                return result
            }
            guard let chunk = try Sys.readAvailable(socket, path) else { return nil }
            pending += chunk
        }
    }
}
