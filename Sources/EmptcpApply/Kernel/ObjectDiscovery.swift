/// Finds the directory holding the built BPF objects (`<dir>/xdp/*.o`, `<dir>/tc/*.o`) without
/// the user copying files: an explicit directory (`--bpf-dir`, env EMPTCP_BPF_DIR), else the repo
/// build tree next to the executable (`.build/<config>/emptcp` → `build/bpf`), else the install
/// directory.
public enum ObjectDiscovery {
    public static let installDirectory = "/usr/local/lib/emptcp/bpf"

    /// Candidate directories in search order.
    public static func candidates(explicit: String?, environment: [String: String], executable: String?) -> [String] {
        if let explicit { return [explicit] }
        if let env = environment["EMPTCP_BPF_DIR"], !env.isEmpty { return [env] }
        var result: [String] = []
        if let executable {
            // <repo>/.build/<config>/emptcp → <repo>/build/bpf; .build/<triple>/<config>/ as well.
            var dir = parent(executable)
            for _ in 0..<3 {
                dir = parent(dir)
                result.append(dir + "/build/bpf")
            }
        }
        result.append(installDirectory)
        return result
    }

    /// The first candidate holding an entry program for both hooks.
    public static func locate(explicit: String?, environment: [String: String]) throws -> String {
        let executable = Sys.executablePath()
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
}
