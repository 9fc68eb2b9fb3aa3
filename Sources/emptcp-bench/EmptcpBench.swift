import ArgumentParser
@main struct EmptcpBench: ParsableCommand { func run() throws {} }
