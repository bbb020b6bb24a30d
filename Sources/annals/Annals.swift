import ArgumentParser
import LoadGenerator

@main
struct Annals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annals",
        abstract: "A Temporal-compatible workflow server for one machine, on its own storage engine.",
        subcommands: [ServerCommand.self, StoreCommand.self, BenchCommand.self])
}
