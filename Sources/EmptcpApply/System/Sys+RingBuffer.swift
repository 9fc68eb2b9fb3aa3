import CLibbpf
import Glibc

// libbpf ring buffers: the records the data plane reports (events, ADD_ADDR removals).

extension Sys {
    /// Receives raw records from `ring_buffer__poll` (libbpf calls back with a context pointer).
    final class RecordSink {
        var records: [[UInt8]] = []
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
    }
}

/// libbpf ring-buffer callback: copies the record out (the ring slot is released after return).
private let ringBufferSample: ring_buffer_sample_fn = { ctx, data, size in
    guard let ctx, let data else { return 0 }
    let sink = Unmanaged<Sys.RecordSink>.fromOpaque(ctx).takeUnretainedValue()
    sink.records.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
    return 0
}
