/// Everything the applier refuses or fails at, each printable as one line.
public enum ApplyError: Error, CustomStringConvertible, Sendable {
    case notRoot(operation: String, uid: UInt32)
    case unknownInterface(String)
    case bpffsUnavailable(path: String, cause: String)
    case objectsNotFound(searched: [String])
    case objectMissing(hook: String, name: String, directory: String)
    case verifierRejected(object: String, cause: String, logPath: String)
    case foreignXDP(interface: String, programID: UInt32)
    case abiMismatch(pinRoot: String, found: UInt64, expected: UInt64)
    case oldPinNames(pinRoot: String, found: [String])
    case notLoaded(pinRoot: String)
    case permissionDenied(pinRoot: String)
    case unknownChain(binding: String, chain: String)
    case unknownSelector(hook: String, name: String)
    case unknownActor(hook: String, name: String)
    case tooLong(what: String, count: Int, limit: Int)
    case invalidBinding(binding: String, reason: String)
    case system(SystemError)
    /// Another process held the data plane's lock (ApplyLock) for the whole wait.
    case locked(pinRoot: String, lockPath: String, holder: String, waitedSeconds: Int)

    public var description: String {
        switch self {
        case .notRoot(_, let uid): "must run as root (effective uid \(uid))"
        case .unknownInterface(let name): "unknown interface \(name)"
        case .bpffsUnavailable(let path, let cause): "bpffs unavailable at \(path): \(cause)"
        case .objectsNotFound(let searched):
            "BPF objects not found (searched \(searched.joined(separator: ", "))); run `bash bpf/build.sh` or pass --bpf-dir / EMPTCP_BPF_DIR"
        case .objectMissing(let hook, let name, let dir): "BPF object \(hook)/\(name).o missing in \(dir)"
        case .verifierRejected(let object, let cause, let log): "verifier rejected \(object): \(cause); log saved to \(log)"
        case .foreignXDP(let iface, let id):
            "\(iface) already has a foreign XDP program (id \(id)); emptcp does not replace it"
        case .abiMismatch(let root, let found, let expected):
            "maps pinned under \(root) have ABI version \(found), this emptcp uses \(expected); run `emptcp detach --all` first"
        case .oldPinNames(let root, let found):
            "\(root) holds objects of an earlier emptcp under their old names (\(found.joined(separator: ", "))); run `emptcp detach --all` and attach again"
        case .notLoaded(let root): "no programs or maps are loaded under \(root) (run `emptcp attach` first)"
        case .permissionDenied(let root): "permission denied: need root or CAP_BPF to read pinned maps under \(root)"
        case .unknownChain(let binding, let chain): "binding \(binding) names unknown chain \(chain)"
        case .unknownSelector(let hook, let name): "selector \(name) is not loaded on \(hook)"
        case .unknownActor(let hook, let name): "actor \(name) is not loaded on \(hook)"
        case .tooLong(let what, let count, let limit): "\(what) has \(count) entries, the kernel allows \(limit)"
        case .invalidBinding(let binding, let reason): "binding \(binding): \(reason)"
        case .system(let error): error.description
        case .locked(let root, let path, let holder, let waited):
            "another emptcp\(holder.isEmpty ? "" : " (\(holder))") is changing the data plane of \(root); gave up after waiting \(waited) s for \(path) (nothing was changed; try again, or raise EMPTCP_LOCK_TIMEOUT)"
        }
    }
}
