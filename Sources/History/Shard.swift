public import Persistence
import Synchronization

/// One shard: owns the runs whose workflow ids hash to it. It holds the shard's `rangeID` (the
/// fence on every write), allocates task ids from its range (`rangeID << 20 | seq`), serialises
/// transactions per run and caches mutable state.
final class Shard: Sendable {
    let id: Int32
    /// Task ids per range: `rangeID << rangeBits | seq`.
    static let rangeBits: Int64 = 20
    /// A transaction starts only when at least this many task ids are left in the range.
    static let idsReservedPerTransaction: Int64 = 4_096
    /// Runs whose mutable state stays cached.
    static let maxCachedRuns = 20_000

    private struct State {
        var rangeID: Int64
        var nextSeq: Int64 = 0
        var cache: [WorkflowKey: MutableState] = [:]
    }

    private let state: Mutex<State>
    /// Serialises transactions per run (and, with run id "", starts per workflow id).
    let locks = KeyedLock<WorkflowKey>()
    /// Serialises range renewals.
    private let renewLock = KeyedLock<Int32>()
    private let persistence: any Persistence
    let stickyQueues: StickyQueues

    private init(id: Int32, rangeID: Int64, persistence: any Persistence, stickyQueues: StickyQueues) {
        self.id = id
        self.stickyQueues = stickyQueues
        self.state = Mutex(State(rangeID: rangeID))
        self.persistence = persistence
    }

    /// Takes ownership: bumps the shard's range id, so writes of any earlier owner fail.
    static func acquire(_ id: Int32, persistence: any Persistence, stickyQueues: StickyQueues) async throws -> Shard {
        var info = try await persistence.getOrCreateShard(id)
        let previous = info.rangeID
        info.rangeID += 1
        try await persistence.updateShard(info, previousRangeID: previous)
        return Shard(id: id, rangeID: info.rangeID, persistence: persistence, stickyQueues: stickyQueues)
    }

    var rangeID: Int64 { state.withLock { $0.rangeID } }

    /// The next task id. Callers reserved room with `ensureRange()` first.
    func allocateTaskID() -> Int64 {
        state.withLock { state in
            precondition(state.nextSeq < (1 << Shard.rangeBits), "task id range exhausted inside a transaction")
            defer { state.nextSeq += 1 }
            return state.rangeID << Shard.rangeBits | state.nextSeq
        }
    }

    /// Renews the range (a fenced shard update) when fewer than `idsReservedPerTransaction` ids remain.
    func ensureRange() async throws {
        let needs = state.withLock { (1 << Shard.rangeBits) - $0.nextSeq < Shard.idsReservedPerTransaction }
        guard needs else { return }
        try await renewLock.withLock(id) {
            let (current, stillNeeds) = state.withLock { ($0.rangeID, (1 << Shard.rangeBits) - $0.nextSeq < Shard.idsReservedPerTransaction) }
            guard stillNeeds else { return }
            var info = try await persistence.getOrCreateShard(id)
            guard info.rangeID == current else { throw PersistenceError.shardOwnershipLost(shardID: id, currentRangeID: info.rangeID) }
            info.rangeID += 1
            try await persistence.updateShard(info, previousRangeID: current)
            state.withLock {
                $0.rangeID = info.rangeID
                $0.nextSeq = 0
            }
        }
    }

    func cached(_ key: WorkflowKey) -> MutableState? { state.withLock { $0.cache[key] } }

    /// Caches `ms` unless a newer version of the run is cached already (a reader that loaded
    /// the run outside its lock must not replace what a transaction just committed).
    func cache(_ ms: MutableState) {
        state.withLock { state in
            if let cached = state.cache[ms.key], cached.dbRecordVersion > ms.dbRecordVersion { return }
            if state.cache.count >= Shard.maxCachedRuns, state.cache[ms.key] == nil {
                // Evict an arbitrary tenth; the next transaction on those runs reloads them.
                for key in state.cache.keys.prefix(Shard.maxCachedRuns / 10) { state.cache[key] = nil }
            }
            state.cache[ms.key] = ms
        }
    }

    func evict(_ key: WorkflowKey) { _ = state.withLock { $0.cache.removeValue(forKey: key) } }

    /// The shard a workflow id belongs to: FNV-1a over namespace id and workflow id, stable across
    /// processes (Swift's `Hasher` is seeded per process, so it must not be used here).
    static func index(namespaceID: String, workflowID: String, shardCount: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in namespaceID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0xff) &* 0x100_0000_01b3
        for byte in workflowID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(shardCount))
    }
}
