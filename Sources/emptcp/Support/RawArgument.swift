import EmptcpStore

/// Command-line arguments as the kernel passed them. Swift decodes argv as UTF-8 and replaces
/// invalid bytes with U+FFFD, so a file name that is not UTF-8 would no longer name its file;
/// this finds the raw bytes of the argument that decoded to `text`.
enum RawArgument {
    static func path(_ text: String) -> PolicyPath {
        guard text.unicodeScalars.contains("\u{FFFD}") else { return PolicyPath(text) }
        for i in 0..<Int(CommandLine.argc) {
            guard let arg = CommandLine.unsafeArgv[i] else { continue }
            var bytes: [UInt8] = []
            var p = arg
            while p.pointee != 0 {
                bytes.append(UInt8(bitPattern: p.pointee))
                p += 1
            }
            if String(decoding: bytes, as: UTF8.self) == text { return PolicyPath(bytes: bytes) }
        }
        return PolicyPath(text)
    }
}
