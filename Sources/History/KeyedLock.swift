import Synchronization

/// One async, FIFO lock per key, held across suspension points (a workflow's transaction awaits
/// persistence while holding its run's lock). Entries exist only while held or awaited.
final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let entries = Mutex<[Key: Entry]>([:])

    func withLock<R>(_ key: Key, _ body: () async throws -> R) async throws -> R {
        await lock(key)
        defer { unlock(key) }
        return try await body()
    }

    private func lock(_ key: Key) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired: Bool = entries.withLock { entries in
                if entries[key] == nil {
                    entries[key] = Entry()
                    return true
                }
                entries[key]!.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    private func unlock(_ key: Key) {
        let next: CheckedContinuation<Void, Never>? = entries.withLock { entries in
            guard var entry = entries[key] else { preconditionFailure("unlock of a key that is not locked") }
            if entry.waiters.isEmpty {
                entries[key] = nil
                return nil
            }
            let next = entry.waiters.removeFirst()
            entries[key] = entry
            return next
        }
        next?.resume()
    }
}
