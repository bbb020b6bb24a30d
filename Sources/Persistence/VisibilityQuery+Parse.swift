/// The list-filter language of Temporal's `ListWorkflowExecutions` query:
///
/// ```
/// query      := [ or ] [ ORDER BY StartTime [DESC] ]
/// or         := and { OR and }
/// and        := unary { AND unary }
/// unary      := NOT unary | '(' or ')' | predicate
/// predicate  := field op value | field [NOT] IN '(' value {, value} ')' | field STARTS_WITH value
///             | field IS [NOT] NULL | field [NOT] BETWEEN value AND value
/// op         := = | != | <> | < | <= | > | >=
/// value      := 'string' | "string" | integer | decimal | true | false
/// ```
///
/// Keywords are case-insensitive; fields are case-sensitive (backquotes allowed). Values are typed
/// by the field: StartTime/CloseTime/ExecutionTime take RFC 3339 strings (or Unix nanoseconds),
/// ExecutionStatus a status name ('Running', 'Completed', ...) or number, HistoryLength an
/// integer, the other system fields strings; a custom search attribute takes the literal's type.
extension VisibilityQuery {
    /// The system fields.
    public static let systemFields: Set<String> = [
        "WorkflowId", "WorkflowType", "ExecutionStatus", "StartTime", "CloseTime", "ExecutionTime", "TaskQueue", "RunId",
        "HistoryLength",
    ]

    static let timeFields: Set<String> = ["StartTime", "CloseTime", "ExecutionTime"]
    static let stringFields: Set<String> = ["WorkflowId", "WorkflowType", "TaskQueue", "RunId"]

    /// Parses a query; the empty (or blank) query is `.all`. Errors are `invalidArgument` naming
    /// the character offset of the problem.
    public static func parse(_ text: String) throws -> VisibilityQuery {
        guard text.utf8.count <= PersistenceLimits.maxQueryBytes else {
            throw PersistenceError.invalidArgument("query of \(text.utf8.count) bytes exceeds the limit of \(PersistenceLimits.maxQueryBytes)")
        }
        var parser = QueryParser(tokens: try QueryLexer.tokens(text), length: text.count)
        return try parser.parseQuery()
    }
}

struct QueryToken: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        /// A backquoted identifier (never a keyword).
        case quotedIdentifier(String)
        case string(String)
        case integer(Int64)
        case decimal(Double)
        case symbol(String)
    }

    var kind: Kind
    var offset: Int

    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let name) = kind { return name.uppercased() == word }
        return false
    }
}

func queryError(_ message: String, at offset: Int) -> PersistenceError {
    .invalidArgument("invalid visibility query at offset \(offset): \(message)")
}

enum QueryLexer {
    static func tokens(_ text: String) throws -> [QueryToken] {
        let chars = Array(text)
        var out: [QueryToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace {
                i += 1
                continue
            }
            let start = i
            if c == "'" || c == "\"" {
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count {
                        value.append(chars[i + 1])
                        i += 2
                    } else if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c {
                            value.append(c)
                            i += 2
                        } else {
                            i += 1
                            closed = true
                            break
                        }
                    } else {
                        value.append(chars[i])
                        i += 1
                    }
                }
                guard closed else { throw queryError("unterminated string literal", at: start) }
                out.append(QueryToken(kind: .string(value), offset: start))
            } else if c == "`" {
                i += 1
                var name = ""
                while i < chars.count, chars[i] != "`" {
                    name.append(chars[i])
                    i += 1
                }
                guard i < chars.count, !name.isEmpty else { throw queryError("unterminated or empty backquoted name", at: start) }
                i += 1
                out.append(QueryToken(kind: .quotedIdentifier(name), offset: start))
            } else if c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isNumber) {
                i += 1
                while i < chars.count, chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E"
                    || ((chars[i] == "-" || chars[i] == "+") && (chars[i - 1] == "e" || chars[i - 1] == "E"))
                {
                    i += 1
                }
                let literal = String(chars[start..<i])
                if let value = Int64(literal) {
                    out.append(QueryToken(kind: .integer(value), offset: start))
                } else if let value = Double(literal), value.isFinite {
                    out.append(QueryToken(kind: .decimal(value), offset: start))
                } else {
                    throw queryError("malformed number '\(literal)'", at: start)
                }
            } else if c.isLetter || c == "_" {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." { i += 1 }
                out.append(QueryToken(kind: .identifier(String(chars[start..<i])), offset: start))
            } else {
                let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
                if ["!=", "<>", "<=", ">="].contains(two) {
                    out.append(QueryToken(kind: .symbol(two == "<>" ? "!=" : two), offset: start))
                    i += 2
                } else if "=<>(),".contains(c) {
                    out.append(QueryToken(kind: .symbol(String(c)), offset: start))
                    i += 1
                } else {
                    throw queryError("unexpected character '\(c)'", at: start)
                }
            }
        }
        return out
    }
}

struct QueryParser {
    let tokens: [QueryToken]
    let length: Int
    var position = 0
    var depth = 0

    init(tokens: [QueryToken], length: Int) {
        self.tokens = tokens
        self.length = length
    }

    var current: QueryToken? { position < tokens.count ? tokens[position] : nil }
    var offset: Int { current?.offset ?? length }

    mutating func keyword(_ word: String) -> Bool {
        guard let current, current.isKeyword(word) else { return false }
        position += 1
        return true
    }

    mutating func symbol(_ s: String) -> Bool {
        guard current?.kind == .symbol(s) else { return false }
        position += 1
        return true
    }

    mutating func expect(_ s: String, _ what: String) throws {
        guard symbol(s) else { throw queryError("expected \(what)\(describeCurrent)", at: offset) }
    }

    var describeCurrent: String {
        guard let current else { return " at the end of the query" }
        switch current.kind {
        case .identifier(let s), .quotedIdentifier(let s): return ", found '\(s)'"
        case .string(let s): return ", found the string '\(s)'"
        case .integer(let v): return ", found \(v)"
        case .decimal(let v): return ", found \(v)"
        case .symbol(let s): return ", found '\(s)'"
        }
    }

    mutating func parseQuery() throws -> VisibilityQuery {
        var query = VisibilityQuery.all
        if current != nil, !(current!.isKeyword("ORDER")) { query = try parseOr() }
        if keyword("ORDER") {
            guard keyword("BY") else { throw queryError("expected BY after ORDER\(describeCurrent)", at: offset) }
            let at = offset
            let field = try parseField()
            guard field == "StartTime", keyword("DESC") else {
                throw queryError("only ORDER BY StartTime DESC is supported (records list newest first)", at: at)
            }
        }
        guard current == nil else { throw queryError("unexpected input\(describeCurrent)", at: offset) }
        return query
    }

    mutating func parseOr() throws -> VisibilityQuery {
        var left = try parseAnd()
        while keyword("OR") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> VisibilityQuery {
        var left = try parseUnary()
        while keyword("AND") { left = .and(left, try parseUnary()) }
        return left
    }

    mutating func parseUnary() throws -> VisibilityQuery {
        depth += 1
        defer { depth -= 1 }
        guard depth <= PersistenceLimits.maxQueryDepth else {
            throw queryError("nesting deeper than \(PersistenceLimits.maxQueryDepth)", at: offset)
        }
        if keyword("NOT") { return .not(try parseUnary()) }
        if symbol("(") {
            let inner = try parseOr()
            try expect(")", "')'")
            return inner
        }
        return try parsePredicate()
    }

    mutating func parseField() throws -> String {
        guard let token = current else { throw queryError("expected a field name at the end of the query", at: offset) }
        switch token.kind {
        case .quotedIdentifier(let name):
            position += 1
            return name
        case .identifier(let name)
        where !["AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "ORDER", "BY", "STARTS_WITH"].contains(name.uppercased()):
            position += 1
            return name
        default:
            throw queryError("expected a field name\(describeCurrent)", at: offset)
        }
    }

    mutating func parsePredicate() throws -> VisibilityQuery {
        let field = try parseField()
        if keyword("IS") {
            let negated = keyword("NOT")
            guard keyword("NULL") else { throw queryError("expected NULL after IS\(negated ? " NOT" : "")\(describeCurrent)", at: offset) }
            return negated ? .not(.isNull(field: field)) : .isNull(field: field)
        }
        let negated = keyword("NOT")
        if keyword("IN") {
            try expect("(", "'(' after IN")
            var values = [try parseValue(for: field)]
            while symbol(",") { values.append(try parseValue(for: field)) }
            try expect(")", "')' or ',' in the IN list")
            return negated ? .not(.isIn(field: field, values: values)) : .isIn(field: field, values: values)
        }
        if keyword("BETWEEN") {
            let low = try parseValue(for: field)
            guard keyword("AND") else { throw queryError("expected AND in BETWEEN\(describeCurrent)", at: offset) }
            let high = try parseValue(for: field)
            let range = VisibilityQuery.and(
                .compare(field: field, op: .greaterOrEqual, value: low), .compare(field: field, op: .lessOrEqual, value: high))
            return negated ? .not(range) : range
        }
        if negated { throw queryError("expected IN or BETWEEN after NOT\(describeCurrent)", at: offset) }
        if keyword("STARTS_WITH") {
            let value = try parseValue(for: field)
            guard case .keyword = value else { throw queryError("STARTS_WITH takes a string", at: tokens[position - 1].offset) }
            return .compare(field: field, op: .startsWith, value: value)
        }
        guard let token = current, case .symbol(let s) = token.kind, let op = VisibilityQuery.ComparisonOperator(rawValue: s) else {
            throw queryError("expected an operator after \(field)\(describeCurrent)", at: offset)
        }
        position += 1
        return .compare(field: field, op: op, value: try parseValue(for: field))
    }

    /// A literal, typed by the field it is compared with.
    mutating func parseValue(for field: String) throws -> SearchAttributeValue {
        guard let token = current else { throw queryError("expected a value at the end of the query", at: offset) }
        position += 1
        let at = token.offset
        let literal: SearchAttributeValue
        switch token.kind {
        case .string(let s): literal = .keyword(s)
        case .integer(let v): literal = .int(v)
        case .decimal(let v): literal = .double(v)
        case .identifier(let word) where word.uppercased() == "TRUE": literal = .bool(true)
        case .identifier(let word) where word.uppercased() == "FALSE": literal = .bool(false)
        default:
            position -= 1
            throw queryError("expected a value\(describeCurrent)", at: at)
        }
        if VisibilityQuery.timeFields.contains(field) {
            switch literal {
            case .keyword(let s):
                guard let nanos = RFC3339.parse(s) else { throw queryError("'\(s)' is not an RFC 3339 time for \(field)", at: at) }
                return .datetime(nanos)
            case .int(let v): return .datetime(v)
            default: throw queryError("\(field) takes an RFC 3339 time", at: at)
            }
        }
        switch field {
        case "ExecutionStatus":
            switch literal {
            case .keyword(let name):
                guard let status = WorkflowStatus.named(name) else {
                    throw queryError("unknown ExecutionStatus '\(name)' (Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut)", at: at)
                }
                return .int(Int64(status.rawValue))
            case .int(let v):
                guard let status = Int32(exactly: v).flatMap(WorkflowStatus.init(rawValue:)) else {
                    throw queryError("unknown ExecutionStatus \(v)", at: at)
                }
                return .int(Int64(status.rawValue))
            default: throw queryError("ExecutionStatus takes a status name or number", at: at)
            }
        case "HistoryLength":
            guard case .int = literal else { throw queryError("HistoryLength takes an integer", at: at) }
            return literal
        case _ where VisibilityQuery.stringFields.contains(field):
            guard case .keyword = literal else { throw queryError("\(field) takes a string", at: at) }
            return literal
        default:
            return literal
        }
    }
}

extension WorkflowStatus {
    /// The status for a name as the query language and the CLI spell it ('Running',
    /// 'ContinuedAsNew', 'TimedOut'; case-insensitive; also 'Cancelled' and the enum names
    /// 'WORKFLOW_EXECUTION_STATUS_RUNNING').
    public static func named(_ name: String) -> WorkflowStatus? {
        var key = name.lowercased().replacingUnderscores()
        if key.hasPrefix("workflowexecutionstatus") { key.removeFirst("workflowexecutionstatus".count) }
        switch key {
        case "running": return .running
        case "completed": return .completed
        case "failed": return .failed
        case "canceled", "cancelled": return .canceled
        case "terminated": return .terminated
        case "continuedasnew": return .continuedAsNew
        case "timedout": return .timedOut
        default: return nil
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
