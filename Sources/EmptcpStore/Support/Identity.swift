import Foundation
import Glibc

/// Who is writing: recorded on every revision and audit row.
struct Identity: Sendable {
    var uid: UInt32
    var user: String
    var host: String

    static func current() -> Identity {
        let uid = getuid()
        var user = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid\(uid)"
        // Under sudo the real person is worth keeping next to "root".
        if let sudoUser = ProcessInfo.processInfo.environment["SUDO_USER"], !sudoUser.isEmpty, sudoUser != user {
            user += " (sudo from \(sudoUser))"
        }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "unknown"
        return Identity(uid: uid, user: user, host: host)
    }
}

extension Date {
    /// Milliseconds since the Unix epoch, as stored in the database.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}
