import ArgumentParser
import EmptcpFleet
import EmptcpStore
import Foundation

extension Emptcp.Fleet {
    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "commit",
            abstract: "Validate a policy file and store it as the next fleet revision; following hosts apply it.",
            discussion: """
                Validation is a local commit's (PolicyValidator), against the built-in selectors and \
                actors: operator modules live on each host, not in the fleet. With --check the file is \
                only validated; nothing is written and no fleet is needed.
                """)
        @OptionGroup var fleet: FleetOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("Policy file.", valueName: "file")) var file: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "text")) var message: String?
        @Flag(name: .long, help: "Validate only; write nothing.") var check = false

        func run() throws {
            let (policy, map) = try PolicyFile.load(path: file)
            try PolicyValidator.validate(policy, modules: [], map: map)
            if check {
                let result = FleetCheckResult(file: file, bindingCount: policy.bindings.count, contentHash: policy.contentHash)
                if output.json { return Console.print(try Console.document(result)) }
                return Console.print("\(file): valid, \(result.bindingCount) bindings, content \(result.contentHash.prefix(12))")
            }
            let message = self.message
            let rev = try FleetRun.withRepository(fleet) { try await $0.commit(policy, message: message) }
            if output.json { return Console.print(try Console.document(FleetRevisionOutput(rev))) }
            Console.print("fleet revision \(rev.id): \(rev.bindingCount) bindings, content \(rev.contentHash.prefix(12))")
        }
    }
}

/// `fleet commit --check --json`.
struct FleetCheckResult: Encodable {
    var file: String
    var bindingCount: Int
    var contentHash: String
    enum CodingKeys: String, CodingKey { case file, bindingCount = "binding_count", contentHash = "content_hash" }
}

/// One fleet revision as `fleet commit`, `fleet rollback` and `fleet log` print it (without its content).
struct FleetRevisionOutput: Encodable {
    var id: Int64
    var parent: Int64?
    var createdAt: Date
    var author: String
    var clientHost: String
    var message: String?
    var action: String
    var rollbackTo: Int64?
    var contentHash: String
    var bindingCount: Int

    init(_ r: FleetRevision) {
        id = r.id
        parent = r.parent
        createdAt = r.createdAt
        author = r.author
        clientHost = r.clientHost
        message = r.message
        action = r.action
        rollbackTo = r.rollbackTo
        contentHash = r.contentHash
        bindingCount = r.bindingCount
    }

    enum CodingKeys: String, CodingKey {
        case id, parent, author, message, action
        case createdAt = "created_at", clientHost = "client_host", rollbackTo = "rollback_to"
        case contentHash = "content_hash", bindingCount = "binding_count"
    }
}
