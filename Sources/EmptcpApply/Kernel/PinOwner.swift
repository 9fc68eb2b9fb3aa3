import EmptcpStore

/// The store a pin root belongs to. A bpffs holds only BPF objects, so the record is a one-entry
/// ARRAY map pinned next to the data-plane maps (`<root>/maps/emptcp_owner`): 16 bytes of store
/// identity, then the database path (NUL-padded) for the error message. It goes away with the
/// other pins (last detach, reboot), so only a pin root that holds emptcp's objects has an owner.
public struct PinOwner: Codable, Sendable, Equatable {
    /// `StoreIdentity.hex` of the owning store.
    public var store: String
    /// The owning store's database path when it claimed the pin root.
    public var database: String

    public init(store: String, database: String) {
        self.store = store
        self.database = database
    }

    static let mapName = "emptcp_owner"
    static let identityBytes = 16
    static let valueSize = 256

    var encoded: Bytes {
        var value = Bytes(repeating: 0, count: Self.valueSize)
        for (i, byte) in hexBytes(store).prefix(Self.identityBytes).enumerated() { value[i] = byte }
        // Keep the final byte NUL so a truncated path still decodes.
        for (i, byte) in Array(database.utf8).prefix(Self.valueSize - Self.identityBytes - 1).enumerated() {
            value[Self.identityBytes + i] = byte
        }
        return value
    }

    init?(encoded value: Bytes) {
        guard value.count >= Self.identityBytes, value.prefix(Self.identityBytes).contains(where: { $0 != 0 }) else { return nil }
        store = value.prefix(Self.identityBytes).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
        database = String(decoding: value.dropFirst(Self.identityBytes).prefix { $0 != 0 }, as: UTF8.self)
    }

    private func hexBytes(_ hex: String) -> Bytes {
        var bytes: Bytes = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2, let byte = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(byte)
            chars = chars.dropFirst(2)
        }
        return bytes
    }
}

extension Applier {
    /// The store that owns this pin root; nil when nothing claimed it (or nothing is loaded).
    public func owner() throws -> PinOwner? {
        let path = layout.map(PinOwner.mapName)
        guard PinRoot.isBPFFS(pinRoot), Sys.exists(path) else { return nil }
        let map = try PinnedMap(path: path, name: PinOwner.mapName)
        return try map.lookup(MapEncoder.zeroKey.bytes).flatMap(PinOwner.init(encoded:))
    }

    /// Records `owner` as the pin root's owner. A no-op while nothing is loaded (the record
    /// lives with the maps and would otherwise keep an empty pin root claimed).
    public func claim(_ owner: PinOwner) throws {
        try requireRoot("claim the pin root")
        guard PinRoot.isBPFFS(pinRoot), Sys.isDirectory(layout.maps) else { return }
        let path = layout.map(PinOwner.mapName)
        if !Sys.exists(path) {
            let created = try Sys.createArrayMap(name: PinOwner.mapName, valueSize: PinOwner.valueSize)
            try created.withPinnedOrExisting(path)
        }
        let map = try PinnedMap(path: path, name: PinOwner.mapName)
        if try map.lookup(MapEncoder.zeroKey.bytes) != owner.encoded {
            try map.update(MapEncoder.zeroKey.bytes, owner.encoded)
        }
    }
}

private extension Descriptor {
    /// Pins the new map; another process may have pinned its own between our check and now,
    /// which is fine: both then write the same map.
    func withPinnedOrExisting(_ path: String) throws {
        do { try Sys.objectPin(self, path) } catch let error as SystemError where error.code == 17 /* EEXIST */ {}
    }
}
