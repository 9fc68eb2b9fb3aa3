import ArgumentParser

// Placeholder until its issue lands.
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("store benchmark is not implemented yet") }
}
