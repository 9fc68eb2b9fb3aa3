/// Fleet failures, each printed as one line. `exitCode` follows the CLI's rule: 2 for input the
/// operator can correct, 1 for everything else.
public enum FleetError: Error, CustomStringConvertible, Sendable {
    case badURL(String)
    case noURL
    case urlFile(path: String, message: String)
    case unreachable(String, cause: String)
    case schemaBehind(found: Int, needed: Int)
    case schemaTooNew(found: Int, supported: Int)
    case revisionNotFound(Int64)
    case identical(revision: Int64)
    case nothingToRollBack
    case database(String)
    case timeout(revision: Int64, waiting: [String])
    case hostsFailed(revision: Int64, errors: [String])

    public var description: String {
        switch self {
        case let .badURL(m): "bad fleet URL: \(m)"
        case .noURL: "no fleet given: use --fleet URL, EMPTCP_FLEET or --fleet-file PATH"
        case let .urlFile(path, m): "\(path): \(m)"
        case let .unreachable(url, cause): "fleet \(url) unreachable: \(cause)"
        case let .schemaBehind(found, needed): "the fleet database has schema \(found), this emptcp needs \(needed): run `emptcp fleet init` as its owner"
        case let .schemaTooNew(found, supported): "the fleet database has schema \(found), newer than this emptcp knows (\(supported))"
        case let .revisionNotFound(id): "no fleet revision \(id)"
        case let .identical(id): "content identical to fleet revision \(id); nothing committed"
        case .nothingToRollBack: "nothing to roll back to"
        case let .database(m): m
        case let .timeout(rev, waiting): "timed out waiting for fleet revision \(rev) on \(waiting.count) host(s): \(waiting.prefix(10).joined(separator: ", "))"
        case let .hostsFailed(rev, errors): "fleet revision \(rev) failed on \(errors.count) host(s): \(errors.prefix(5).joined(separator: "; "))"
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .badURL, .noURL, .urlFile, .revisionNotFound: 2
        default: 1
        }
    }
}
