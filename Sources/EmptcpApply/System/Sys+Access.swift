import Glibc

extension Sys {
    /// Why `path` cannot be looked up: nil when it exists, else the errno of access(2): ENOENT
    /// when it is absent, EACCES when a directory on the way may not be searched (bpffs is
    /// mounted mode 0700, so a user without root meets this before any BPF permission check).
    static func lookupError(_ path: String) -> Int32? { access(path, F_OK) == 0 ? nil : errno }

    /// The errnos of a missing privilege: a directory not searchable, or bpf(2) without CAP_BPF.
    static func isPermissionError(_ code: Int32) -> Bool { code == EACCES || code == EPERM }
}
