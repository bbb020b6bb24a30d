import ArgumentParser
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

struct StoreRebuildIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-index",
        abstract: "Discard the index (manifest and index files) and rebuild it from the log alone.",
        discussion: """
            Refuses while another process holds the directory. Prints what it removes first; with --dry-run \
            stops there. The log is not changed. (`annals store repair` does the same when the index is \
            damaged, keeping the old files in its quarantine folder instead of removing them.)
            Examples:
              annals store rebuild-index ./annals-data --dry-run
              annals store rebuild-index ./annals-data
            """)

    @Argument(help: "The data directory.") var directory: String
    @Flag(help: "Only print what would be removed.") var dryRun = false

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        let lock = try fileSystem.lockDirectory(directory)
        let doomed = try fileSystem.contentsOfDirectory(directory).filter {
            IndexFileFormat.id(fromFileName: $0) != nil || $0 == Manifest.Format.fileName || $0 == Manifest.Format.temporaryFileName
        }.sorted()
        let indexFiles = doomed.filter { IndexFileFormat.id(fromFileName: $0) != nil }.count
        print("plan: remove \(indexFiles) index file(s) and the manifest, then replay the whole log and write a new index")
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
        // No background log cleaning: rebuilding the index leaves the log as it is.
        let store = try Store.open(directory: directory, fileSystem: fileSystem, options: StoreOptions(cleaningRatio: nil))
        try await store.flush()
        let statistics = store.statistics
        await store.close()
        print("rebuilt: \(statistics.indexFiles) index file(s), \(statistics.indexFileEntries) entries, checkpoint LSN \(statistics.checkpointLSN)")
    }
}

struct StoreCompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Clean the log and merge every index file into one, offline, to completion; reports space before and after.",
        discussion: """
            Refuses while another process holds the directory. Flushes the memtable, cleans every sealed \
            log segment (its live rows are rewritten at the head of the log, then the segment is deleted; \
            the segment being appended to stays), then merges every index file into one. The store's \
            contents do not change.
            Example: annals store compact ./annals-data
            """)

    @Argument(help: "The data directory.") var directory: String

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        // Background cleaning off: this command cleans, to completion, itself.
        let store = try Store.open(directory: directory, fileSystem: fileSystem, options: StoreOptions(cleaningRatio: nil))
        let before = (store.statistics, store.log.stats())
        let cleaned: (segments: Int, relocatedRows: Int)
        do {
            cleaned = try await store.cleanLog()
            try await store.compact()
        } catch {
            await store.close()
            throw error
        }
        let after = (store.statistics, store.log.stats())
        await store.close()
        print("log before:   \(before.1.segments.count) segment(s), \(before.1.bytesOnDisk) bytes")
        print("log after:    \(after.1.segments.count) segment(s), \(after.1.bytesOnDisk) bytes (\(cleaned.segments) segment(s) cleaned, \(cleaned.relocatedRows) live row(s) relocated)")
        print("index before: \(before.0.indexFiles) file(s), \(before.0.indexFileBytes) bytes (+ \(before.0.memtableBytes) bytes in memory)")
        print("index after:  \(after.0.indexFiles) file(s), \(after.0.indexFileBytes) bytes, checkpoint LSN \(after.0.checkpointLSN)")
        let total = (before.1.bytesOnDisk + before.0.indexFileBytes, after.1.bytesOnDisk + after.0.indexFileBytes)
        print("total:        \(total.0) -> \(total.1) bytes on disk")
    }
}
