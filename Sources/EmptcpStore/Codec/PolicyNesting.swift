/// Bounds how deeply a policy text nests before Yams sees it. Yams builds its node tree by
/// recursion, one stack frame pair per level, so a document such as `chains: [[[[…` 7,000 levels
/// deep overflows the stack and kills the process. A policy needs six levels at most (root →
/// section → chain → actor → parameters → value), so anything past `maxDepth` is refused here
/// with a line number, in one pass over the bytes and without recursion.
///
/// The scan over-estimates depth, never under-estimates it: every way YAML opens a level counts
/// (flow `[`/`{`, each block indentation step, and each `- `, `? `, `: ` indicator on a line), and
/// text that YAML reads as content (quoted scalars, comments, tags) is skipped only where YAML
/// itself would read it so. Three YAML features a policy never needs are refused because they
/// would make a cheap scan unreliable or the tree unbounded: anchors and aliases (`&a`, `*a`:
/// an alias re-uses a subtree, so a small file can expand exponentially), and block scalars
/// (`|`, `>`: their extent depends on indentation rules the scan does not model).
enum PolicyNesting {
    /// Deepest nesting the scan lets through (its over-estimate; real policies count 6 or 7).
    static let maxDepth = 32

    /// Throws a validation error naming the line where the text first goes too deep or uses a
    /// refused feature.
    static func check(_ text: String, file: String) throws {
        var text = text
        try text.withUTF8 { bytes in
            var scan = Scan(bytes: bytes, file: file)
            try scan.run()
        }
    }

    private struct Scan {
        let bytes: UnsafeBufferPointer<UInt8>
        let file: String
        var i = 0
        var line = 1
        /// Open flow collections.
        var flow = 0
        /// Indentation columns of the open block levels (block context only).
        var indents: [Int] = []
        /// Indicators (`- `, `? `, `: `) met on the current block line, each a level deeper.
        var inline = 0
        /// Whether the next token starts a node (where a quote opens a quoted scalar, `[`/`{` a
        /// collection, `&`/`*`/`!` an anchor, alias or tag).
        var nodeStart = true
        /// The previous token closed a quoted scalar: in flow context a `:` right after it is
        /// a value indicator even without a following space (`{"a":"b"}`).
        var afterQuote = false
        /// The previous byte was blank or a line break (a `#` then starts a comment).
        var prevBlank = true

        init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
            self.bytes = bytes
            self.file = file
        }

        func error(_ message: String) -> StoreError {
            .validation(file: file, line: line, key: "syntax", message: message)
        }

        func byte(_ at: Int) -> UInt8? { at < bytes.count ? bytes[at] : nil }

        /// Length of the line break at `at` (LF, CR LF, CR, and the Unicode breaks libyaml
        /// honours: NEL, LINE and PARAGRAPH SEPARATOR), 0 if none.
        func breakLength(_ at: Int) -> Int {
            switch byte(at) {
            case 0x0a: return 1
            case 0x0d: return byte(at + 1) == 0x0a ? 2 : 1
            case 0xc2: return byte(at + 1) == 0x85 ? 2 : 0
            case 0xe2: return byte(at + 1) == 0x80 && (byte(at + 2) == 0xa8 || byte(at + 2) == 0xa9) ? 3 : 0
            default: return 0
            }
        }

        /// Blank for indicator purposes: space, tab, a line break or the end of the text.
        func blankOrEnd(_ at: Int) -> Bool {
            guard let b = byte(at) else { return true }
            return b == 0x20 || b == 0x09 || breakLength(at) > 0
        }

        /// A byte-order mark, which libyaml skips.
        func isBOM(_ at: Int) -> Bool { byte(at) == 0xef && byte(at + 1) == 0xbb && byte(at + 2) == 0xbf }

        mutating func deeper() throws {
            if indents.count + inline + flow > PolicyNesting.maxDepth {
                throw error("nested more than \(PolicyNesting.maxDepth) levels deep")
            }
        }

        mutating func run() throws {
            while i < bytes.count {
                try lineStart()
                try lineRest()
            }
        }

        /// Indentation of a new line; in block context it opens or closes block levels.
        mutating func lineStart() throws {
            var col = 0
            prevBlank = true
            while byte(i) == 0x20 { i += 1; col += 1 }
            while isBOM(i) { i += 3 }
            guard flow == 0, let b = byte(i), breakLength(i) == 0, b != 0x23 /* # */ else { return }
            while let top = indents.last, top > col { indents.removeLast() }
            if indents.last != col { indents.append(col) }
            inline = 0
            nodeStart = true
            afterQuote = false
            // Document markers `---` / `...` at column 0 are followed by a node.
            if col == 0, byte(i) == byte(i + 1), byte(i) == byte(i + 2), byte(i) == 0x2d || byte(i) == 0x2e, blankOrEnd(i + 3) {
                i += 3
            }
            try deeper()
        }

        /// The rest of the line (and the lines a quoted scalar spans).
        mutating func lineRest() throws {
            while i < bytes.count {
                // Letters, digits, `.` and `_` are plain content, and most of a policy's bytes
                // (addresses, names): taken here without the checks below, which they all pass
                // to the default case.
                let c = bytes[i]
                if (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x2e || c == 0x5f {
                    i += 1
                    nodeStart = false
                    afterQuote = false
                    prevBlank = false
                    continue
                }
                let n = breakLength(i)
                if n > 0 {
                    i += n
                    line += 1
                    return
                }
                if isBOM(i) { i += 3; continue }
                let b = bytes[i]
                switch b {
                case 0x20, 0x09:
                    i += 1
                    prevBlank = true
                    continue
                case 0x23 where prevBlank:  // # comment
                    while i < bytes.count, breakLength(i) == 0 { i += 1 }
                case 0x22 where nodeStart, 0x27 where nodeStart:  // " or '
                    try quoted(b)
                case 0x5b where nodeStart || flow > 0, 0x7b where nodeStart || flow > 0:  // [ {
                    flow += 1
                    i += 1
                    nodeStart = true
                    afterQuote = false
                    try deeper()
                case 0x5d where flow > 0, 0x7d where flow > 0:  // ] }
                    flow -= 1
                    i += 1
                    nodeStart = false
                    afterQuote = false
                case 0x2c where flow > 0:  // ,
                    i += 1
                    nodeStart = true
                    afterQuote = false
                case 0x2d where flow == 0 && nodeStart && blankOrEnd(i + 1),  // - entry
                     0x3f where nodeStart && blankOrEnd(i + 1),  // ? key
                     0x3a where blankOrEnd(i + 1) || (flow > 0 && afterQuote):  // : value
                    i += 1
                    if flow == 0 { inline += 1 }
                    nodeStart = true
                    afterQuote = false
                    try deeper()
                case 0x26 where nodeStart, 0x2a where nodeStart:  // & *
                    throw error("anchors and aliases (&, *) are not supported in policy files")
                case 0x7c where nodeStart && flow == 0, 0x3e where nodeStart && flow == 0:  // | >
                    throw error("block scalars (| and >) are not supported in policy files")
                case 0x21 where nodeStart:  // ! tag, skipped as libyaml scans it
                    skipTag()
                default:
                    i += 1
                    nodeStart = false
                    afterQuote = false
                }
                prevBlank = false
            }
        }

        /// A tag: `!<verbatim>` up to `>`, else `!`, `!!` or `!handle!` and URI characters.
        mutating func skipTag() {
            if byte(i + 1) == 0x3c {  // <
                while let b = byte(i), b != 0x3e, breakLength(i) == 0 { i += 1 }
                if byte(i) == 0x3e { i += 1 }
                return
            }
            i += 1
            while let b = byte(i), Self.isTagChar(b) { i += 1 }
        }

        /// The characters libyaml's scanner takes into a tag (letters, digits, `-`, `_` and
        /// `;/?:@&=+$.%!~*'()`): a flow indicator such as `,` or `[` ends it.
        static func isTagChar(_ b: UInt8) -> Bool {
            switch b {
            case 0x30...0x39, 0x41...0x5a, 0x61...0x7a, 0x2d, 0x5f: return true
            default: return Array(";/?:@&=+$.%!~*'()".utf8).contains(b)
            }
        }

        /// Skips a quoted scalar. In block context a quote left open at the end of its line is not
        /// taken as one: the scan goes on as if the quote were a plain character, which can only
        /// count more levels, never fewer (libyaml may read such a line as part of a plain scalar).
        mutating func quoted(_ quote: UInt8) throws {
            let start = i, startLine = line
            var j = i + 1
            var lines = 0
            while j < bytes.count {
                let b = bytes[j]
                if quote == 0x22, b == 0x5c {  // backslash escape in "…"
                    j += 2
                    continue
                }
                if b == quote {
                    if quote == 0x27, byte(j + 1) == 0x27 {  // '' inside '…'
                        j += 2
                        continue
                    }
                    i = j + 1
                    line = startLine + lines
                    nodeStart = false
                    afterQuote = true
                    return
                }
                let n = breakLength(j)
                if n > 0 {
                    if flow == 0 { break }
                    lines += 1
                    j += n
                    continue
                }
                j += 1
            }
            // Unterminated (or spanning lines in block context): treat the quote as content.
            i = start + 1
            nodeStart = false
            afterQuote = false
        }
    }
}
