import SwiftProtobuf
import TemporalAPI

extension ScriptCommand {
    /// The wire command, scheduling activities on `taskQueue` (asking to run them eagerly when
    /// `eager`).
    func command(taskQueue: String, activityScheduleToCloseSeconds: Int64, eager: Bool = false) -> Temporal_Api_Command_V1_Command {
        var command = Temporal_Api_Command_V1_Command()
        switch self {
        case .scheduleActivity(let activityID, let input):
            var attributes = Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes()
            attributes.activityID = activityID
            attributes.activityType.name = WorkloadScript.activityTypeName
            attributes.taskQueue.name = taskQueue
            attributes.taskQueue.kind = .normal
            attributes.input = Payloads.payloads(input)
            attributes.scheduleToCloseTimeout = Google_Protobuf_Duration(seconds: activityScheduleToCloseSeconds)
            attributes.startToCloseTimeout = Google_Protobuf_Duration(seconds: BenchLimits.activityStartToCloseSeconds)
            // One attempt: a failed activity must surface as a failed workflow, not be retried away.
            attributes.retryPolicy.maximumAttempts = 1
            attributes.requestEagerExecution = eager
            command.commandType = .scheduleActivityTask
            command.scheduleActivityTaskCommandAttributes = attributes
        case .startTimer(let timerID, let seconds):
            var attributes = Temporal_Api_Command_V1_StartTimerCommandAttributes()
            attributes.timerID = timerID
            attributes.startToFireTimeout = Google_Protobuf_Duration(seconds: seconds)
            command.commandType = .startTimer
            command.startTimerCommandAttributes = attributes
        case .complete(let result):
            var attributes = Temporal_Api_Command_V1_CompleteWorkflowExecutionCommandAttributes()
            attributes.result = Payloads.payloads(result)
            command.commandType = .completeWorkflowExecution
            command.completeWorkflowExecutionCommandAttributes = attributes
        case .fail(let reason):
            var attributes = Temporal_Api_Command_V1_FailWorkflowExecutionCommandAttributes()
            attributes.failure.message = reason
            attributes.failure.source = "annals-bench"
            attributes.failure.applicationFailureInfo.type = "ScriptMismatch"
            attributes.failure.applicationFailureInfo.nonRetryable = true
            command.commandType = .failWorkflowExecution
            command.failWorkflowExecutionCommandAttributes = attributes
        }
        return command
    }
}
