import CoreMetrics
import LockEngine
import LockdHTTP
import LockdHTTPCompression
import LockdTransport
import Logging

/// PRODUCT.md's HTTP API over a ``LockEngine``: each handler reads the
/// request, calls the engine once, and writes the answer.
///
/// ```swift
/// let api = LockAPI(engine: engine)
/// let server = HTTPServer(configuration: .init(), responder: api.router, eventLoopGroup: loops, logger: logger)
/// ```
public struct LockAPI: Sendable {
    /// The engine every lock route calls.
    public let engine: LockEngine
    /// `redis` or `memory`: named in `/readyz`'s answers.
    public let storeName: String
    private let metricsText: @Sendable () -> [UInt8]
    /// The acquire's answers, with its metrics.
    private let acquireAnswers: AcquireAnswers
    /// One info line per 10 s for answers of 503; the rest at debug.
    private let unavailableLog: Throttle
    /// Bounds and keep-alive of `GET /events` streams.
    let eventStreams: ServerSentEventStream.Configuration
    let eventStreamMetrics: EventStreamMetrics
    /// Encodes each event once for every stream.
    let eventEncoder = EventEncoder()
    /// Whether a request may come with an authenticated client
    /// (``AuthenticatedClient/id``, set by an ``AccessControlResponder``
    /// with rules). Without rules none ever does: the task-local read is
    /// skipped (~0.14 k instructions an acquire).
    private let readsClient: Bool
    /// A release's 204, made once and shared (as `/healthz`'s answer):
    /// written exactly as one made for each release, which was built and
    /// destroyed again for every release answered at once (its status's
    /// reason and its empty headers each retained and released). Held by
    /// the API, not a `static let`: read with no `swift_once` check.
    private let releasedAtOnce = SharedHTTPResponse(HTTPResponse(status: .noContent))

    /// Creates the API.
    /// - Parameters:
    ///   - storeName: `redis` or `memory`, for `/readyz`.
    ///   - factory: receives `lockd_acquires_total{outcome}` and
    ///     `lockd_wait_duration_seconds{outcome}`.
    ///   - metrics: renders `/metrics` (Prometheus text format).
    ///   - eventStreams: the backlog and keep-alive of `GET /events` streams.
    ///   - readsClient: false when no request can come with an
    ///     authenticated client (served without auth rules): leases then
    ///     record none without asking.
    public init(
        engine: LockEngine,
        storeName: String = "memory",
        factory: any MetricsFactory = NOOPMetricsHandler.instance,
        eventStreams: ServerSentEventStream.Configuration = LockAPI.eventStreamDefaults,
        readsClient: Bool = true,
        metrics: @escaping @Sendable () -> [UInt8] = { [] }
    ) {
        self.engine = engine
        self.readsClient = readsClient
        self.storeName = storeName
        self.eventStreams = eventStreams
        self.eventStreamMetrics = EventStreamMetrics(factory: factory)
        let unavailableLog = Throttle(interval: .seconds(10))
        self.unavailableLog = unavailableLog
        self.acquireAnswers = AcquireAnswers(engine: engine, metrics: AcquireMetrics(factory: factory), unavailableLog: unavailableLog)
        self.metricsText = metrics
    }

    /// Event streams by default: 1 024 events may wait for a reader (a
    /// reader that keeps up with thousands of events a second still falls
    /// behind for a moment when the loop is busy), a keep-alive every 15 s.
    public static let eventStreamDefaults = ServerSentEventStream.Configuration(backlog: 1_024)

    /// The largest fence (2^53 - 1, so every JSON client reads it exactly).
    static let maxFence: Int64 = 9_007_199_254_740_991

    /// What lockd serves: every route, with responses compressed where the
    /// client allows it. Build it once, at start (it compresses the spec).
    public var responder: CompressingResponder<Router> {
        CompressingResponder(wrapping: router)
    }

    /// Every route of the API, each named for metrics and access logs.
    public var router: Router {
        var router = Router()
        // Acquire and release answer at once on a store whose operations never wait.
        router.add(.post, "/locks/{name}", name: "acquire") { request, context in acquireAtOnce(request, context) }
        router.add(.post, "/locks/{name}/renew", name: "renew") { request, context in await renew(request, context) }
        router.add(.delete, "/locks/{name}", name: "release") { request, context in releaseAtOnce(request, context) }
        router.add(.get, "/locks/{name}", name: "status") { _, context in await status(context) }
        router.add(.get, "/locks/{name}/holders/{fence}", name: "holder") { _, context in await holder(context) }
        router.add(.get, "/locks", name: "list") { request, context in await list(request, context) }
        // A name left empty: 400, as any name outside 1–255 bytes (PRODUCT.md),
        // not 404 — a route's parameter never matches an empty segment.
        // Under the routes' own names (metrics, access rules).
        for (method, pattern, name) in [(HTTPMethod.post, "/locks/", "acquire"), (.delete, "/locks/", "release"), (.get, "/locks/", "status"),
                                        (.post, "/locks//renew", "renew"), (.get, "/locks//holders/{fence}", "holder")] {
            router.add(method, pattern, name: name) { _, context in .now(failure(.invalidRequest("lock name is empty"), name: nil, context)) }
        }
        // Answered at once, without a task, with a response made once
        // (making it each time cost ~0.6 k instructions a request) and
        // shared, not copied out for each (~0.3 k).
        let healthy = SharedHTTPResponse(Self.json(.ok, #"{"status":"ok"}"#))
        router.add(.get, "/healthz", name: "healthz") { _, _ in .shared(healthy) }
        router.add(.get, "/readyz", name: "readyz") { _, context in await ready(context) }
        router.add(.get, "/metrics", name: "metrics") { [metricsText] _, _ in
            .now(HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: metricsText()))
        }
        // Compressed here, once, when lockd starts; each request picks a coding.
        let spec = PrecompressedBody(OpenAPIDocument.bytes, contentType: "application/yaml")
        router.add(.get, "/openapi.yaml", name: "openapi") { request, _ in .now(spec.response(to: request)) }
        // Last: routes are matched in order, and these two are rare.
        router.add(.get, "/events", name: "events") { request, context in await events(request, context) }
        let page = PrecompressedBody(Array(StatusPage.html.utf8), contentType: "text/html; charset=utf-8")
        router.add(.get, "/", name: "page") { request, _ in .now(page.response(to: request)) }
        return router
    }

    // MARK: Handlers

    /// An acquire, without a task unless the request may wait: at once
    /// when the engine can answer so (on the in-memory store), else
    /// promised, kept when the store's reply is read (on Redis). A request
    /// that must wait goes on waiting in a task, as read here: its body is
    /// not read again, nor (on the in-memory store) the name tried again.
    private func acquireAtOnce(_ request: HTTPRequest, _ context: HTTPRequestContext) -> HTTPAnswer {
        let started = MonotonicClock.now()
        var waitMs: Int64 = 0
        let acquire: AcquireRequest
        do throws(LockError) {
            acquire = try AcquireBody.request(request.body, name: try lockName(context), defaultTTLMs: engine.configuration.defaultTTLMs,
                                              client: readsClient ? AuthenticatedClient.id : nil, waitMs: &waitMs)
        } catch {
            // A bad name or body: the name, when valid, read again for the
            // answer (kept from the first reading for this rare case, it was
            // retained and released on every acquire).
            return .now(acquireAnswers.failed(error, name: try? lockName(context), waitMs: waitMs, context, startedAt: started))
        }
        if engine.answersAtOnce {
            do throws(LockError) {
                if let grant = try engine.acquireAtOnce(acquire, startedAt: started) {
                    return .now(acquireAnswers.granted(grant, context, startedAt: started,
                                                         droppable: context.answerMayBeDropped(now: started)))
                }
            } catch {
                return .now(acquireAnswers.failed(error, name: acquire.name, waitMs: waitMs, context, startedAt: started))
            }
        } else {
            // One object for the start, the store's callback and the
            // answer's give-back (``PromisedAcquire``): each closure
            // captures it alone, and makes no context of its own. (No
            // failure is answered here after: the request is moved in.)
            // A request that may wait is promised too: the engine answers a
            // free name's grant from its first reply, and runs a task only
            // for a request that goes on waiting.
            let promised = PromisedAcquire(acquire, answers: acquireAnswers, startedAt: started, waitMs: waitMs)
            return .promised { [promised] _, context, promise in promised.start(context, promise) }
        }
        return .later { [acquireAnswers, waitMs] _, context in
            do throws(LockError) {
                return acquireAnswers.granted(try await acquireAnswers.engine.acquireByWaiting(acquire), context, startedAt: started)
            } catch {
                return acquireAnswers.failed(error, name: acquire.name, waitMs: waitMs, context, startedAt: started)
            }
        }
    }

    nonisolated(nonsending) private func renew(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { name throws(LockError) in
            let token = try lockToken(request)
            let (ttlMs, durability) = try RequestBody<RenewField>.read(request.body) { (body) throws(LockError) in
                (try body.integer(.ttlMs), try body.durability(.durability))
            }
            let askedAt = MonotonicClock.now()
            let lease = try await engine.renew(name, token: token, ttlMs: ttlMs, durability: durability,
                                               client: readsClient ? AuthenticatedClient.id : nil)
            // Written too late, a renewal is answered 503, as a grant is;
            // its lease is not given back: its holder had it before it asked.
            var response = Self.json(.ok, LockJSON.lease(lease))
            response.deadline = LockEngine.deliverBy(askedAt: askedAt, ttlMs: lease.ttlMs)
            return response
        }
    }

    /// A holder's ``release(_:_:)`` without a task: at once when the engine
    /// answers so (on the in-memory store), else promised, kept when the
    /// store's reply is read (on Redis).
    private func releaseAtOnce(_ request: HTTPRequest, _ context: HTTPRequestContext) -> HTTPAnswer {
        guard request.query == nil else { return .later { request, context in await release(request, context) } }
        let name: LockName
        do throws(LockError) {
            name = try lockName(context)
        } catch {
            return .now(failure(error, name: nil, context))
        }
        do throws(LockError) {
            let token = try lockToken(request)
            guard engine.answersAtOnce else {
                // One object for the start and the store's callback
                // (``PromisedRelease``): each closure captures it alone.
                let promised = PromisedRelease(name, token: token, engine: engine, unavailableLog: unavailableLog)
                return .promised { [promised] _, context, promise in promised.start(context, promise) }
            }
            guard try engine.releaseAtOnce(name, token: token) else {
                return .later { request, context in await release(request, context) }
            }
            return .shared(releasedAtOnce)
        } catch {
            return .now(failure(error, name: name, context))
        }
    }

    /// The answer to a holder's release, given from a store's callback (`log` is its request's).
    static func released(_ result: Result<Void, LockError>, name: LockName, _ log: AnswerLog,
                                 unavailableLog: Throttle) -> HTTPResponse {
        switch result {
        case .success: HTTPResponse(status: .noContent)
        case .failure(let error): failure(error, name: name, logger: log.logger, unavailableLog: unavailableLog)
        }
    }

    /// A holder's release (`Lock-Token`), or an administrator's
    /// force-release of the lease with `?fence=F`.
    nonisolated(nonsending) private func release(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { name throws(LockError) in
            guard let fence = try Self.forceReleaseFence(request) else {
                try await engine.release(name, token: try lockToken(request))
                return HTTPResponse(status: .noContent)
            }
            guard !request.headers.contains("Lock-Token") else {
                throw .invalidRequest("send either the Lock-Token header (release) or ?fence= (force-release), not both")
            }
            try await engine.forceRelease(name, fence: fence)
            context.logger.notice("lease force-released", metadata: [
                "lock.name": "\(name)", "lock.fence": .stringConvertible(fence),
                "client": .string(AuthenticatedClient.id ?? "-"),
            ])
            return HTTPResponse(status: .noContent)
        }
    }

    /// The `fence` of a force-release (`DELETE /locks/{name}?fence=F`); nil
    /// for a holder's release.
    static func forceReleaseFence(_ request: HTTPRequest) throws(LockError) -> Int64? {
        let query = try QueryParameters(request.query, allowed: ["fence"])
        guard let text = query["fence"] else { return nil }
        guard let fence = Int64(text), (1...Self.maxFence).contains(fence) else {
            throw .invalidRequest("fence must be an integer between 1 and \(Self.maxFence)")
        }
        return fence
    }

    private func status(_ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { name throws(LockError) in
            Self.json(.ok, LockJSON.status(try await engine.status(of: name)))
        }
    }

    /// 200 with the holder whose live lease has the path's fence, else 404
    /// `not-held`: a protected resource's check of a fence before a write.
    private func holder(_ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { name throws(LockError) in
            let text = context.parameters["fence"] ?? ""
            guard let fence = Int64(text), (1...Self.maxFence).contains(fence) else {
                throw .invalidRequest("fence must be an integer between 1 and \(Self.maxFence)")
            }
            return Self.json(.ok, LockJSON.holder(try await engine.holder(of: name, fence: fence)))
        }
    }

    private func list(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        do throws(LockError) {
            let query = try QueryParameters(request.query, allowed: ["prefix", "limit", "cursor"])
            var limit = 100
            if let text = query["limit"] {
                guard let value = Int(text) else { throw .invalidRequest("limit must be an integer between 1 and 1000") }
                limit = value
            }
            let page = try await engine.list(prefix: query["prefix"] ?? "", limit: limit, cursor: query["cursor"].flatMap { $0.isEmpty ? nil : $0 },
                                              within: ReadableNames.current)
            return Self.json(.ok, LockJSON.page(page))
        } catch {
            return failure(error, name: nil, context)
        }
    }

    /// 200 `{"status":"ready","store":…}`, or 503 whose `detail` says why
    /// and whose `store` member names the store.
    private func ready(_ context: HTTPRequestContext) async -> HTTPResponse {
        do throws(LockError) {
            try await engine.checkReady()
            return Self.json(.ok, #"{"status":"ready","store":"\#(storeName)"}"#)
        } catch {
            let detail = if case .unavailable(let detail) = error { detail } else { "the lock store cannot serve now" }
            return LockError.unavailableResponse(detail, extra: [("store", storeName)])
        }
    }

    // MARK: Helpers

    /// Runs a route on a lock: a bad name, and any failure, become the problem answer.
    nonisolated(nonsending) private func answer(_ context: HTTPRequestContext, _ body: nonisolated(nonsending) (LockName) async throws(LockError) -> HTTPResponse) async -> HTTPResponse {
        let name: LockName
        do throws(LockError) {
            name = try lockName(context)
        } catch {
            return failure(error, name: nil, context)
        }
        do throws(LockError) {
            return try await body(name)
        } catch {
            return failure(error, name: name, context)
        }
    }

    /// The problem answer for `error`. During an outage every request fails
    /// alike: one line per 10 s says so at info, the rest go to debug.
    private func failure(_ error: LockError, name: LockName?, waitedMs: Int64 = 0, _ context: HTTPRequestContext) -> HTTPResponse {
        Self.failure(error, name: name, waitedMs: waitedMs, context, unavailableLog: unavailableLog)
    }

    /// ``failure(_:name:waitedMs:_:)`` for a closure that has not the whole API.
    static func failure(_ error: LockError, name: LockName?, waitedMs: Int64 = 0, _ context: HTTPRequestContext,
                        unavailableLog: Throttle) -> HTTPResponse {
        failure(error, name: name, waitedMs: waitedMs, logger: context.logger, unavailableLog: unavailableLog)
    }

    /// ``failure(_:name:waitedMs:_:unavailableLog:)`` logging through
    /// `logger` (a request's, read only when a line is written).
    static func failure(_ error: LockError, name: LockName?, waitedMs: Int64 = 0, logger: @autoclosure () -> Logger,
                        unavailableLog: Throttle) -> HTTPResponse {
        if case .unavailable(let detail) = error {
            if let suppressed = unavailableLog.admit() {
                logger().info("answering 503 unavailable", metadata: [
                    "detail": .string(detail), "suppressed": .stringConvertible(suppressed),
                ])
            } else {
                logger().debug("answering 503 unavailable", metadata: ["detail": .string(detail)])
            }
        }
        return error.response(name: name, waitedMs: waitedMs)
    }

    private func lockName(_ context: HTTPRequestContext) throws(LockError) -> LockName {
        try LockName(context.parameters["name"] ?? "")
    }

    /// The `Lock-Token` header (its first value); RFC 4918's `<token>` form
    /// is accepted too. Read from the header's bytes in place (a `String`
    /// of the value was an allocation and a second pass over it, on every
    /// release), found by the headers' lower-case name: looked up by a
    /// `String` name, and lent as a slice of the headers' array (retained
    /// and released), it cost a release ~0.2 k instructions more.
    ///
    /// The closure keeps only plain values — up to 32 characters copied
    /// into four words, a longer token's bytes as an array (as a `String`,
    /// checked as UTF-8 and copied again into the token: ~0.2 k instructions
    /// a release more) — and the token is read after:
    /// a `LeaseToken?` assigned inside it went through the runtime's generic
    /// `Optional` witnesses (~0.13 k instructions a release).
    private func lockToken(_ request: HTTPRequest) throws(LockError) -> LeaseToken {
        var present = false
        var length = 0
        var characters: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var otherBytes: [UInt8]?
        request.headers.forEachValue(named: "lock-token") { value in
            guard !present else { return }
            present = true
            // The headers' storage is an array of bytes: its memory is bound to `UInt8`.
            var utf8 = UnsafeBufferPointer(start: value.baseAddress?.assumingMemoryBound(to: UInt8.self), count: value.count)
            if utf8.count >= 2, utf8.first == UInt8(ascii: "<"), utf8.last == UInt8(ascii: ">") {
                utf8 = UnsafeBufferPointer(rebasing: utf8.dropFirst().dropLast())
            }
            length = utf8.count
            if length == 32, let base = utf8.baseAddress {
                withUnsafeMutableBytes(of: &characters) { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: 32)) }
            } else if length < 32, let base = utf8.baseAddress {
                // Into the zeroed words: a token of 22–31 characters is kept in words too.
                withUnsafeMutableBytes(of: &characters) { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: length)) }
            } else if length <= LeaseToken.maxCount {
                // Into the thread's token array (``ThreadTokenBytes``), used again once the token is gone.
                otherBytes = ThreadTokenBytes.bytes(copying: utf8)
            }
        }
        guard present else {
            throw .invalidRequest("the Lock-Token header is required: send the token acquire returned")
        }
        let token = if length == 32 {
            LeaseToken(characters: (UInt64(littleEndian: characters.0), UInt64(littleEndian: characters.1),
                                    UInt64(littleEndian: characters.2), UInt64(littleEndian: characters.3)))
        } else if length < 32 {
            LeaseToken(characters: (UInt64(littleEndian: characters.0), UInt64(littleEndian: characters.1),
                                    UInt64(littleEndian: characters.2), UInt64(littleEndian: characters.3)), count: length)
        } else {
            otherBytes.flatMap { LeaseToken(bytes: $0) }
        }
        guard let token else { throw LeaseToken.malformed }
        return token
    }

    private static func json(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        json(status, Array(text.utf8))
    }

    static func json(_ status: HTTPStatus, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonHeaders, body: body)
    }

    /// A JSON response that hands something over (see ``HTTPResponse/init(status:headers:body:deadline:onDropped:)``).
    static func json(_ status: HTTPStatus, _ body: [UInt8], deadline: UInt64?, onDropped: @escaping @Sendable () -> Void) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonHeaders, body: body, deadline: deadline, onDropped: onDropped)
    }

    /// Made once: a dictionary literal builds its array on each use (~0.3 k instructions).
    private static let jsonHeaders: HTTPHeaders = ["Content-Type": "application/json"]
}
