import ArgumentParser
import StorageEngine
import StorageIO
import StorageIndex

struct StoreRebuildIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-index",
        abstract: "Discard the index (manifest and index files) and rebuild it from the log alone.",
        discussion: """
            Refuses while another process holds the directory. Prints what it removes first; with --dry-run \
            stops there. The log is not changed.
            Example: annals store rebuild-index ./annals-data
            """)

    @Argument(help: "The data directory.") var directory: String
    @Flag(help: "Only print what would be removed.") var dryRun = false

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        let lock = try fileSystem.lockDirectory(directory)
        let doomed = try fileSystem.contentsOfDirectory(directory).filter {
            IndexFileFormat.id(fromFileName: $0) != nil || $0 == Manifest.Format.fileName || $0 == Manifest.Format.temporaryFileName
        }.sorted()
        print("plan: remove \(doomed.count) index file(s) and the manifest, then replay the whole log and write a new index")
        for name in doomed { print("  remove \(joinPath(directory, name))") }
        if dryRun {
            lock.release()
            return
        }
        // The manifest goes first: without it, the index files are orphans either way.
        for name in doomed.sorted(by: { a, _ in a == Manifest.Format.fileName }) {
            try fileSystem.removeFile(joinPath(directory, name))
        }
        try fileSystem.syncDirectory(directory)
        lock.release()
        let store = try Store.open(directory: directory, fileSystem: fileSystem)
        try await store.flush()
        let statistics = store.statistics
        await store.close()
        print("rebuilt: \(statistics.indexFiles) index file(s), \(statistics.indexFileEntries) entries, checkpoint LSN \(statistics.checkpointLSN)")
    }
}

struct StoreCompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Flush the memtable and merge every index file into one, offline; reports space before and after.",
        discussion: "Refuses while another process holds the directory.\nExample: annals store compact ./annals-data")

    @Argument(help: "The data directory.") var directory: String

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        let store = try Store.open(directory: directory, fileSystem: fileSystem)
        let before = store.statistics
        try await store.compact()
        let after = store.statistics
        await store.close()
        print("index before: \(before.indexFiles) file(s), \(before.indexFileBytes) bytes (+ \(before.memtableBytes) bytes in memory)")
        print("index after:  \(after.indexFiles) file(s), \(after.indexFileBytes) bytes, checkpoint LSN \(after.checkpointLSN)")
        print("note: log cleaning is not implemented yet; the log keeps every record")
    }
}
