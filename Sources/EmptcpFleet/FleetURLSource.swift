import Foundation

extension FleetURL {
    /// The fleet address from, in order: `--fleet URL`, `--fleet-file PATH`, env EMPTCP_FLEET.
    /// The URL may carry a password, so a file holding it must belong to root and be readable by
    /// no one else: a group- or world-readable file is refused, not read.
    public static func resolve(flag: String?, file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FleetURL {
        if let flag { return try FleetURL(flag) }
        if let file { return try FleetURL(try readPrivateFile(file)) }
        if let env = environment["EMPTCP_FLEET"], !env.isEmpty { return try FleetURL(env) }
        throw FleetError.noURL
    }

    static func readPrivateFile(_ path: String) throws -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw FleetError.urlFile(path: path, message: "cannot read: \((error as NSError).localizedDescription)")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue ?? -1
        guard mode & 0o077 == 0 else {
            throw FleetError.urlFile(path: path, message: "readable by group or others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        guard owner == 0 else { throw FleetError.urlFile(path: path, message: "must belong to root (it holds the fleet password)") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FleetError.urlFile(path: path, message: "cannot read as UTF-8 text")
        }
        let url = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let url else { throw FleetError.urlFile(path: path, message: "holds no URL") }
        return url
    }
}
