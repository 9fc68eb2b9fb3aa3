import CLibbpf

/// Reads the pinned `emptcp_events` ring buffer (<pin root>/maps/emptcp_events) and decodes its
/// records. One consumer per ring buffer: `emptcp events` and `emptcp daemon` each read every
/// record they get, and two readers at once would split the records between them.
public final class EventReader {
    public let path: String
    private let ring: Sys.RingBuffer
    /// Records seen per event name, including "UNKNOWN".
    public private(set) var counts: [String: Int] = [:]

    public init(pinRoot: String) throws {
        let path = PinLayout(root: pinRoot).map(MapNames.events)
        self.path = path
        ring = try PinRoot.reading(pinRoot) {
            try PinRoot.requirePinned(path, root: pinRoot)
            let map = try Sys.objectGet(path)
            let info = try Sys.mapInfo(map, path)
            guard info.type == BPF_MAP_TYPE_RINGBUF.rawValue else {
                throw SystemError(operation: "open ring buffer", object: path, code: 22 /* EINVAL: not a RINGBUF map */)
            }
            return try Sys.RingBuffer(map: map, object: path)
        }
    }

    /// A descriptor that polls readable when records are waiting.
    public var pollDescriptor: Int32 { ring.epollFD }

    /// Every record available now, decoded, in ring order.
    public func read() throws -> [EmptcpEvent] {
        let events = try ring.drain(path).map(EventDecoder.decode)
        for e in events { counts[e.name, default: 0] += 1 }
        return events
    }

    /// Hands every record available now to `body`, decoded, each before the ring releases it:
    /// what `body` stores survives a crash of the reader at any point (at worst a record is
    /// seen twice).
    public func consume(_ body: (EmptcpEvent) -> Void) throws {
        try ring.consume(path) { raw in
            let event = EventDecoder.decode(Array(raw))
            counts[event.name, default: 0] += 1
            body(event)
        }
    }

    public var unknownCount: Int { counts["UNKNOWN"] ?? 0 }
}

/// SIGINT and SIGTERM as a pollable descriptor, for clean exits from event loops.
public final class StopSignal {
    public let descriptor: Int32
    public init() throws { descriptor = try Sys.stopPipe() }

    /// Waits until one of `descriptors` is readable or a stop signal arrives; returns the readable
    /// ones, or nil when asked to stop.
    public func wait(for descriptors: [Int32], timeoutMs: Int32 = -1) throws -> [Int32]? {
        let ready = try Sys.waitReadable(descriptors + [descriptor], timeoutMs: timeoutMs)
        return ready.contains(descriptor) ? nil : ready
    }
}


/// Unbuffered line output for streaming commands (stdout is a pipe under tests and in services).
public enum EventsOutput {
    public static func line(_ text: String) { Sys.writeLine(text) }
    public static func error(_ text: String) { Sys.writeLine(text, fd: 2) }
}
