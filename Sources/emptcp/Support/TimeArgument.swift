import Foundation

/// Times on the command line (`audit --since`): ISO 8601, a UTC date and time, or an age.
enum TimeArgument {
    static func parse(_ text: String, now: Date = Date()) -> Date? {
        if let d = ISO8601DateFormatter().date(from: text) { return d }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd"] {
            day.dateFormat = format
            if let d = day.date(from: text) { return d }
        }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last, let scale = units[unit], let n = Double(text.dropLast()), n >= 0 {
            return now.addingTimeInterval(-n * scale)
        }
        return nil
    }
}
