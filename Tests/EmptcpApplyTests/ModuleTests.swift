import CLibbpf
import EmptcpStore
import Foundation
import Logging
import Testing
@testable import EmptcpApply

/// A private bpffs with a tiny "base" data plane built from C in the test: the program arrays,
/// the ring buffer, the flow-stats map and a shared counter, all pinned by name under
/// <root>/maps like emptcp's, plus an XDP program that tail-calls emptcp_x_acts[first packet byte]
/// (XDP_DROP when the slot is empty) and one that copies the packet into emptcp_events.
final class KernelFixture {
    let dir: String
    let root: String
    let layout: PinLayout
    static let clang = "/usr/bin/clang-14"

    static let baseSource = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        #include "emptcp/abi.h"
        struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, EMPTCP_PROG_SLOTS); __type(key, __u32); __type(value, __u32);
                 __uint(pinning, LIBBPF_PIN_BY_NAME); } emptcp_x_acts SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, EMPTCP_PROG_SLOTS); __type(key, __u32); __type(value, __u32);
                 __uint(pinning, LIBBPF_PIN_BY_NAME); } emptcp_x_sels SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); __uint(pinning, LIBBPF_PIN_BY_NAME); } emptcp_events SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH); __uint(max_entries, 1024); __type(key, struct emptcp_flow);
                 __type(value, struct emptcp_flow_stats); __uint(pinning, LIBBPF_PIN_BY_NAME); } emptcp_x_stats SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64);
                 __uint(pinning, LIBBPF_PIN_BY_NAME); } modtest_shared SEC(".maps");
        SEC("xdp") int base_entry(struct xdp_md *ctx)
        {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            if (data + 1 > end) return XDP_ABORTED;
            bpf_tail_call(ctx, &emptcp_x_acts, *(__u8 *)data & 31);
            return XDP_DROP;
        }
        SEC("xdp") int base_emit(struct xdp_md *ctx)
        {
            __u8 buf[256] = {};
            __u32 len = ctx->data_end - ctx->data;
            if (len == 0 || len > sizeof(buf)) return XDP_ABORTED;
            __u32 n = ((len - 1) & 0xff) + 1; /* 1..256 for the verifier */
            if (bpf_xdp_load_bytes(ctx, 0, buf, n)) return XDP_ABORTED;
            return bpf_ringbuf_output(&emptcp_events, buf, n, 0) ? XDP_ABORTED : XDP_PASS;
        }
        char LICENSE[] SEC("license") = "GPL";
        """

    /// A module: counts its runs in the shared map (proving it shares the pinned map) and passes.
    static let moduleSource = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64);
                 __uint(pinning, LIBBPF_PIN_BY_NAME); } modtest_shared SEC(".maps");
        SEC("xdp") int mod_count(struct xdp_md *ctx)
        {
            __u32 k = 0;
            __u64 *v = bpf_map_lookup_elem(&modtest_shared, &k);
            if (v) __sync_fetch_and_add(v, 1);
            return XDP_PASS;
        }
        char LICENSE[] SEC("license") = "GPL";
        """

    /// Rejected by the verifier: reads past the packet without a bounds check.
    static let brokenSource = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        SEC("xdp") int mod_broken(struct xdp_md *ctx)
        {
            return *(__u8 *)(long)ctx->data == 1 ? XDP_DROP : XDP_PASS;
        }
        char LICENSE[] SEC("license") = "GPL";
        """

    init(_ tag: String) throws {
        dir = "/tmp/emptcp-test-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))"
        root = dir + "/bpffs"
        layout = PinLayout(root: root)
        try Sys.makeDirectories(root)
        try Sys.mountBPFFS(at: root)
        try Sys.makeDirectory(layout.maps)
    }

    deinit {
        _ = try? Sys.run(["umount", root])
        _ = try? Sys.run(["rm", "-rf", dir])
    }

    /// Compiles C source with clang-14 for BPF (the repo's bpf/include on the include path).
    func compile(_ name: String, _ source: String) throws -> String {
        let c = "\(dir)/\(name).c", o = "\(dir)/\(name).o"
        try Sys.writeFile(c, source)
        let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bpf/include").path
        let result = try Sys.run([Self.clang, "-O2", "-g", "-target", "bpf", "-I", include,
                                  "-I", "/usr/include/x86_64-linux-gnu", "-c", c, "-o", o])
        guard result.status == 0 else { throw SystemError(operation: "clang-14 \(result.output)", object: c, code: 22) }
        return o
    }

    /// Loads the base object, pins its programs at <root>/progs/xdp/<name>; returns name → fd.
    @discardableResult
    func loadBase() throws -> [String: Descriptor] {
        let path = try compile("base", Self.baseSource)
        try Sys.makeDirectory(layout.progs)
        try Sys.makeDirectory(layout.progDirectory(.xdp))
        return try ObjectLoader(mapPins: layout.maps, logDirectory: dir).load(path, shown: "base.o", logName: "base") { programs in
            var result: [String: Descriptor] = [:]
            for p in programs {
                try Sys.pinBorrowed(fd: p.fd, layout.prog(.xdp, p.name))
                result[p.name] = try Sys.objectGet(layout.prog(.xdp, p.name))
            }
            return result
        }
    }

    func counter() throws -> UInt64 {
        try PinnedMap(path: layout.map("modtest_shared"), name: "modtest_shared").readInteger(at: 0)
    }
}

/// An in-memory catalog standing in for the policy store.
final class MemoryCatalog: ModuleCatalog, @unchecked Sendable {
    var records: [ModuleRecord] = []
    var used: Set<String> = []
    var audit: [(String, AuditOutcome, String)] = []
    struct Unknown: Error {}

    struct InUse: Error, CustomStringConvertible { let name: String; var description: String { "module \(name) is used by the current revision" } }

    func modules() throws -> [ModuleRecord] { records }
    func addModule(_ module: ModuleRecord) throws { records.append(module) }
    func removeModule(name: String) throws {
        if used.contains(name) { throw InUse(name: name) }
        guard records.contains(where: { $0.name == name }) else { throw Unknown() }
        records.removeAll { $0.name == name }
    }
    func recordAudit(action: String, revision: Int64?, outcome: AuditOutcome, detail: String) throws {
        audit.append((action, outcome, detail))
    }
}

@Suite(.serialized) struct ModuleTests {
    let logger = Logger(label: "test")

    @Test func addRunsInSlotSharesMapsListRemove() throws {
        let k = try KernelFixture("mod")
        let base = try k.loadBase()
        let module = try k.compile("mod_count", KernelFixture.moduleSource)
        let manager = ModuleManager(pinRoot: k.root, moduleDirectory: k.dir + "/modules", logDirectory: k.dir + "/logs", logger: logger)
        let catalog = MemoryCatalog()
        let entry = try #require(base["base_entry"])
        let slotByte = UInt8(EMPTCP_FIRST_MODULE_SLOT)
        let packet = [slotByte] + [UInt8](repeating: 0, count: 63)

        // Before: the slot is empty, the tail call fails, the base drops.
        #expect(try Sys.testRun(entry, "base_entry", packet: packet, repeat: 1, outputSize: 128).retval == 1 /* XDP_DROP */)

        let record = try manager.add(objectPath: module, hook: .xdp, name: "counter", kind: .actor, catalog: catalog)
        #expect(record.slot == Int(EMPTCP_FIRST_MODULE_SLOT))
        #expect(Sys.exists(k.layout.prog(.xdp, "mod_counter")))
        #expect(catalog.records.map(\.name) == ["counter"])
        #expect(catalog.audit.isEmpty)  // success is audited by the store itself

        // The running base program now reaches the module, which bumps the shared pinned map.
        #expect(try Sys.testRun(entry, "base_entry", packet: packet, repeat: 5, outputSize: 128).retval == 2 /* XDP_PASS */)
        #expect(try k.counter() == 5)

        // Same name twice is refused; a second module takes the next free slot.
        #expect(throws: ModuleError.self) { try manager.add(objectPath: module, hook: .xdp, name: "counter", kind: .actor, catalog: catalog) }
        let second = try manager.add(objectPath: module, hook: .xdp, name: "counter2", kind: .actor, catalog: catalog)
        #expect(second.slot == Int(EMPTCP_FIRST_MODULE_SLOT) + 1)

        let listed = try manager.list(catalog: catalog)
        #expect(listed.map(\.name) == ["counter", "counter2"])
        #expect(listed.allSatisfy { $0.loaded && $0.programID != nil })

        // Refused while the committed policy uses it: slot and pin stay.
        catalog.used = ["counter"]
        #expect(throws: MemoryCatalog.InUse.self) { try manager.remove(name: "counter", catalog: catalog) }
        #expect(try Sys.testRun(entry, "base_entry", packet: packet, repeat: 1, outputSize: 128).retval == 2)

        catalog.used = []
        try manager.remove(name: "counter", catalog: catalog)
        #expect(!Sys.exists(k.layout.prog(.xdp, "mod_counter")))
        #expect(try Sys.testRun(entry, "base_entry", packet: packet, repeat: 1, outputSize: 128).retval == 1)
        #expect(catalog.records.map(\.name) == ["counter2"])
        #expect(throws: MemoryCatalog.Unknown.self) { try manager.remove(name: "counter", catalog: catalog) }
    }

    @Test func restoreReloadsIntoRecordedSlot() throws {
        let k = try KernelFixture("restore")
        let base = try k.loadBase()
        let module = try k.compile("mod_count", KernelFixture.moduleSource)
        let manager = ModuleManager(pinRoot: k.root, moduleDirectory: k.dir + "/modules", logDirectory: k.dir + "/logs", logger: logger)
        let catalog = MemoryCatalog()
        // A record as a boot finds it: in the store, not in the kernel (slot 20).
        try Sys.makeDirectories(k.dir + "/modules")
        try Sys.writeFileAtomically(k.dir + "/modules/counter.o", try Sys.readFile(module))
        catalog.records = [ModuleRecord(name: "counter", hook: .xdp, kind: .actor, objectPath: k.dir + "/modules/counter.o", slot: 20)]
        #expect(try manager.list(catalog: catalog).first?.loaded == false)
        let restored = try manager.restore(catalog: catalog)
        #expect(restored.map(\.name) == ["counter"])
        #expect(try manager.list(catalog: catalog).first?.loaded == true)
        let entry = try #require(base["base_entry"])
        #expect(try Sys.testRun(entry, "base_entry", packet: [20] + [UInt8](repeating: 0, count: 63), repeat: 1, outputSize: 128).retval == 2)
        // Idempotent: nothing left to restore.
        #expect(try manager.restore(catalog: catalog).isEmpty)
    }

    @Test func verifierRejectionSavesLogAndChangesNothing() throws {
        let k = try KernelFixture("broken")
        try k.loadBase()
        let broken = try k.compile("mod_broken", KernelFixture.brokenSource)
        let manager = ModuleManager(pinRoot: k.root, moduleDirectory: k.dir + "/modules", logDirectory: k.dir + "/logs", logger: logger)
        let catalog = MemoryCatalog()
        do {
            try manager.add(objectPath: broken, hook: .xdp, name: "broken", kind: .actor, catalog: catalog)
            Issue.record("a program the verifier rejects was added")
        } catch let ApplyError.verifierRejected(_, _, logPath) {
            let log = String(decoding: try Sys.readFile(logPath), as: UTF8.self)
            #expect(log.contains("invalid access to packet") || log.contains("R1"), "verifier log: \(log.prefix(400))")
        }
        #expect(catalog.records.isEmpty)
        #expect(catalog.audit.last?.1 == .failed)
        #expect(!Sys.exists(k.layout.prog(.xdp, "mod_broken")))
        // Wrong hook: an XDP object offered as a tc module.
        let good = try k.compile("mod_count", KernelFixture.moduleSource)
        #expect(throws: (any Error).self) { try manager.add(objectPath: good, hook: .tc, name: "wronghook", kind: .actor, catalog: catalog) }
        #expect(throws: ModuleError.self) { try manager.add(objectPath: good, hook: .xdp, name: "rm_add_addr", kind: .actor, catalog: catalog) }
        #expect(throws: ModuleError.self) { try manager.add(objectPath: good, hook: .xdp, name: "9bad name", kind: .actor, catalog: catalog) }
    }
}
