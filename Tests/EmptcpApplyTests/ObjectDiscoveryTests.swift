import Testing
@testable import EmptcpApply

/// Where the binary looks for its BPF objects: explicit choices first, then the install layout
/// next to the executable (any prefix), then the repository build tree.
@Suite struct ObjectDiscoveryTests {
    @Test func explicitDirectoryAndEnvironmentWinInThatOrder() {
        #expect(ObjectDiscovery.candidates(explicit: "/y", environment: ["EMPTCP_BPF_DIR": "/x"], executable: "/usr/bin/emptcp") == ["/y"])
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: ["EMPTCP_BPF_DIR": "/x"], executable: "/usr/bin/emptcp") == ["/x"])
        // An empty variable counts as unset.
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: ["EMPTCP_BPF_DIR": ""], executable: "/usr/bin/emptcp").first == "/usr/lib/emptcp/bpf")
    }

    @Test func installedBinaryFindsObjectsUnderItsOwnPrefix() {
        for prefix in ["/usr", "/usr/local", "/opt/emptcp-0.1", "/tmp/stage/usr"] {
            let c = ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: prefix + "/bin/emptcp")
            #expect(c.first == prefix + "/lib/emptcp/bpf")
        }
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: "/bin/emptcp").first == "/lib/emptcp/bpf")
    }

    @Test func buildTreeBinaryFindsTheRepositoryObjects() {
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: "/repo/.build/debug/emptcp").contains("/repo/build/bpf"))
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: "/repo/.build/x86_64-unknown-linux-gnu/release/emptcp").contains("/repo/build/bpf"))
    }

    @Test func noFixedSystemDirectoryIsSearched() {
        let c = ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: "/opt/e/bin/emptcp")
        #expect(!c.contains("/usr/local/lib/emptcp/bpf") && !c.contains("/usr/lib/emptcp/bpf"))
        #expect(ObjectDiscovery.candidates(explicit: nil, environment: [:], executable: nil).isEmpty)
    }
}
