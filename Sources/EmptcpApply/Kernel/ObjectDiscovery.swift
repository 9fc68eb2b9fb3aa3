/// Finds the directory holding the built BPF objects (`<dir>/xdp/*.o`, `<dir>/tc/*.o`) without
/// the user copying files or setting variables: an explicit directory (`--bpf-dir`, env
/// EMPTCP_BPF_DIR); else the install layout next to the executable (`PREFIX/bin/emptcp` →
/// `PREFIX/lib/emptcp/bpf`, so any install prefix works); else the repository build tree next to
/// the executable (`.build/<config>/emptcp` → `build/bpf`). No fixed system path is searched:
/// objects from another install could carry another ABI than this binary.
public enum ObjectDiscovery {
    /// Where the install step puts the objects, relative to the prefix (`PREFIX/bin/emptcp`).
    public static let installSubdirectory = "lib/emptcp/bpf"

    /// Candidate directories in search order. `executable` is the resolved path of the running
    /// binary (symlinks followed), e.g. from /proc/self/exe.
    public static func candidates(explicit: String?, environment: [String: String], executable: String?) -> [String] {
        if let explicit { return [explicit] }
        if let env = environment["EMPTCP_BPF_DIR"], !env.isEmpty { return [env] }
        guard let executable else { return [] }
        let binDirectory = parent(executable)
        // PREFIX/bin/emptcp → PREFIX/lib/emptcp/bpf
        var result = [join(parent(binDirectory), installSubdirectory)]
        // <repo>/.build/<config>/emptcp → <repo>/build/bpf; .build/<triple>/<config>/ as well.
        var dir = binDirectory
        for _ in 0..<3 {
            dir = parent(dir)
            result.append(join(dir, "build/bpf"))
        }
        return result
    }

    /// The first candidate holding an entry program for both hooks.
    public static func locate(explicit: String?, environment: [String: String]) throws -> String {
        // /proc/self/exe is already the resolved file; realpath also covers a binary reached
        // through a symlinked prefix directory.
        let executable = Sys.executablePath().map { Sys.realPath($0) ?? $0 }
        let searched = candidates(explicit: explicit, environment: environment, executable: executable)
        for dir in searched where Sys.exists(dir + "/xdp/entry.o") && Sys.exists(dir + "/tc/entry.o") {
            return Sys.realPath(dir) ?? dir
        }
        throw ApplyError.objectsNotFound(searched: searched)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func join(_ directory: String, _ relative: String) -> String {
        directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
    }
}
