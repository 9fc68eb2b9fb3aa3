import Foundation
import Testing
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
}
