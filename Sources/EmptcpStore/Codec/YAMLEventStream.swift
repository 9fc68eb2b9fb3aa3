import CYaml

/// libyaml's event parser (vendored in Yams as CYaml) over a UTF-8 buffer, one event at a time:
/// what the policy file's fast path reads instead of a node tree. The buffer must outlive the
/// stream; the current event is valid until the next `advance()`.
final class YAMLEventStream {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let current = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
    private var holdsEvent = false
    private let ready: Bool

    /// `bytes` must not be empty (libyaml takes no null input pointer).
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        ready = yaml_parser_initialize(parser) == 1
        if ready {
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, bytes.baseAddress, bytes.count)
        }
    }

    deinit {
        if holdsEvent { yaml_event_delete(current) }
        if ready { yaml_parser_delete(parser) }
        parser.deallocate()
        current.deallocate()
    }

    /// Moves to the next event; false on a syntax error (the caller's slower path reports it).
    func advance() -> Bool {
        if holdsEvent {
            yaml_event_delete(current)
            holdsEvent = false
        }
        guard ready, yaml_parser_parse(parser, current) == 1 else { return false }
        holdsEvent = true
        return true
    }

    var event: yaml_event_t { current.pointee }
    var type: yaml_event_type_t { current.pointee.type }
}
