/// The readers (status, stats, events) tell a missing privilege from a data plane that is not
/// there: "permission denied: need root or CAP_BPF ..." rather than "not loaded".
extension PinRoot {
    /// Throws `notLoaded` when `path` (a pin under `root`) is absent, `permissionDenied` when it
    /// cannot be looked up for lack of permission.
    static func requirePinned(_ path: String, root: String) throws {
        guard let code = Sys.lookupError(path) else { return }
        if Sys.isPermissionError(code) { throw ApplyError.permissionDenied(pinRoot: root) }
        // The pin is absent; the root itself may be what is out of reach.
        if let rootCode = Sys.lookupError(root), Sys.isPermissionError(rootCode) { throw ApplyError.permissionDenied(pinRoot: root) }
        throw ApplyError.notLoaded(pinRoot: root)
    }

    /// Runs `body`, naming a permission failure of any C call in it (bpf_obj_get without
    /// CAP_BPF, a bpffs directory not searchable) as such.
    static func reading<T>(_ root: String, _ body: () throws -> T) throws -> T {
        // The root, and the directories the loader makes below it (owner-only), must be searchable.
        let layout = PinLayout(root: root)
        for path in [root, layout.maps, layout.links] {
            if let code = Sys.lookupError(path + "/."), Sys.isPermissionError(code) { throw ApplyError.permissionDenied(pinRoot: root) }
        }
        do {
            return try body()
        } catch let error as SystemError where Sys.isPermissionError(error.code) {
            throw ApplyError.permissionDenied(pinRoot: root)
        }
    }
}
