import EmptcpApply

/// A controller: per-connection decisions in code. Every callback is optional (the defaults do
/// nothing); `ControlClient.run(_:)` calls them in event order, one at a time, and a callback may
/// use the client's verbs (`bind`, `unbind`, `setPriority`), which return once the kernel holds
/// the change.
public protocol Controller: Sendable {
    func connectionCreated(_ client: ControlClient, token: String, subflow: SubflowKey?) async
    func connectionEstablished(_ client: ControlClient, token: String, subflow: SubflowKey?) async
    func subflowEstablished(_ client: ControlClient, token: String, subflow: SubflowKey, backup: Bool) async
    func subflowClosed(_ client: ControlClient, token: String, subflow: SubflowKey) async
    func subflowPriority(_ client: ControlClient, token: String, subflow: SubflowKey, backup: Bool) async
    func connectionClosed(_ client: ControlClient, token: String) async
    func flowMetrics(_ client: ControlClient, flows: [FlowStats], subflows: [SubflowMetrics]) async
}

extension Controller {
    public func connectionCreated(_ client: ControlClient, token: String, subflow: SubflowKey?) async {}
    public func connectionEstablished(_ client: ControlClient, token: String, subflow: SubflowKey?) async {}
    public func subflowEstablished(_ client: ControlClient, token: String, subflow: SubflowKey, backup: Bool) async {}
    public func subflowClosed(_ client: ControlClient, token: String, subflow: SubflowKey) async {}
    public func subflowPriority(_ client: ControlClient, token: String, subflow: SubflowKey, backup: Bool) async {}
    public func connectionClosed(_ client: ControlClient, token: String) async {}
    public func flowMetrics(_ client: ControlClient, flows: [FlowStats], subflows: [SubflowMetrics]) async {}
}
