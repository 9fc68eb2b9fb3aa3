/// Text made safe to print on a terminal on one line. Control characters (C0, DEL, C1: ESC
/// sequences, CR, newlines) and the Unicode bidirectional controls (which reorder what follows,
/// so a message can show text other than what it holds) are written as `\u{XX}` escapes.
/// Everything else prints as is. Machine output (`--json`) stays verbatim: JSON has its own
/// escaping.
public enum PrintableText {
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Bytes that may not be UTF-8 (a file name): invalid bytes print as `\xNN`, the rest as `escape`.
    public static func escape(bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return escape(text) }
        var out = ""
        var start = 0
        while start < bytes.count {
            // The longest valid UTF-8 run from `start`, then one invalid byte.
            var end = bytes.count
            while end > start, String(validating: bytes[start..<end], as: UTF8.self) == nil { end -= 1 }
            if end > start {
                out += escape(String(decoding: bytes[start..<end], as: UTF8.self))
                start = end
            } else {
                out += "\\x" + (bytes[start] < 16 ? "0" : "") + String(bytes[start], radix: 16)
                start += 1
            }
        }
        return out
    }

    /// C0, DEL, C1, and the bidi controls (LRM, RLM, ALM, LRE…RLO, LRI…PDI).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1f, 0x7f...0x9f: return true
        case 0x200e, 0x200f, 0x061c, 0x202a...0x202e, 0x2066...0x2069: return true
        default: return false
        }
    }
}
