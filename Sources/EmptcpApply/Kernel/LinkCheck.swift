import EmptcpStore

/// A hook of an attached interface that is not attached the way emptcp left it.
struct LinkFinding: Sendable {
    let interface: String
    let hook: Hook
    let problem: String
    /// The link exists and is attached, but runs another program than the pinned entry.
    let wrongProgram: Bool
}

extension Attacher {
    /// Compares every interface with an emptcp link directory whose device still exists against
    /// what attach made: a live XDP link and a live tcx link (or our clsact filter) running the
    /// pinned entry programs. Reads only. A vanished device is not drift (status shows it as
    /// detached; there is nothing to attach to).
    func linkFindings() throws -> [LinkFinding] {
        var findings: [LinkFinding] = []
        for iface in attachedInterfaces().sorted() {
            guard let ifindex = Sys.interfaceIndex(iface) else { continue }
            for hook in [Hook.xdp, .tc] {
                if hook == .tc && Sys.isDirectory(clsactMarker(iface)) {
                    if !Clsact.hasFilter(iface) { findings.append(LinkFinding(interface: iface, hook: hook, problem: "clsact filter missing", wrongProgram: false)) }
                    continue
                }
                let path = layout.link(iface, hook)
                guard Sys.exists(path) else {
                    findings.append(LinkFinding(interface: iface, hook: hook, problem: "link missing", wrongProgram: false))
                    continue
                }
                let link = try Sys.objectGet(path)
                let info = try Sys.linkInfo(link, "link \(path)")
                if info.ifindex != ifindex {
                    findings.append(LinkFinding(interface: iface, hook: hook, problem: "link detached (its device: ifindex \(info.ifindex), \(iface): \(ifindex))", wrongProgram: false))
                    continue
                }
                let entry = layout.prog(hook, Loader.entry)
                if Sys.exists(entry) {
                    let program = try Sys.objectGet(entry)
                    let expected = try Sys.programInfo(program, entry).id
                    if info.programID != expected {
                        findings.append(LinkFinding(interface: iface, hook: hook,
                                                    problem: "link runs program id \(info.programID), expected entry id \(expected)", wrongProgram: true))
                    }
                }
            }
        }
        return findings
    }

    /// Attaches again every interface with a finding, in the XDP mode it was attached in; a
    /// link running another program is detached first. Returns "iface/hook" of each repair.
    func repairLinks(_ findings: [LinkFinding]) throws -> [String] {
        for finding in findings where finding.wrongProgram { try detachHook(finding.interface, finding.hook) }
        for iface in Set(findings.map(\.interface)).sorted() {
            _ = try attach(iface, mode: Sys.isDirectory(genericMarker(iface)) ? .generic : .auto,
                           tcMode: Sys.isDirectory(clsactMarker(iface)) ? .clsact : .auto)
        }
        return findings.map { "\($0.interface)/\($0.hook.rawValue)" }
    }
}
