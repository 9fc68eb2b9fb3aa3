import Foundation
import Testing
@testable import EmptcpStore

/// Policy files and database paths built to break the store: each is refused with one line
/// naming file, line and key, and nothing is committed.
@Suite struct HostileInputTests {
    /// Nesting that would overflow Yams' recursive composer (7,000 levels, each way YAML nests).
    static let deep: [(String, String)] = [
        ("flow sequences", "chains: " + String(repeating: "[", count: 7000) + String(repeating: "]", count: 7000) + "\n"),
        ("flow mappings", "chains: " + String(repeating: "{a: ", count: 7000) + String(repeating: "}", count: 7000) + "\n"),
        ("block sequence entries on one line", "chains:\n  c: " + String(repeating: "- ", count: 7000) + "x\n"),
        ("block mappings by indentation", (0..<7000).map { String(repeating: " ", count: $0) + "k:\n" }.joined()),
        ("closers hidden in quotes", "chains: " + String(repeating: "[\"]\", ", count: 7000) + "\n"),
        ("after a document marker", "--- " + String(repeating: "[", count: 7000) + "\n"),
        ("after a tag", "chains: !!seq " + String(repeating: "[", count: 7000) + "\n"),
        ("behind a comment after a Unicode line break", "chains: [\u{2028}# ]]]]]]]]\n" + String(repeating: "[", count: 7000) + "\n"),
        ("quote opened on a plain continuation line", "a: abc\n  \"\nb: " + String(repeating: "[", count: 7000) + "\n  \"\n"),
    ]

    @Test(arguments: deep.map(\.0))
    func deepNestingIsRefusedBeforeParsing(_ what: String) throws {
        let text = Self.deep.first { $0.0 == what }!.1
        #expect {
            _ = try PolicyFile.parse(text, file: "deep.yaml")
        } throws: { error in
            guard case let .validation(file, line, key, message)? = error as? StoreError else { return false }
            return file == "deep.yaml" && line != nil && key == "syntax" && message.hasPrefix("nested more than")
        }
    }

    @Test func ordinaryNestingStillParses() throws {
        // The sample uses flow collections inside block ones; quotes with brackets inside are fine.
        #expect(try parse(samplePolicyYAML).bindings.count == 3)
        let quoted = "chains:\n  c:\n    - set_recv_win: {window: 5}  # ]]]] [[[[ {{{{\nbindings: []\n"
        #expect(try parse(quoted).chains["c"] == [.setRecvWin(window: 5)])
        #expect(try parse("{\"chains\":{\"c\":[{\"rm_add_addr\":{}}]}}").chains["c"] == [.rmAddAddr])
    }

    @Test func anchorsAliasesAndBlockScalarsAreRefused() throws {
        for text in ["chains: &a {c: [rm_add_addr]}\n", "x: &a [1]\nchains: *a\n", "chains:\n  c: |\n    rm_add_addr\n"] {
            #expect(throws: StoreError.self) { try parse(text) }
        }
    }

    /// (file text, expected error): a quoted scalar is a string, an explicit tag decides, an
    /// unknown tag is an error naming its line.
    static let typed: [(String, String)] = [
        ("chains:\n  c:\n    - set_recv_win: {window: \"5\"}\n", "test.yaml:3: chains.c[0].set_recv_win.window: must be an integer 0…65535, not a string"),
        ("chains:\n  c:\n    - set_recv_win: {window: !!str 5}\n", "test.yaml:3: chains.c[0].set_recv_win.window: must be an integer 0…65535, not a string"),
        ("chains:\n  c:\n    - set_flow_prio: {backup: \"true\"}\n", "test.yaml:3: chains.c[0].set_flow_prio.backup: must be true or false, not a string"),
        ("chains: !!python/object:os.system {}\n", "test.yaml:1: tag: unknown tag !!python/object:os.system"),
        ("chains:\n  c: [!local rm_add_addr]\n", "test.yaml:2: tag: unknown tag !local"),
        ("chains: !!seq {}\n", "test.yaml:1: tag: tag !!seq does not fit this node"),
        ("chains: \"\"\n", "test.yaml:1: chains: must be a mapping"),
    ]

    @Test(arguments: typed.indices)
    func typesAndTagsAreWhatTheFileSays(_ i: Int) throws {
        let (text, expected) = Self.typed[i]
        #expect {
            _ = try parse(text)
        } throws: { error in
            "\(error)" == expected
        }
    }

    @Test func explicitTagsOfTheRightTypeAreAccepted() throws {
        #expect(try parse("chains:\n  c:\n    - set_recv_win: {window: !!int \"7\"}\n").chains["c"] == [.setRecvWin(window: 7)])
        #expect(try parse("chains: !!map\n  c: [!!str rm_add_addr]\n").chains["c"] == [.rmAddAddr])
    }

    // MARK: files

    @Test func whatIsNotARegularFileIsRefusedBeforeReading() throws {
        let dir = scratchDir()
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [(fifo, "a FIFO"), ("/dev/zero", "a character device"), ("/dev/null", "a character device"), (dir, "a directory")] {
            #expect(throws: StoreError.validation(file: path, line: nil, key: "file", message: "not a regular file (\(kind))")) {
                _ = try PolicyFile.load(path: path)
            }
        }
        #expect(throws: StoreError.validation(file: dir + "/none.yaml", line: nil, key: "file", message: "no such file")) {
            _ = try PolicyFile.load(path: dir + "/none.yaml")
        }
    }

    @Test func oversizedFileIsRefusedByItsSize() throws {
        // Sparse: one byte over the cap costs no disk; the refusal comes from fstat, not a read.
        let path = scratchDir() + "/big.yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, off_t(PolicyFile.maxFileBytes + 1)) == 0)
        #expect(throws: StoreError.validation(
            file: path, line: nil, key: "file", message: "\(PolicyFile.maxFileBytes + 1) bytes, more than the 32 MiB a policy file may hold")) {
            _ = try PolicyFile.load(path: path)
        }
    }

    @Test func nonUTF8FileNameCommits() throws {
        let dir = scratchDir()
        let name = Array((dir + "/p").utf8) + [0xff] + Array(".yaml".utf8)
        let fd = (name + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o600) } }
        #expect(fd >= 0)
        _ = samplePolicyYAML.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let store = try PolicyStore(path: dir + "/emptcp.db")
        let rev = try store.commitFile(PolicyPath(bytes: name), message: nil, confirmWithin: nil)
        #expect(rev.bindingCount == 3)
        #expect(PolicyPath(bytes: name).description == dir + "/p\\xff.yaml")
    }

    // MARK: database paths

    @Test func namesSQLiteTreatsSpeciallyAreRefused() throws {
        for path in ["", ":memory:", "file:x.db?mode=memory"] {
            #expect(throws: StoreError.self) { _ = try PolicyStore(path: path) }
        }
    }

    @Test func readingOpensExistingDatabasesOnly() throws {
        let dir = scratchDir()
        let missing = dir + "/no/such/dir/x.db"
        #expect(throws: StoreError.io(path: missing, message: "no such database (only a commit creates one)")) {
            _ = try PolicyStore(path: missing, mode: .existing)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/no"))
    }

    @Test func databaseIsCreatedOwnerOnly() throws {
        let dir = scratchDir() + "/new/state"
        let store = try PolicyStore(path: dir + "/emptcp.db")
        _ = try store.commit(try parse(samplePolicyYAML), message: nil)
        func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue }
        #expect(try mode(dir) == 0o700)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: dir + "/emptcp.db" + suffix) {
            #expect(try mode(dir + "/emptcp.db" + suffix) == 0o600, "emptcp.db\(suffix)")
        }
    }

    @Test func rollbackToTheCurrentContentSaysSo() throws {
        let store = try PolicyStore(path: scratchDir() + "/emptcp.db")
        let p = try parse(samplePolicyYAML)
        _ = try store.commit(p, message: nil)
        var q = p
        q.bindings.removeLast()
        _ = try store.commit(q, message: nil)
        _ = try store.rollback(to: 1, message: nil)
        #expect {
            _ = try store.rollback(to: 1, message: nil)
        } throws: { error in
            "\(error)" == "rollback refused: revision 1 has the same content as current revision 3; it is already the current content"
        }
        #expect(try store.audit(since: nil).last?.outcome == .refused)
    }
}
