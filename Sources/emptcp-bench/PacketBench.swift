import ArgumentParser

// Placeholder until its issue lands.
struct PacketBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "packet", abstract: "Not yet implemented.")
    func run() throws { throw ValidationError("packet benchmark is not implemented yet") }
}
