import ArgumentParser
import EmptcpStore
import Foundation

extension SelectorKind: ExpressibleByArgument {}

/// The flags naming one binding's key, as a binding line of a policy file spells it.
struct BindingKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Hook: xdp or tc.", valueName: "hook")) var hook: Hook
    @Option(help: ArgumentHelp("Selector: tcp, tcp2 or tcp4.", valueName: "selector")) var selector: SelectorKind
    @Option(help: ArgumentHelp("Local address (tcp2, tcp4).", valueName: "address")) var local: String?
    @Option(help: ArgumentHelp("Remote address (tcp2, tcp4).", valueName: "address")) var remote: String?
    @Option(name: .customLong("local-port"), help: ArgumentHelp("Local port (tcp4).", valueName: "port")) var localPort: Int?
    @Option(name: .customLong("remote-port"), help: ArgumentHelp("Remote port (tcp4).", valueName: "port")) var remotePort: Int?

    func validate() throws {
        for (flag, port) in [("--local-port", localPort), ("--remote-port", remotePort)] {
            if let port, !(1...65535).contains(port) { throw ValidationError("\(flag): port must be 1…65535, not \(port)") }
        }
        for (flag, text) in [("--local", local), ("--remote", remote)] {
            if let text, IPAddress(text) == nil { throw ValidationError("\(flag): not an IPv4 or IPv6 address: \(text)") }
        }
    }

    var key: BindingKey {
        BindingKey(hook: hook, selector: selector, local: local.flatMap(IPAddress.init), localPort: localPort.map { UInt16($0) },
                   remote: remote.flatMap(IPAddress.init), remotePort: remotePort.map { UInt16($0) })
    }
}

extension DataPlaneSession {
    /// Commits one binding change, prints the new revision and applies it if attached. The
    /// store's errors name the binding's fields as a file would (`bindings[0].chain`); here
    /// they name the flag that set them.
    func commitBindingChange(_ changes: BindingChanges, message: String?, action: String, force: Bool) throws {
        let store = try openStore()
        try StoreOwnership.require(store, self, action: action, force: force)
        let rev: Revision
        do {
            rev = try store.commit(changes: changes, message: message)
        } catch let StoreError.validation(file, line, key, text) where key.hasPrefix("bindings[") {
            let field = key.split(separator: ".", maxSplits: 1).dropFirst().first.map { "--" + $0.replacingOccurrences(of: "_", with: "-") }
            throw StoreError.validation(file: file, line: line, key: field ?? "binding", message: text)
        }
        Console.print("revision \(rev.id): \(rev.bindingCount) bindings, content \(rev.contentHash.prefix(12))")
        if !applyIfAttached(store, force: force) { throw ExitCode.failure }
    }
}
