/// A small, fast, seedable generator (SplitMix64) so every randomized test can print its seed and
/// be replayed exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed of a randomized test: `ANNALS_TEST_SEED` if set (to replay a failure or explore
    /// new seeds), else the test's fixed default, so CI runs are deterministic. Tests print it.
    public static func seedFromEnvironment(default fallback: UInt64) -> UInt64 {
        if let text = environmentVariable("ANNALS_TEST_SEED"), let value = UInt64(text) { return value }
        return fallback
    }

    /// `count` bytes that look like Temporal history events (JSON-ish text with repeated keys), so
    /// they compress like real payloads: a window of a fixed 2 MiB text, with a few bytes changed.
    public mutating func eventLikeBytes(count: Int) -> [UInt8] {
        let pool = eventTextPool
        var out: [UInt8]
        if count <= pool.count {
            let start = Int(next() % UInt64(pool.count - count + 1))
            out = Array(pool[start..<(start + count)])
        } else {
            out = []
            out.reserveCapacity(count)
            while out.count < count { out.append(contentsOf: pool.prefix(count - out.count)) }
        }
        if count > 0 {
            for _ in 0..<(1 + count / 256) { out[Int(next() % UInt64(count))] = UInt8(48 + next() % 10) }
        }
        return out
    }

    public mutating func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}


/// 2 MiB of JSON-like history-event text, made once.
let eventTextPool: [UInt8] = {
    let words: [[UInt8]] = [
        "\"eventId\":", "\"eventType\":\"ActivityTaskScheduled\"", "\"workflowId\":\"order-",
        "\"taskQueue\":{\"name\":\"orders\"}", "\"attempt\":1,", "\"payload\":\"", "\"identity\":\"worker@host-",
        "\"scheduleToCloseTimeout\":\"60s\"", "{", "}", ",", "\"eventTime\":\"2026-11-29T04:",
    ].map { Array($0.utf8) }
    var rng = SeededRandom(seed: 0x5EED)
    var bytes: [UInt8] = []
    let size = 2 << 20
    bytes.reserveCapacity(size + 64)
    while bytes.count < size {
        bytes.append(contentsOf: words[Int(rng.next() % UInt64(words.count))])
        var n = rng.next() % 100_000
        repeat {
            bytes.append(UInt8(48 + n % 10))
            n /= 10
        } while n > 0
    }
    return Array(bytes.prefix(size))
}()

extension SeededRandom {
    /// About `count` bytes of JSON history events as Temporal's JSON history export writes them:
    /// consecutive event ids and times, a few event types, one workflow's ids, task queue and
    /// identity, and a base64 payload per event. Repetition across events is what real histories
    /// have and what LZ4 exploits.
    public mutating func historyEventsJSON(count: Int, firstEventID: Int = 1) -> [UInt8] {
        let types = [
            ("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "activityTaskScheduledEventAttributes"),
            ("EVENT_TYPE_ACTIVITY_TASK_STARTED", "activityTaskStartedEventAttributes"),
            ("EVENT_TYPE_ACTIVITY_TASK_COMPLETED", "activityTaskCompletedEventAttributes"),
            ("EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "workflowTaskScheduledEventAttributes"),
            ("EVENT_TYPE_WORKFLOW_TASK_STARTED", "workflowTaskStartedEventAttributes"),
            ("EVENT_TYPE_WORKFLOW_TASK_COMPLETED", "workflowTaskCompletedEventAttributes"),
        ]
        let workflow = next() % 1_000_000
        let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var eventID = firstEventID
        var millis = Int(next() % 60_000)
        while out.count < count {
            let (type, attributes) = types[Int(next() % UInt64(types.count))]
            let payload = String(decoding: (0..<(16 + Int(next() % 48))).map { _ in base64[Int(next() % 64)] }, as: UTF8.self)
            let text = """
                {"eventId":"\(eventID)","eventTime":"2026-11-29T04:\(millis / 1000 / 60 % 60):\(millis / 1000 % 60).\(millis % 1000)Z",\
                "eventType":"\(type)","taskId":"\(1_048_576 + eventID * 3)","\(attributes)":{"taskQueue":{"name":"orders",\
                "kind":"TASK_QUEUE_KIND_NORMAL"},"identity":"12345@worker-host-7","workflowId":"order-\(workflow)",\
                "input":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"\(payload)"}]}}}
                """
            out.append(contentsOf: text.utf8)
            eventID += 1
            millis += Int(next() % 900)
        }
        return Array(out.prefix(count))
    }
}
