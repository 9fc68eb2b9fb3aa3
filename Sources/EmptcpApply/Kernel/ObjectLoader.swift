import Logging

/// Opens one BPF object with its maps pinned by name under `mapPins` (libbpf reuses a map that is
/// already pinned there instead of creating a second one), loads it and hands its loaded programs
/// to the caller while the object is still open. A rejection is saved, libbpf's messages and the
/// verifier's log together, to `<logDirectory>/verifier-<logName>.log` and thrown as one line,
/// `ApplyError.verifierRejected`. The one load path of the built-in objects, operator modules and
/// the packet benchmark.
package struct ObjectLoader {
    package let mapPins: String
    package let logDirectory: String
    let logger: Logger

    package init(mapPins: String, logDirectory: String, logger: Logger = Logger(label: "emptcp.loader")) {
        self.mapPins = mapPins
        self.logDirectory = logDirectory
        self.logger = logger
    }

    /// Loads the object at `path`.
    /// - Parameters:
    ///   - shown: how errors name the object (`xdp/entry.o`, the module's source path).
    ///   - logName: the verifier log is `verifier-<logName>.log`.
    ///   - choose: the one program to load, picked from the object's programs; nil loads them all.
    ///   - use: gets the loaded programs. Their fds belong to the object and close with it: pin a
    ///     program or store it in a program array to keep it.
    package func load<Result>(
        _ path: String, shown: String, logName: String,
        choose: ([Sys.ObjectProgram]) throws -> String? = { _ in nil },
        use: ([Sys.ObjectProgram]) throws -> Result
    ) throws -> Result {
        try withLoadedObject(path, shown: shown, logName: logName, prepare: { object in
            if let only = try choose(Sys.programs(object)) { Sys.loadOnly(object, program: only) }
        }, use: use)
    }

    /// Creates and pins the maps the object at `path` declares (reusing those pinned already)
    /// without loading any of its programs: no verifier work. Run before objects that declare
    /// the same maps load side by side, so none of them races another to create and pin a map.
    func createMaps(_ path: String, shown: String, logName: String) throws {
        try withLoadedObject(path, shown: shown, logName: logName, prepare: { Sys.loadNoProgram($0) }, use: { _ in })
    }

    /// Open, `prepare`, load, `use` the loaded programs, close. Each step's time goes to the
    /// debug log, with the instructions the verifier processed per program: at boot the
    /// verifier's work is most of the fixed cost.
    private func withLoadedObject<Result>(
        _ path: String, shown: String, logName: String,
        prepare: (OpaquePointer) throws -> Void,
        use: ([Sys.ObjectProgram]) throws -> Result
    ) throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 4 << 20)
        defer { buffer.deallocate() }
        // Only the first byte: the kernel writes (and terminates) the log only on a rejection,
        // and touching all 4 MiB costs a millisecond per object.
        buffer.baseAddress!.initialize(to: 0)
        Sys.silenceLibbpf()
        _ = LibbpfLog.shared.drain()
        let object = try Sys.openObject(path, pinRoot: mapPins, logBuffer: buffer)
        defer { Sys.closeObject(object) }
        try prepare(object)
        let opened = clock.now
        let failure = Sys.loadObject(object, path)
        let loaded = clock.now
        if failure != 0 {
            let logPath = "\(logDirectory)/verifier-\(logName).log"
            let text = "# \(path)\n# libbpf:\n\(LibbpfLog.shared.drain())\n# verifier:\n\(String(cString: buffer.baseAddress!))\n"
            do {
                try Sys.makeDirectories(logDirectory)
                try Sys.writeFile(logPath, text)
            } catch {
                logger.error("cannot save verifier log", metadata: ["file.path": "\(logPath)", "error": "\(error)"])
            }
            throw ApplyError.verifierRejected(object: shown, cause: Sys.errnoText(failure), logPath: logPath)
        }
        let programs = Sys.programs(object).filter { $0.fd >= 0 }
        let result = try use(programs)
        if logger.logLevel <= .debug {
            let verified = programs.map { "\($0.name):\(Sys.verifiedInstructions(fd: $0.fd).map { "\($0)" } ?? "?")" }
            logger.debug("object loaded", metadata: [
                "bpf.object": "\(shown)", "bpf.open_us": "\(Applier.micros(opened - start))",
                "bpf.load_us": "\(Applier.micros(loaded - opened))", "bpf.use_us": "\(Applier.micros(clock.now - loaded))",
                "bpf.verified_insns": "\(verified.isEmpty ? "none (maps only)" : verified.joined(separator: " "))",
            ])
        }
        return result
    }
}
