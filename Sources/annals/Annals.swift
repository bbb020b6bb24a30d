import ArgumentParser
import Glibc
import LoadGenerator

@main
struct Annals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annals",
        abstract: "A Temporal-compatible workflow server for one machine, on its own storage engine.",
        subcommands: [ServerCommand.self, StoreCommand.self, BenchCommand.self])

    /// ArgumentParser's own `main`, except that usage errors of the `store` commands exit with 2
    /// (their documented status: 0 clean, 1 damage or failure, 2 usage) instead of EX_USAGE (64).
    static func main() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if CommandLine.arguments.dropFirst().first == "store" && exitCode(for: error) == .validationFailure {
                // A ValidationError thrown by `run` (a directory that is not one) is not about the
                // command line's shape: print it alone, without the root command's usage.
                printError((error as? ValidationError).map { "Error: \($0.message)" } ?? fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
