import Foundation
import Logging

extension Logger {
    /// The CLI's one logger: stderr, level from EMPTCP_LOG_LEVEL (trace … critical; default
    /// warning), so diagnostics never mix with the results on stdout.
    static let cli: Logger = {
        var logger = Logger(label: "emptcp", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = ProcessInfo.processInfo.environment["EMPTCP_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()
}
