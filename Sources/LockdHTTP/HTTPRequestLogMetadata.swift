import Logging

/// What every log line about a request carries: its id and, when the client
/// sent one, its W3C `traceparent`.
///
/// The server sets it as a task local while the responder runs, so a logger
/// made with ``metadataProvider`` adds it to each line logged on the
/// request's behalf — in the layers below the HTTP one too, which never see
/// the request. ``HTTPRequestContext/logger`` adds it explicitly.
///
/// ```swift
/// LoggingSystem.bootstrap(StreamLogHandler.standardError, metadataProvider: HTTPRequestLogMetadata.metadataProvider)
/// ```
public struct HTTPRequestLogMetadata: Sendable {
    /// The request's id.
    public let requestID: HTTPRequestID
    /// The client's `traceparent`, when well-formed.
    public let traceParent: String?

    /// Creates the metadata of one request.
    public init(requestID: HTTPRequestID, traceParent: String?) {
        self.requestID = requestID
        self.traceParent = traceParent
    }

    /// `request.id`, and `traceparent` when there is one.
    public var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["request.id": .string(requestID.description)]
        if let traceParent { metadata["traceparent"] = .string(traceParent) }
        return metadata
    }

    /// The request whose responder runs in the current task, if any.
    @TaskLocal public static var current: HTTPRequestLogMetadata?

    /// Adds the current request's metadata to every line of a logger made with it.
    public static let metadataProvider = Logger.MetadataProvider { current?.metadata ?? [:] }

    /// A `traceparent` value (W3C Trace Context) as sent, or nil when it is
    /// malformed: `VV-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`,
    /// lower-case, ids not all zeros, version not `ff`; version `00` has
    /// nothing after the flags, later versions may.
    public static func validTraceParent(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 55 || (bytes.count > 56 && bytes[55] == UInt8(ascii: "-")) else { return nil }
        func hex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        }
        func zeros(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == UInt8(ascii: "0") } }
        guard hex(0..<2), hex(3..<35), hex(36..<52), hex(53..<55),
              bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")),
              !zeros(3..<35), !zeros(36..<52),
              bytes.count == 55 || !zeros(0..<2)
        else { return nil }
        return text
    }
}

extension HTTPRequest {
    /// The request's usable `X-Request-Id` and `traceparent`, in one pass
    /// over the header fields.
    func tracingFields() -> (requestID: HTTPRequestID?, traceParent: String?) {
        var requestID: HTTPRequestID?
        var traceParent: String?
        // Names read as bytes: a string is made only of a value that is used.
        headers.forEachField { name, value in
            switch name.count {
            case 11 where traceParent == nil && HTTPHeaders.namesEqual(name, "traceparent"):
                traceParent = HTTPRequestLogMetadata.validTraceParent(String(decoding: value, as: UTF8.self))
            case 12 where requestID == nil && HTTPHeaders.namesEqual(name, "x-request-id"):
                requestID = HTTPRequestID(received: String(decoding: value, as: UTF8.self))
            default:
                break
            }
            return true
        }
        return (requestID, traceParent)
    }
}
