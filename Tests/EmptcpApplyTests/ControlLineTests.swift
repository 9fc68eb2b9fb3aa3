import EmptcpStore
import Foundation
import Testing
@testable import EmptcpApply

/// The controller protocol's lines (docs/controllers.md): path manager events become the named
/// controller events with token and subflow from this host's side; other kinds are not sent;
/// refusals of `bind` name their reason.
@Suite struct ControlLineTests {
    let subflow = SubflowKey(local: IPAddress("10.0.1.1")!, localPort: 40000, remote: IPAddress("10.0.1.2")!, remotePort: 5201)

    private func event(_ kind: MptcpPmEvent.Kind, backup: Bool? = nil) -> MptcpPmEvent {
        MptcpPmEvent(kind: kind, token: 0x0a0b_0c0d, local: subflow.local, localPort: subflow.localPort,
                     remote: subflow.remote, remotePort: subflow.remotePort, backup: backup)
    }

    @Test func pathManagerEventsBecomeControllerEvents() throws {
        let names: [(MptcpPmEvent.Kind, String)] = [
            (.created, "connection_created"), (.established, "connection_established"), (.closed, "connection_closed"),
            (.subEstablished, "subflow_established"), (.subClosed, "subflow_closed"), (.subPriority, "subflow_priority"),
        ]
        for (kind, name) in names {
            let line = try #require(ControlLine(event(kind, backup: true)))
            #expect(line.type == "event" && line.event == name && line.token == "0a0b0c0d" && line.schema == 1)
            // A closed connection is named by its token alone.
            #expect(line.subflow == (kind == .closed ? nil : "10.0.1.1:40000-10.0.1.2:5201"))
        }
        #expect(ControlLine(event(.announced)) == nil)
        #expect(ControlLine(event(.subPriority, backup: true))?.backup == true)
        let json = ControlLine(event(.subClosed))!.json
        #expect(json.contains("\"schema\":1") && json.contains("\"event\":\"subflow_closed\"") && !json.contains("null"))
    }

    @Test func bindIsRefusedOutsideTheCommittedPolicy() throws {
        let key = try #require(RuntimeBindingWriter.key(hook: "xdp", flow: "10.0.1.1:40000-10.0.1.2:5201"))
        let binding = RuntimeBinding(hook: "xdp", flow: "10.0.1.1:40000-10.0.1.2:5201", chain: "metered", token: 1, controller: "t")
        var policy = Policy(selectors: [.xdp: [SelectorStep(name: "tcp4", op: .or)]], chains: ["metered": []], bindings: [])
        #expect(RuntimeBindingWriter.refusal(binding, key: key, policy: nil)?.contains("no committed revision") == true)
        #expect(RuntimeBindingWriter.refusal(binding, key: key, policy: policy) == nil)
        var other = binding
        other.chain = "absent"
        #expect(RuntimeBindingWriter.refusal(other, key: key, policy: policy)?.contains("not in the committed policy") == true)
        policy.bindings = [Binding(key, chain: "metered")]
        #expect(RuntimeBindingWriter.refusal(binding, key: key, policy: policy)?.contains("committed rule always wins") == true)
        policy.bindings = []
        policy.selectors = [.xdp: [SelectorStep(name: "tcp2", op: .or)]]
        #expect(RuntimeBindingWriter.refusal(binding, key: key, policy: policy)?.contains("no tcp4 selector") == true)
    }
}
