import Foundation
import Testing
import Yams
@testable import EmptcpStore

/// The policy file's fast path (libyaml events, no node tree) against the node-tree reader:
/// the same policy for what both take, the node tree's errors (with lines) for the rest.
@Suite struct PolicyFastPathTests {
    /// The fast path's result for `text`, nil when it leaves the text to the node tree.
    func fast(_ text: String) -> Policy? {
        var text = text
        return text.withUTF8 { PolicyEventReader.read($0) }
    }

    @Test(arguments: 0..<40)
    func yamlAndJSONRenderingsReadTheSameOnBothPaths(seed: Int) throws {
        var g = PropertyTests.Generator(state: UInt64(seed) &* 104_729)
        let p = g.policy()
        for text in [PolicyFile.render(p), PolicyFile.renderJSON(p)] {
            let tree = try PolicyFile.parseTree(text, file: "seed \(seed)").0
            let streamed = try #require(fast(text), "seed \(seed): the fast path declined a rendered policy")
            #expect(streamed == tree, "seed \(seed)")
            #expect(streamed.canonical == p.canonical, "seed \(seed)")
        }
    }

    @Test func theSamplePolicyAndHandWrittenFormsTakeTheFastPath() throws {
        let blockStyle = """
            selectors: {xdp: [{tcp2: or}]}
            chains: {slow: [rm_add_addr]}
            bindings:
              - hook: xdp
                selector: 'tcp2'
                local: "10.0.0.1"
                remote: 2001:db8::1
                chain: slow
              - {hook: xdp, selector: tcp2, local: 10.0.0.2, remote: fd00::2, chain: slow}

            """
        for text in [samplePolicyYAML, blockStyle, "", "---\n", "bindings:\n", "{}", "{\"schema\": 1, \"bindings\": []}"] {
            let tree = try PolicyFile.parseTree(text, file: "t").0
            if text.isEmpty { continue }  // an empty text goes straight to the node tree
            #expect(fast(text) == tree, "\(text)")
        }
    }

    /// What the fast path cannot be sure of it leaves to the node tree, whose error (with the
    /// line) is what `parse` reports.
    @Test func everyErrorIsTheNodeTreesWithItsLine() throws {
        let header = "selectors: {xdp: [{tcp4: or}]}\nchains: {slow: [rm_add_addr]}\nbindings:\n"
        let ok = "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 1, remote: 10.0.0.2, remote_port: 2, chain: slow}\n"
        let bad = [
            "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: \"5201\", remote: 10.0.0.2, remote_port: 2, chain: slow}\n",
            "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 0x10, remote: 10.0.0.2, remote_port: 2, chain: yes}\n",
            "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 70000, remote: 10.0.0.2, remote_port: 2, chain: slow}\n",
            "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 1, remote: 10.0.0.2, remote_port: 2, chain: !!str slow}\n",
            "  - {hook: xdp, hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 1, remote: 10.0.0.2, remote_port: 2, chain: slow}\n",
            "  - {hook: xdp, selector: tcp4, local: 10.0.0, local_port: 1, remote: 10.0.0.2, remote_port: 2, chain: slow}\n",
            "  - {hook: xdp, selector: tcp4, local: 10.0.0.1, local_port: 1, remote: 10.0.0.2, remote_port: 2, chain: slow, extra: 1}\n",
        ]
        func outcome(_ parse: () throws -> Policy) -> Result<Policy, StoreError> {
            do { return .success(try parse()) } catch { return .failure(error as! StoreError) }
        }
        for line in bad {
            let text = header + ok + line
            #expect(fast(text) == nil, "\(line)")
            let tree = outcome { try PolicyFile.parseTree(text, file: "p.yaml").0 }
            #expect(outcome { try PolicyFile.parse(text, file: "p.yaml").0 } == tree, "\(line)")
            // Only the explicit tag that fits parses (on the node tree); each error names line 5.
            if case let .failure(.validation(_, lineNumber, _, _)) = tree { #expect(lineNumber == 5, "\(tree)") } else {
                #expect(line.contains("!!str"), "\(tree)")
            }
        }
    }

    /// A fast parse keeps no lines; a validation error finds its line by parsing again.
    @Test func validationErrorsAfterAFastParseNameTheLine() throws {
        let text = """
            selectors: {xdp: [{tcp2: or}]}
            chains: {slow: [rm_add_addr]}
            bindings:
              - {hook: xdp, selector: tcp2, local: 10.0.0.1, remote: 10.0.0.2, chain: slow}
              - {hook: xdp, selector: tcp2, local: 10.0.0.3, remote: 10.0.0.4, chain: fast}

            """
        #expect(fast(text) != nil)
        let (policy, map) = try PolicyFile.parse(text, file: "p.yaml")
        #expect(throws: StoreError.validation(file: "p.yaml", line: 5, key: "bindings[1].chain", message: "no chain named fast")) {
            try PolicyValidator.validate(policy, modules: [], map: map)
        }
    }
    /// Plain scalars are typed without Yams' default resolver where the text decides it; each
    /// decision must be the resolver's own, for the forms the decision takes and for their near
    /// misses (which it must leave to the resolver or decide the same way).
    @Test func plainScalarTypesAreTheDefaultResolversTypes() {
        let texts = [
            "tcp2", "or", "and", "slow", "set_recv_win", "window", "rm_add_addr", "xdp", "chain-1", "_x",
            "yes", "Yes", "YES", "yEs", "no", "No", "NO", "true", "True", "TRUE", "tRue", "false", "False", "FALSE",
            "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "nULL", "none", "None", "nope", "nulls", "y", "n",
            "~", "", "0", "1", "7", "10", "1600", "65535", "65536", "99999999999999999999", "00", "01", "007", "08", "0x10",
            "0b1", "0o7", "1_000", "1:30", "1.5", "1e3", "-1", "+1", ".5", ".inf", ".nan", "<<", "=",
            "10.0.0.1", "10.0.0", "1.2.3.4.5", "10..1", "2001:db8::1", "::1", "fe80::1", "2001-01-01", "2001-01-01 10:00:00",
        ]
        for text in texts {
            let resolved = Resolver.default.resolveTag(of: Node(text)).rawValue
            if let decided = PlainScalar.type(text) {
                #expect(decided == resolved, "\(text): decided \(decided), the resolver says \(resolved)")
            }
            #expect(NodeReader.scalarType(Node(text, Tag(.implicit, .basic), .plain)) == resolved, "\(text)")
        }
        // The forms the policy format uses are decided without the resolver.
        for text in ["tcp2", "or", "window", "1600", "0", "true", "false", "null", "10.0.0.1"] {
            #expect(PlainScalar.type(text) != nil, "\(text)")
        }
    }

    /// A node tree parsed with the basic resolver (as the parsers do) reads types as YAML says:
    /// a plain 1600 is an integer, a quoted one a string, an unknown tag an error with its line.
    @Test func theNodeTreeReadsTypesWithoutTheDefaultResolver() throws {
        let text = """
            selectors: {xdp: [{tcp2: or}]}
            chains: {slow: [{set_recv_win: {window: 1600}}], flag: [{set_flow_prio: {backup: true}}]}
            bindings: []

            """
        let p = try PolicyFile.parseTree(text, file: "p.yaml").0
        #expect(p.chains["slow"] == [.setRecvWin(window: 1600)])
        #expect(p.chains["flag"] == [.setFlowPrio(backup: true, addrId: nil)])
        #expect(throws: StoreError.self) { try PolicyFile.parseTree("chains: {slow: [{set_recv_win: {window: \"1600\"}}]}\n", file: "q.yaml") }
        #expect(throws: StoreError.validation(file: "t.yaml", line: 2, key: "tag", message: "unknown tag !local")) {
            try PolicyFile.parseTree("chains:\n  slow: [{set_recv_win: {window: !local 5}}]\n", file: "t.yaml")
        }
    }
}
