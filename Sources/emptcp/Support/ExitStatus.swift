import ArgumentParser
import EmptcpApply
import EmptcpFleet
import EmptcpStore

/// The one mapping from errors to exit codes: 0 success, 2 usage or validation error (input the
/// operator can correct), 1 any other failure. Commands just throw; `Emptcp.main` reports the
/// error here as one line on stderr, `emptcp <command>: <cause>`.
enum ExitStatus {
    static let failure: Int32 = 1
    static let usage: Int32 = 2

    static func code(for error: Error) -> Int32 {
        switch error {
        case let exit as ExitCode: exit.rawValue
        case let store as StoreError: store.exitCode
        case let fleet as FleetError: fleet.exitCode
        case is ValidationError: usage
        case ModuleError.invalidName: usage
        default: failure
        }
    }

    /// Prints the error's line (unless it is an `ExitCode`: its command reported already) and
    /// returns the exit code.
    static func report(_ error: Error, command: String) -> Int32 {
        if !(error is ExitCode) {
            let cause = (error as? ValidationError)?.message ?? "\(error)"
            Console.error("emptcp \(command): \(cause)")
        }
        return code(for: error)
    }

    /// "module add" for `Emptcp.Module.Add`: the words an operator typed to reach the command.
    static func commandPath(_ type: ParsableCommand.Type, from root: ParsableCommand.Type = Emptcp.self) -> String {
        func search(_ node: ParsableCommand.Type, _ path: [String]) -> [String]? {
            if node == type { return path }
            for child in node.configuration.subcommands {
                if let found = search(child, path + [child._commandName]) { return found }
            }
            return nil
        }
        return search(root, [])?.joined(separator: " ") ?? type._commandName
    }
}
