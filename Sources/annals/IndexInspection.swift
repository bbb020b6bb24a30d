import ArgumentParser
import StorageCodec
import StorageIO
import StorageIndex
import StorageLog

/// A read-only look at a data directory's index: the manifest and every index file it names.
struct IndexInspection {
    struct FileInfo {
        var record: Manifest.FileRecord
        var path: String
        var blocks: Int
        var bloomBytes: Int
        var bytes: Int64
    }

    var manifest: Manifest?
    var files: [FileInfo] = []
    /// Damage: each names the file and byte offset.
    var findings: [Finding] = []

    struct Finding: CustomStringConvertible {
        var description: String
        var path: String?
        var offset: Int64?
    }

    mutating func add(_ text: String, path: String?, offset: Int64? = nil) {
        findings.append(Finding(description: text, path: path, offset: offset))
    }

    mutating func add(_ error: StorageError) {
        add(error.code == .corruption ? error.description : "corruption: \(error.description)", path: error.path, offset: error.offset)
    }
    /// Harmless leftovers the next open deletes.
    var notes: [String] = []

    /// Checks the manifest, and every block checksum, key order, count and bloom filter entry of every index file.
    /// `log`, when given, also checks that the log continues where the checkpoint ends.
    static func inspect(directory: String, fileSystem: any FileSystem, logLastLSN: UInt64, log: RecoveryReport? = nil) -> IndexInspection {
        var report = IndexInspection()
        do {
            report.manifest = try Manifest.load(from: directory, fileSystem: fileSystem)
        } catch let error as StorageError {
            report.add(error)
            return report
        } catch {
            report.add("corruption: \(error)", path: joinPath(directory, Manifest.Format.fileName))
            return report
        }
        let manifestPath = joinPath(directory, Manifest.Format.fileName)
        guard let manifest = report.manifest else {
            // A crashed first flush leaves index file 1 and no manifest; anything more means the
            // manifest existed and is gone.
            let ids = ((try? fileSystem.contentsOfDirectory(directory)) ?? []).compactMap(IndexFileFormat.id(fromFileName:)).sorted()
            if ids.count > 1 || ids.contains(where: { $0 > 1 }) {
                report.add(
                    "corruption: \(manifestPath): missing, but \(ids.count) index file(s) exist (ids \(ids.map(String.init).joined(separator: ", "))): the manifest was lost; the index is derived from the log (`annals store repair` or `rebuild-index` rebuilds it)", path: manifestPath)
            }
            return report
        }
        if let log, let first = log.segments.first, first.firstLSN > manifest.checkpointLSN + 1,
            !log.holes.covers((manifest.checkpointLSN + 1)..<first.firstLSN)
        {
            report.add(
                "corruption: \(log.segmentPaths[0]) at byte offset 0: the log starts at LSN \(first.firstLSN) but the checkpoint is LSN \(manifest.checkpointLSN): LSN \(((manifest.checkpointLSN + 1)..<first.firstLSN).lsnDescription) are in neither the index nor the log (an older segment is missing)", path: log.segmentPaths[0], offset: 0)
        }
        if manifest.checkpointLSN > logLastLSN {
            report.add(
                "corruption: \(manifestPath): checkpoint LSN \(manifest.checkpointLSN) is past the log's last LSN \(logLastLSN)", path: manifestPath)
        }
        let named = Set(manifest.files.map(\.id))
        for name in (try? fileSystem.contentsOfDirectory(directory)) ?? [] {
            if let id = IndexFileFormat.id(fromFileName: name), !named.contains(id) {
                report.notes.append("\(joinPath(directory, name)): not named by the manifest (left by a crash; the next open deletes it)")
            } else if name == Manifest.Format.temporaryFileName {
                report.notes.append("\(joinPath(directory, name)): left by a crash during a manifest update (the next open deletes it)")
            }
        }
        for record in manifest.files {
            let path = joinPath(directory, IndexFileFormat.fileName(id: record.id))
            do {
                let file = try IndexFile(fileSystem: fileSystem, path: path, id: record.id)
                var previous: [UInt8]? = nil
                var count: UInt64 = 0
                var maxLSN: UInt64 = 0
                try file.forEachEntry { key, entry in
                    if let previous, compareKeys(previous, key) >= 0 {
                        throw StorageError(.corruption, "keys out of order after entry \(count)", path: path)
                    }
                    if !file.bloomMayContain(key) {
                        throw StorageError(
                            .corruption, "the bloom filter does not contain the key of entry \(count) (a point read would miss it)", path: path)
                    }
                    previous = key
                    count += 1
                    maxLSN = max(maxLSN, entry.lsn)
                }
                if count != file.entryCount {
                    report.add("corruption: \(path): \(count) entries but the footer says \(file.entryCount)", path: path)
                }
                if count != record.entries || UInt64(file.bytes) != record.bytes {
                    report.add(
                        "corruption: \(path): \(count) entries / \(file.bytes) bytes but the manifest says \(record.entries) / \(record.bytes)", path: path)
                }
                if maxLSN > manifest.checkpointLSN {
                    report.add("corruption: \(path): holds LSN \(maxLSN), past the checkpoint \(manifest.checkpointLSN)", path: path)
                }
                report.files.append(FileInfo(record: record, path: path, blocks: file.blockCount, bloomBytes: file.bloomBytes, bytes: file.bytes))
            } catch let error as StorageError {
                report.add(error)
            } catch {
                report.add("corruption: \(path): \(error)", path: path)
            }
        }
        return report
    }
}

/// What the read-only commands (`stats`, `verify`) look at: the log and the index of a directory.
struct DirectoryReport {
    let log: RecoveryReport
    let index: IndexInspection

    /// Scans `directory` without changing it or taking its lock.
    static func read(
        _ directory: String, decompress: Bool = false, onSegment: ((Int, Int, String) -> Void)? = nil
    ) throws -> DirectoryReport {
        let fileSystem = try requireDirectory(directory)
        let log = try LogRecovery.scan(directory: directory, fileSystem: fileSystem, decompress: decompress, onSegment: onSegment)
        let index = IndexInspection.inspect(directory: directory, fileSystem: fileSystem, logLastLSN: log.nextLSN - 1, log: log)
        return DirectoryReport(log: log, index: index)
    }
}

/// The POSIX file system, once `directory` is known to be a directory (a usage error otherwise).
func requireDirectory(_ directory: String) throws -> PosixFileSystem {
    let fileSystem = PosixFileSystem()
    guard fileSystem.isDirectory(directory) else { throw ValidationError("\(directory) is not a directory") }
    return fileSystem
}
