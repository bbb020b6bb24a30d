/// A parsed visibility list filter (Temporal's SQL-like `query` of ListWorkflowExecutions),
/// evaluated against `VisibilityRecord`s. `VisibilityQuery.parse` reads the query language;
/// fields are the system attributes (WorkflowId, WorkflowType, ExecutionStatus, StartTime,
/// CloseTime, ExecutionTime, TaskQueue, RunId, HistoryLength) or custom search attributes.
public indirect enum VisibilityQuery: Sendable, Equatable {
    case all
    case and(VisibilityQuery, VisibilityQuery)
    case or(VisibilityQuery, VisibilityQuery)
    case not(VisibilityQuery)
    case compare(field: String, op: ComparisonOperator, value: SearchAttributeValue)
    case isIn(field: String, values: [SearchAttributeValue])
    case isNull(field: String)

    public enum ComparisonOperator: String, Sendable, Equatable {
        case equal = "="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case startsWith = "STARTS_WITH"
    }
}
