import LockdTransport
import Logging

/// Answers requests: the one thing an ``HTTPServer`` needs from the layer above.
///
/// `respond` runs as a task on the event loop that owns the connection. When
/// the client disconnects before the answer is ready, the task is cancelled
/// at once, so a responder that waits (a long poll) should await in a
/// cancellable way and give up when cancelled; its response is then dropped.
///
/// ```swift
/// struct Hello: HTTPResponder {
///     func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
///         HTTPResponse(status: .ok, body: Array("hello\n".utf8))
///     }
/// }
/// ```
public protocol HTTPResponder: Sendable {
    /// Produces the response to `request`; errors are expressed as responses.
    func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse
}

/// What the server knows about a request beyond its bytes.
public struct HTTPRequestContext: Sendable {
    /// The loop running the request's task; put per-request I/O (a Redis call) on it.
    public let eventLoop: EventLoop
    /// The client's address, when the kernel could tell it.
    public let remoteAddress: SocketAddress?
    /// Path parameters filled in by ``Router``, percent-decoded (`{name}` → `"name"`).
    public var parameters: [String: String]
    private let requestNumber: UInt64
    private let idPrefix: String
    private let baseLogger: Logger

    /// Creates a context (tests and adapters; the server makes its own).
    public init(
        eventLoop: EventLoop,
        remoteAddress: SocketAddress? = nil,
        logger: Logger,
        requestNumber: UInt64 = 0,
        idPrefix: String = "",
        parameters: [String: String] = [:]
    ) {
        self.eventLoop = eventLoop
        self.remoteAddress = remoteAddress
        self.baseLogger = logger
        self.requestNumber = requestNumber
        self.idPrefix = idPrefix
        self.parameters = parameters
    }

    /// A short id unique within this process run, for logs and error reports.
    /// Formatted on each read; keep it in a local when using it repeatedly.
    public var requestID: String { idPrefix + String(requestNumber, radix: 16) }

    /// The server's logger with `request.id` metadata. Built on each read, so
    /// requests that never log pay nothing; keep it in a local to log often.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "request.id"] = .string(requestID)
        return logger
    }
}
