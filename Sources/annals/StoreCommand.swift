import ArgumentParser

struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect, check and stress a data directory without the server.",
        discussion: "These commands use the storage modules only, so they work on a directory whose server will not start.",
        subcommands: [
            StoreStatsCommand.self, StoreVerifyCommand.self, StoreDumpCommand.self, StoreRepairCommand.self, StoreRebuildIndexCommand.self, StoreCompactCommand.self,
            StoreStressCommand.self, StoreStressVerifyCommand.self,
            LogStressCommand.self, LogStressVerifyCommand.self,
        ])
}
