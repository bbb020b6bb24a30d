/// The one error type of the storage layers (IO, codec, log, index, engine).
///
/// A `Code` says what kind of failure it is; callers switch on it. The message is for people and
/// names the file and byte offset whenever one is involved.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// An extensible set of failure kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case io, corruption, tornTail, conditionFailed, closed, limitExceeded, locked
            case invalidArgument, notFound, alreadyExists, noSpace
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// An operating-system call failed (EIO and friends).
        public static let io = Code(.io)
        /// Bytes on disk fail a checksum, a magic number, a length or an ordering rule.
        public static let corruption = Code(.corruption)
        /// The last frame of the log was only partly written (a crash mid-write). Recovery truncates it.
        public static let tornTail = Code(.tornTail)
        /// A compare-and-set condition did not hold.
        public static let conditionFailed = Code(.conditionFailed)
        /// The component was closed, or stopped itself after a failure it cannot recover from.
        public static let closed = Code(.closed)
        /// A request exceeds a documented limit.
        public static let limitExceeded = Code(.limitExceeded)
        /// Another process (or another open in this process) holds the data directory.
        public static let locked = Code(.locked)
        /// The caller passed something malformed.
        public static let invalidArgument = Code(.invalidArgument)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        /// The device is full (ENOSPC / EDQUOT).
        public static let noSpace = Code(.noSpace)

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    /// The file involved, if any.
    public var path: String?
    /// The byte offset in `path` involved, if any.
    public var offset: Int64?
    /// The OS error number, for `.io` and `.noSpace`.
    public var errno: Int32?
    public var fileID: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, errno: Int32? = nil,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
        self.fileID = fileID
        self.line = line
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path {
            text += " [file \(path)"
            if let offset { text += " at byte offset \(offset)" }
            text += "]"
        } else if let offset {
            text += " [at byte offset \(offset)]"
        }
        if let errno { text += " (errno \(errno))" }
        return text
    }

    /// The description plus where in the source the error was raised.
    public func detailedDescription() -> String {
        "\(description)\n  raised at \(fileID):\(line)"
    }
}
