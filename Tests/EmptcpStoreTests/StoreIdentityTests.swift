import Foundation
import Testing
@testable import EmptcpStore

/// The identity a pin root records for its owning store: none before the first revision, fixed by
/// the first revision afterwards (later commits and rollbacks do not change it), the same for a
/// copy of the file, different for another store with the same policy.
@Suite struct StoreIdentityTests {
    let dir = scratchDir()

    @Test func identityIsFixedByTheFirstRevision() throws {
        // In its own scope: the last connection's close checkpoints the WAL, so the copy below
        // is the whole database.
        let first: StoreIdentity = try {
            let store = try PolicyStore(path: dir + "/a.db")
            #expect(try store.storeIdentity() == nil)
            _ = try store.commit(try parse(samplePolicyYAML), message: "first")
            let first = try #require(try store.storeIdentity())
            #expect(first.hex.count == 32 && first.hex.allSatisfy(\.isHexDigit))
            _ = try store.commit(bigPolicy(3), message: "second")
            _ = try store.rollback(to: nil, message: nil)
            #expect(try store.storeIdentity() == first)
            return first
        }()

        try FileManager.default.copyItem(atPath: dir + "/a.db", toPath: dir + "/copy.db")
        #expect(try PolicyStore(path: dir + "/copy.db").storeIdentity() == first)

        let other = try PolicyStore(path: dir + "/b.db")
        _ = try other.commit(try parse(samplePolicyYAML), message: "first")
        #expect(try other.storeIdentity() != first)
    }
}
