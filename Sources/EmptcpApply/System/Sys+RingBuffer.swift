import CLibbpf
import Glibc

// libbpf ring buffers: the records the data plane reports (events, ADD_ADDR removals).

extension Sys {
    /// Receives raw records from `ring_buffer__poll` (libbpf calls back with a context pointer).
    final class RecordSink {
        var records: [[UInt8]] = []
        /// When set, each record goes here inside libbpf's callback, before the ring's consumer
        /// position moves past it, instead of into `records`.
        var handler: ((UnsafeRawBufferPointer) -> Void)?
    }

    /// A libbpf ring_buffer manager over one RINGBUF map, delivering records into `sink`.
    package final class RingBuffer {
        let handle: OpaquePointer
        let sink: RecordSink
        let map: Descriptor

        package init(map: Descriptor, object: String) throws {
            let sink = RecordSink()
            let ctx = Unmanaged.passUnretained(sink).toOpaque()
            guard let rb = ring_buffer__new(map.raw, ringBufferSample, ctx, nil) else {
                throw Sys.fail("ring_buffer__new", object, errno != 0 ? errno : EINVAL)
            }
            self.handle = rb
            self.sink = sink
            self.map = map
        }

        deinit { ring_buffer__free(handle) }

        var epollFD: Int32 { ring_buffer__epoll_fd(handle) }

        /// Consumes every record available now, without waiting.
        package func drain(_ object: String) throws -> [[UInt8]] {
            let ret = ring_buffer__consume(handle)
            if ret < 0 && -ret != EINTR { throw Sys.fail("ring_buffer__consume", object, -ret) }
            defer { sink.records.removeAll(keepingCapacity: true) }
            return sink.records
        }

        /// Consumes every record available now, handing each to `body` before it is released.
        package func consume(_ object: String, _ body: (UnsafeRawBufferPointer) -> Void) throws {
            try withoutActuallyEscaping(body) { escapable in
                sink.handler = escapable
                defer { sink.handler = nil }
                let ret = ring_buffer__consume(handle)
                if ret < 0 && -ret != EINTR { throw Sys.fail("ring_buffer__consume", object, -ret) }
            }
        }
    }
}

/// libbpf ring-buffer callback: copies the record out (the ring slot is released after return).
private let ringBufferSample: ring_buffer_sample_fn = { ctx, data, size in
    guard let ctx, let data else { return 0 }
    let sink = Unmanaged<Sys.RecordSink>.fromOpaque(ctx).takeUnretainedValue()
    if let handler = sink.handler {
        handler(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
    sink.records.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}
