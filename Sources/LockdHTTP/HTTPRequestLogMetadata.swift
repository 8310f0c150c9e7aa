#if canImport(Glibc)
import Glibc
#endif
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

    /// The request whose responder runs in the current task, or whose
    /// answer is being made on the current thread outside a task, if any.
    ///
    /// The server binds it in two ways. Where the answer is made in place,
    /// on the loop and outside any task (``HTTPResponder/answer(to:context:)``
    /// and the promise's start, ``HTTPPromise/succeed(_:)``), for the thread
    /// while that code runs: binding a task local outside a task allocates
    /// and frees its entry (~0.6 k instructions, a quarter of a request's
    /// allocations). Where it runs in a task (``HTTPAnswer/later(_:)``, and
    /// a task started for a promise's call: `CallCancellation.startTask`),
    /// as a task local, which tasks started from there inherit. Any other
    /// task started from code answering in place does not inherit it:
    /// bind it there.
    public static var current: HTTPRequestLogMetadata? {
        // The thread's binding is always the innermost: it is made only
        // around code that runs to its end before the thread does anything else.
        if let source = ThreadScope.ofThisThread()?.source { return source.logMetadata }
        return bound
    }

    /// The binding of ``current`` in a task and the tasks it starts.
    @TaskLocal static var bound: HTTPRequestLogMetadata?

    /// Binds `source`'s metadata as ``current`` on this thread (a nil
    /// metadata hides an outer binding), for code that runs outside a task
    /// and to its end, during which `source` lives; returns what
    /// ``endScope(_:)`` restores, which must follow on the same thread.
    /// The metadata is read from `source` only if a line is logged: copying
    /// it in and out cost ~0.3 k instructions a request, and a closure-taking
    /// form as much again (its closure copies what it captures).
    static func beginScope(_ source: some HTTPRequestLogMetadataSource) -> ThreadScope.Outer {
        let scope = ThreadScope.forThisThread()
        let outer = ThreadScope.Outer(scope: scope, source: scope.source)
        scope.source = source
        return outer
    }

    /// As ``beginScope(_:)``, in `scope`: the calling thread's
    /// (``ThreadScope/forThisThread()``), which a caller that always runs on
    /// one thread finds once (a loop's, kept in its ``HTTPLoopContext``):
    /// the thread-specific key's lookup cost ~0.1 k instructions a request.
    static func beginScope(_ source: some HTTPRequestLogMetadataSource, in scope: Unmanaged<ThreadScope>) -> ThreadScope.Outer {
        // Used as the reference it is, alive (its thread's key holds it): a
        // strong reference taken out was retained and released.
        scope._withUnsafeGuaranteedRef { scope in
            let outer = ThreadScope.Outer(scope: scope, source: scope.source)
            scope.source = source
            return outer
        }
    }

    /// Ends the binding ``beginScope(_:)`` made, restoring the one before it.
    static func endScope(_ outer: ThreadScope.Outer) {
        outer.scope.source = outer.source
    }

    /// One thread's binding of ``current``: made once per thread, kept in a
    /// thread-specific key, and released when the thread ends. Not
    /// Sendable: only its own thread uses it.
    final class ThreadScope {
        /// Unowned: a binding lasts only while the code that made it runs,
        /// which holds the source.
        unowned(unsafe) var source: (any HTTPRequestLogMetadataSource)?

        /// What a binding replaced, and where to put it back.
        struct Outer {
            unowned(unsafe) let scope: ThreadScope
            unowned(unsafe) let source: (any HTTPRequestLogMetadataSource)?
        }

        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            let result = pthread_key_create(&key) { scope in
                guard let scope else { return }
                Unmanaged<ThreadScope>.fromOpaque(scope).release()
            }
            precondition(result == 0, "pthread_key_create failed: \(result)")
            return key
        }()

        /// The calling thread's scope, if it has one yet.
        static func ofThisThread() -> ThreadScope? {
            guard let scope = pthread_getspecific(key) else { return nil }
            return Unmanaged<ThreadScope>.fromOpaque(scope).takeUnretainedValue()
        }

        /// The calling thread's scope, made on first use.
        static func forThisThread() -> ThreadScope {
            if let scope = ofThisThread() { return scope }
            let scope = ThreadScope()
            pthread_setspecific(key, Unmanaged.passRetained(scope).toOpaque())
            return scope
        }
    }

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
    ///
    /// Most requests have neither, told inline by the fields' name bits:
    /// the fields are not walked, and the caller gets two `nil`s it knows
    /// as such (through a call, the pair came back through memory and the
    /// `traceparent` was released after, ~40 instructions a request).
    @inline(__always)
    func tracingFields() -> (requestID: HTTPRequestID?, traceParent: String?) {
        guard headers.mayContain(nameBit: HTTPHeaders.nameBit(length: 11, first: UInt8(ascii: "t")))
            || headers.mayContain(nameBit: HTTPHeaders.nameBit(length: 12, first: UInt8(ascii: "x")))
        else { return (nil, nil) }
        return tracingFieldsFound()
    }

    /// ``tracingFields()`` for a request that may have either field.
    @inline(never)
    private func tracingFieldsFound() -> (requestID: HTTPRequestID?, traceParent: String?) {
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

/// An object holding a request's log metadata, which ``HTTPRequestLogMetadata/current``
/// reads while it is bound for the thread (the connection answering a
/// request in place, a promise making its response).
protocol HTTPRequestLogMetadataSource: AnyObject {
    var logMetadata: HTTPRequestLogMetadata? { get }
}
