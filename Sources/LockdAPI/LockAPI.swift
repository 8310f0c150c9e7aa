import LockEngine
import CoreMetrics
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
    private let metricsText: @Sendable () -> [UInt8]
    private let factory: any MetricsFactory

    /// Creates the API.
    /// - Parameters:
    ///   - factory: receives `lockd_http_requests_total{route,method,status}`
    ///     and `lockd_http_request_duration_seconds{route}`.
    ///   - metrics: renders `/metrics` (Prometheus text format).
    public init(
        engine: LockEngine,
        factory: any MetricsFactory = NOOPMetricsHandler.instance,
        metrics: @escaping @Sendable () -> [UInt8] = { [] }
    ) {
        self.engine = engine
        self.factory = factory
        self.metricsText = metrics
    }

    private static let acquireFields = ["ttl_ms", "wait_ms", "owner", "token", "limit", "mode"]

    /// What lockd serves: every route, with responses compressed where the
    /// client allows it. Build it once, at start (it compresses the spec).
    public var responder: CompressingResponder<Router> {
        CompressingResponder(wrapping: router)
    }

    /// Every route of the API.
    public var router: Router {
        var router = Router()
        router.add(.post, "/locks/{name}", handler: metered("acquire") { request, context in await acquire(request, context) })
        router.add(.post, "/locks/{name}/renew", handler: metered("renew") { request, context in await renew(request, context) })
        router.add(.delete, "/locks/{name}", handler: metered("release") { request, context in await release(request, context) })
        router.add(.get, "/locks/{name}", handler: metered("status") { _, context in await status(context) })
        router.add(.get, "/locks", handler: metered("list") { request, _ in await list(request) })
        router.add(.get, "/healthz", handler: metered("healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) })
        router.add(.get, "/readyz", handler: metered("readyz") { _, _ in await ready() })
        router.add(.get, "/metrics", handler: metered("metrics") { [metricsText] _, _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: metricsText())
        })
        // Compressed here, once, when lockd starts; each request picks a coding.
        let spec = PrecompressedBody(OpenAPIDocument.bytes, contentType: "application/yaml")
        router.add(.get, "/openapi.yaml", handler: metered("openapi") { request, _ in spec.response(to: request) })
        return router
    }

    // MARK: Handlers

    private func acquire(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { () throws(LockError) in
            let name = try lockName(context)
            let body = try RequestBody(request.body, allowed: Self.acquireFields)
            let (limit, mode) = try body.limitAndMode()
            let acquire = AcquireRequest(
                name: name,
                ttlMs: try body.integer("ttl_ms") ?? engine.configuration.defaultTTLMs,
                waitMs: try body.integer("wait_ms") ?? 0,
                owner: try body.string("owner"),
                token: try body.string("token").map { (text: String) throws(LockError) in try LeaseToken(text) },
                limit: limit,
                mode: mode
            )
            let grant = try await engine.acquire(acquire)
            context.logger.debug("lease granted", metadata: [
                "lock.name": "\(name)", "lock.fence": "\(grant.lease.fence)", "lock.retry": "\(grant.isRetry)",
            ])
            return HTTPResponse(status: grant.isRetry ? .ok : .created,
                                headers: ["Content-Type": "application/json"], body: LockJSON.lease(grant.lease))
        }
    }

    private func renew(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { () throws(LockError) in
            let name = try lockName(context)
            let token = try lockToken(request)
            let body = try RequestBody(request.body, allowed: ["ttl_ms"])
            let lease = try await engine.renew(name, token: token, ttlMs: try body.integer("ttl_ms"))
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: LockJSON.lease(lease))
        }
    }

    private func release(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { () throws(LockError) in
            let name = try lockName(context)
            try await engine.release(name, token: try lockToken(request))
            return HTTPResponse(status: .noContent)
        }
    }

    private func status(_ context: HTTPRequestContext) async -> HTTPResponse {
        await answer(context) { () throws(LockError) in
            let status = try await engine.status(of: try lockName(context))
            return Self.json(.ok, LockJSON.status(status))
        }
    }

    private func list(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            let query = try QueryParameters(request.query, allowed: ["prefix", "limit", "cursor"])
            var limit = 100
            if let text = query["limit"] {
                guard let value = Int(text) else { throw LockError.invalidRequest("limit must be an integer between 1 and 1000") }
                limit = value
            }
            let page = try await engine.list(prefix: query["prefix"] ?? "", limit: limit, cursor: query["cursor"].flatMap { $0.isEmpty ? nil : $0 })
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: LockJSON.page(page))
        } catch let error as LockError {
            return error.response
        } catch {
            return LockError.unavailable("unexpected failure").response
        }
    }

    private func ready() async -> HTTPResponse {
        do {
            try await engine.checkReady()
            return Self.json(.ok, #"{"status":"ready"}"#)
        } catch {
            return error.response
        }
    }

    // MARK: Helpers

    /// Counts and times every answer of a route, by status.
    private func metered(_ route: String, _ handler: @escaping Router.Handler) -> Router.Handler {
        let factory = factory
        let duration = Timer(label: "lockd_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
        return { request, context in
            let started = MonotonicClock.now()
            let response = await handler(request, context)
            duration.recordNanoseconds(Int64(clamping: MonotonicClock.now() - started))
            Counter(label: "lockd_http_requests_total", dimensions: [
                ("route", route), ("method", request.method.rawValue), ("status", String(response.status.code)),
            ], factory: factory).increment()
            return response
        }
    }

    private func answer(_ context: HTTPRequestContext, _ body: () async throws(LockError) -> HTTPResponse) async -> HTTPResponse {
        do {
            return try await body()
        } catch {
            if case .unavailable(let detail) = error {
                context.logger.info("answered unavailable", metadata: ["detail": "\(detail)"])
            }
            return error.response
        }
    }

    private func lockName(_ context: HTTPRequestContext) throws(LockError) -> LockName {
        try LockName(context.parameters["name"] ?? "")
    }

    /// The `Lock-Token` header; RFC 4918's `<token>` form is accepted too.
    private func lockToken(_ request: HTTPRequest) throws(LockError) -> LeaseToken {
        guard var text = request.headers["Lock-Token"] else {
            throw .invalidRequest("the Lock-Token header is required: send the token acquire returned")
        }
        if text.hasPrefix("<"), text.hasSuffix(">"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        return try LeaseToken(text)
    }

    private static func json(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(text.utf8))
    }
}
