import StorageIO
import StorageLog
import StorageTesting

let testDirectory = "/data/log"

/// Appends `records` from `concurrency` tasks; returns (record, position) for each acknowledged one.
func appendConcurrently(_ log: Log, _ records: [[UInt8]], concurrency: Int) async -> [(record: [UInt8], position: LogPosition?)] {
    await withTaskGroup(of: [(Int, LogPosition?)].self) { group in
        for lane in 0..<concurrency {
            group.addTask {
                var results: [(Int, LogPosition?)] = []
                var index = lane
                while index < records.count {
                    results.append((index, try? await log.append(records[index])))
                    index += concurrency
                }
                return results
            }
        }
        var all = [(record: [UInt8], position: LogPosition?)](repeating: ([], nil), count: records.count)
        for await lane in group {
            for (index, position) in lane { all[index] = (records[index], position) }
        }
        return all
    }
}

/// Every record the log holds, in LSN order, via scan.
func scanAll(_ log: Log, from lsn: UInt64 = 1) throws -> [(UInt64, [UInt8])] {
    var out: [(UInt64, [UInt8])] = []
    try log.scan(from: lsn) { lsn, bytes in
        out.append((lsn, Array(bytes)))
        return true
    }
    return out
}

func randomRecords(_ rng: inout SeededRandom, count: Int, maxBytes: Int) -> [[UInt8]] {
    (0..<count).map { _ in
        let size: Int
        switch rng.next() % 10 {
        case 0: size = 0
        case 1: size = Int(rng.next() % UInt64(maxBytes + 1))
        default: size = Int(rng.next() % 2048)
        }
        return rng.next() % 2 == 0 ? rng.eventLikeBytes(count: size) : rng.bytes(count: size)
    }
}

func segmentFiles(_ fs: MemFileSystem, _ directory: String = testDirectory) -> [String] {
    ((try? fs.contentsOfDirectory(directory)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
}

func expectStorageError(_ code: StorageError.Code, _ body: () throws -> Void) -> StorageError? {
    do {
        try body()
    } catch let error as StorageError {
        return error.code == code ? error : nil
    } catch {
        return nil
    }
    return nil
}
