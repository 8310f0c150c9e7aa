import Logging
import Synchronization

/// Every log line a test's lockd wrote, message and metadata flattened, so a
/// test can look for what must (or must never) be logged.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    /// Creates an empty capture.
    public init() {}

    /// Adds one line.
    public func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Every line so far.
    public var all: [String] { lines.withLock { $0 } }
}

/// A swift-log handler that writes into ``CapturedLogs``.
public struct CapturingLogHandler: LogHandler {
    /// Where the lines go.
    public let logs: CapturedLogs
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler writing into `logs`, adding what `metadataProvider`
    /// gives where the line is logged (as lockd's handlers do).
    public init(logs: CapturedLogs, metadataProvider: Logger.MetadataProvider? = nil) {
        self.logs = logs
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.level) \(event.message) \(merged)")
    }
}
