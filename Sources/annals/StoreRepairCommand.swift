import ArgumentParser
import Glibc
import StorageEngine
import StorageIO
import StorageIndex
import StorageLog

struct StoreRepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Bring a damaged data directory back to a state that opens, losing only unreadable records.",
        discussion: """
            Prints a plan and stops (a dry run) unless --apply is given. With --apply it takes the \
            directory lock (refusing while another process holds it), then: truncates a torn tail; keeps \
            every readable frame of a damaged segment (a run of frames after the damage becomes a segment \
            of its own); moves every unreadable byte to DIR/quarantine/<UTC time>/ (with a whole copy of \
            each segment it changes, under original/); declares the LSNs that are gone in DIR/HOLES and \
            prints them; then rebuilds the index from the log (the old index files and manifest go to \
            the quarantine folder too). Nothing is deleted: remove the quarantine folder yourself once \
            you no longer need it. Exit status: 0 done (or nothing to do), 1 failed, 2 usage error.
            Examples:
              annals store repair ./annals-data            # the plan only
              annals store repair ./annals-data --apply
            """)

    @Argument(help: "The data directory.") var directory: String
    @Flag(help: "Carry out the plan (default: print it and change nothing).") var apply = false

    func run() async throws {
        let fileSystem = try requireDirectory(directory)
        var lock: (any DirectoryLock)? = nil
        do {
            lock = try fileSystem.lockDirectory(directory)
        } catch let error as StorageError where error.code == .locked && !apply {
            printError("warning: \(error.message): the plan below may be stale; stop that process before --apply")
        }
        if !apply {
            // A dry run only checked for a holder: it must not keep a starting server out.
            lock?.release()
            lock = nil
        }
        defer { lock?.release() }

        let plan = try LogRepair.plan(directory: directory, fileSystem: fileSystem)
        let lastLSN = try lastLSNAfter(plan, fileSystem: fileSystem)
        let index = IndexInspection.inspect(
            directory: directory, fileSystem: fileSystem, logLastLSN: lastLSN,
            log: plan.isEmpty ? try LogRecovery.scan(directory: directory, fileSystem: fileSystem) : nil)
        let indexFiles = try fileSystem.contentsOfDirectory(directory).filter {
            IndexFileFormat.id(fromFileName: $0) != nil || $0 == Manifest.Format.fileName || $0 == Manifest.Format.temporaryFileName
        }.sorted()
        let rebuildIndex = !plan.isEmpty || !index.findings.isEmpty
        if plan.isEmpty && !rebuildIndex {
            print("nothing to repair: the log and the index are intact")
            return
        }
        print(apply ? "plan:" : "plan (dry run; nothing is changed without --apply):")
        for step in plan.steps { print("  \(step)") }
        for finding in index.findings { print("  index: \(finding)") }
        if rebuildIndex {
            let files = indexFiles.filter { IndexFileFormat.id(fromFileName: $0) != nil }.count
            let manifest = indexFiles.contains(Manifest.Format.fileName) ? " and the manifest" : ""
            print("  move \(files) index file(s)\(manifest) to quarantine, then rebuild the index from the log")
        }
        print("  lost: \(lostSummary(plan))")
        guard apply else {
            print("dry run: nothing changed; run `annals store repair \(directory) --apply` to carry it out")
            return
        }

        let quarantine = try makeQuarantine(fileSystem)
        // The report first, so an interrupted repair still says what it set out to do.
        try writeReport(plan, to: quarantine, fileSystem: fileSystem)
        try LogRepair.apply(plan, quarantine: quarantine, fileSystem: fileSystem)
        if rebuildIndex {
            let kept = joinPath(quarantine, "index")
            try fileSystem.createDirectory(kept)
            // The manifest first: without it the index files are orphans either way.
            for name in indexFiles.sorted(by: { a, _ in a == Manifest.Format.fileName }) {
                try fileSystem.rename(joinPath(directory, name), to: joinPath(kept, name))
            }
            try fileSystem.syncDirectory(kept)
            try fileSystem.syncDirectory(directory)
        }
        lock?.release()
        lock = nil
        var rebuilt = ""
        if rebuildIndex {
            let store = try Store.open(directory: directory, fileSystem: fileSystem, options: StoreOptions(cleaningRatio: nil))
            try await store.flush()
            let statistics = store.statistics
            await store.close()
            rebuilt = "; index rebuilt: \(statistics.indexFiles) file(s), \(statistics.indexFileEntries) entries, checkpoint LSN \(statistics.checkpointLSN)"
        }
        print("repaired: lost \(lostSummary(plan))\(rebuilt)")
        print("quarantine: \(quarantine) (every removed byte; delete it once you no longer need it)")
    }

    private func lostSummary(_ plan: LogRepairPlan) -> String {
        var parts: [String] = []
        if plan.lost.isEmpty {
            parts.append("no acknowledged record")
        } else {
            parts.append("\(plan.lostRecords) record(s), LSN " + plan.lost.map(\.lsnDescription).joined(separator: ", "))
        }
        if !plan.isEmpty && !plan.declaredEarlier.isEmpty {
            parts.append("already declared lost by an earlier repair: LSN " + plan.declaredEarlier.map(\.lsnDescription).joined(separator: ", "))
        }
        let torn = plan.removals.filter(\.tornTail)
        if !torn.isEmpty {
            parts.append("a torn tail of \(torn.reduce(0) { $0 + $1.end - $1.start }) byte(s) (a write cut by a crash, never acknowledged)")
        }
        return parts.joined(separator: "; ")
    }

    /// The log's last LSN once the plan is carried out.
    private func lastLSNAfter(_ plan: LogRepairPlan, fileSystem: PosixFileSystem) throws -> UInt64 {
        if plan.isEmpty { return try LogRecovery.scan(directory: directory, fileSystem: fileSystem).nextLSN - 1 }
        var last: UInt64 = 0
        let changed = Set(plan.changes.map(\.path))
        let report = try LogRecovery.scan(directory: directory, fileSystem: fileSystem)
        for (segment, path) in zip(report.segments, report.segmentPaths) where !changed.contains(path) {
            last = max(last, segment.nextLSN - 1)
        }
        for change in plan.changes {
            if case .rewrite(let pieces) = change.action { last = max(last, pieces.map { $0.nextLSN - 1 }.max() ?? 0) }
            if case .truncate = change.action, let segment = zip(report.segments, report.segmentPaths).first(where: { $0.1 == change.path }) {
                last = max(last, segment.0.nextLSN - 1)
            }
        }
        return last
    }

    private func makeQuarantine(_ fileSystem: PosixFileSystem) throws -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y%m%dT%H%M%SZ", &parts)
        let stamp = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var path = joinPath(joinPath(directory, "quarantine"), stamp)
        var suffix = 1
        while fileSystem.fileExists(path) {
            suffix += 1
            path = joinPath(joinPath(directory, "quarantine"), "\(stamp)-\(suffix)")
        }
        try fileSystem.createDirectory(path)
        try fileSystem.syncDirectory(directory)
        return path
    }

    private func writeReport(_ plan: LogRepairPlan, to quarantine: String, fileSystem: PosixFileSystem) throws {
        var text = "annals store repair \(directory) --apply\n"
        for step in plan.steps { text += "  \(step)\n" }
        text += "lost: \(lostSummary(plan))\n"
        let handle = try fileSystem.open(joinPath(quarantine, "REPORT"), .createNew)
        defer { handle.close() }
        try handle.writeAll(Array(text.utf8), at: 0)
        try handle.sync()
        try fileSystem.syncDirectory(quarantine)
    }
}
