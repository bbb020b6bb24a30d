/// Evaluation of a parsed query against one record.
///
/// - A field missing from the record (a custom attribute not set, CloseTime/ExecutionTime 0)
///   matches only `IS NULL`, `!=` and `NOT ...`; the ordering operators are false for it.
/// - `!=` is the negation of `=`. On a KeywordList, `=` means "contains", `IN` "contains any".
/// - Numbers compare numerically across int, double and datetime; strings compare by their
///   Unicode scalars. A string compared with a Datetime attribute is read as RFC 3339. Text
///   attributes: `=` matches when the text contains the value, case-insensitively.
extension VisibilityQuery {
    public func matches(_ record: VisibilityRecord) -> Bool {
        switch self {
        case .all: return true
        case .and(let a, let b): return a.matches(record) && b.matches(record)
        case .or(let a, let b): return a.matches(record) || b.matches(record)
        case .not(let q): return !q.matches(record)
        case .isNull(let field): return Self.value(of: field, in: record) == nil
        case .isIn(let field, let values):
            guard let actual = Self.value(of: field, in: record) else { return false }
            return values.contains { Self.equal(actual, $0) }
        case .compare(let field, let op, let expected):
            guard let actual = Self.value(of: field, in: record) else { return op == .notEqual }
            switch op {
            case .equal: return Self.equal(actual, expected)
            case .notEqual: return !Self.equal(actual, expected)
            case .startsWith:
                guard case .keyword(let prefix) = expected else { return false }
                switch actual {
                case .keyword(let s), .text(let s): return s.hasPrefix(prefix)
                case .keywordList(let list): return list.contains { $0.hasPrefix(prefix) }
                default: return false
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard let order = Self.compare(actual, expected) else { return false }
                switch op {
                case .less: return order < 0
                case .lessOrEqual: return order <= 0
                case .greater: return order > 0
                default: return order >= 0
                }
            }
        }
    }

    /// The record's value of a field, nil when it has none.
    static func value(of field: String, in r: VisibilityRecord) -> SearchAttributeValue? {
        switch field {
        case "WorkflowId": return .keyword(r.key.workflowID)
        case "RunId": return .keyword(r.key.runID)
        case "WorkflowType": return .keyword(r.workflowType)
        case "TaskQueue": return .keyword(r.taskQueue)
        case "ExecutionStatus": return .int(Int64(r.status.rawValue))
        case "StartTime": return .datetime(r.startTime)
        case "CloseTime": return r.closeTime == 0 ? nil : .datetime(r.closeTime)
        case "ExecutionTime": return r.executionTime == 0 ? nil : .datetime(r.executionTime)
        case "HistoryLength": return .int(r.historyLength)
        default: return r.searchAttributes[field]
        }
    }

    static func equal(_ actual: SearchAttributeValue, _ expected: SearchAttributeValue) -> Bool {
        switch (actual, expected) {
        case (.keywordList(let list), .keyword(let s)): return list.contains(s)
        case (.keywordList(let list), .keywordList(let other)): return list == other
        case (.text(let text), .keyword(let s)): return text.lowercased().contains(s.lowercased())
        case (.bool(let a), .bool(let b)): return a == b
        default: return compare(actual, expected) == 0
        }
    }

    /// -1, 0, 1, or nil when the two are not comparable.
    static func compare(_ a: SearchAttributeValue, _ b: SearchAttributeValue) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a, b) {
        case (.keyword(let x), .keyword(let y)), (.text(let x), .keyword(let y)): return sign(x, y)
        case (.int(let x), .int(let y)), (.datetime(let x), .datetime(let y)), (.datetime(let x), .int(let y)): return sign(x, y)
        case (.int(let x), .double(let y)): return sign(Double(x), y)
        case (.double(let x), .int(let y)): return sign(x, Double(y))
        case (.double(let x), .double(let y)): return sign(x, y)
        case (.datetime(let x), .keyword(let s)):
            guard let y = RFC3339.parse(s) else { return nil }
            return sign(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        default: return nil
        }
    }
}

/// RFC 3339 date-times (`2026-12-01T20:46:26Z`, `2026-12-01T20:46:26.123456789+01:00`) as Unix
/// nanoseconds, without Foundation.
enum RFC3339 {
    static func parse(_ text: String) -> Int64? {
        let c = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= c.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard c[i] >= 48, c[i] <= 57 else { return nil }
                v = v * 10 + Int64(c[i] - 48)
            }
            return v
        }
        guard c.count >= 20, let year = number(0, 4), c[4] == UInt8(ascii: "-"), let month = number(5, 2), c[7] == UInt8(ascii: "-"),
            let day = number(8, 2), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t") || c[10] == UInt8(ascii: " "),
            let hour = number(11, 2), c[13] == UInt8(ascii: ":"), let minute = number(14, 2), c[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < c.count, c[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < c.count, c[i] >= 48, c[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(c[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanos *= 10 }
        }
        var offsetSeconds: Int64 = 0
        guard i < c.count else { return nil }
        if c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z") {
            i += 1
        } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            guard let oh = number(i + 1, 2), i + 3 < c.count, c[i + 3] == UInt8(ascii: ":"), let om = number(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (c[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == c.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = product.addingReportingOverflow(nanos)
        return overflow2 ? nil : sum
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
