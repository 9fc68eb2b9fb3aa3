import ArgumentParser

/// Revision numbers on the command line (show, diff, rollback): positive integers.
enum RevisionArgument {
    static func parse(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else { throw ValidationError("revision must be a positive integer, not \(text)") }
        return id
    }
}
