/// Dispatches requests by method and path pattern; answers 404, 405 (with
/// `Allow`) and 400 for bad escapes as `application/problem+json`.
///
/// Patterns are `/`-separated segments; `{name}` matches one non-empty
/// segment and binds it, percent-decoded, in `context.parameters`. The rule:
/// the raw path is split on `/` first, so `%2F` inside a parameter is a `/` in
/// its value and never splits it; `%XX` (two hex digits, any case) becomes
/// that byte, `+` stays `+`, and a `%` without two hex digits after it — or a
/// value that is not UTF-8 once decoded — is `400 invalid-request`. Literal
/// segments match the raw path byte for byte. `HEAD` falls back to the `GET`
/// route (the server drops the body).
///
/// ```swift
/// var router = Router()
/// router.add(.post, "/locks/{name}/renew") { request, context in
///     let name = context.parameters["name"] ?? ""
///     return HTTPResponse(status: .ok, body: Array(name.utf8))
/// }
/// let server = HTTPServer(configuration: .init(), responder: router, eventLoopGroup: group, logger: logger)
/// ```
public struct Router: HTTPResponder {
    /// A route's handler.
    public typealias Handler = nonisolated(nonsending) @Sendable (HTTPRequest, HTTPRequestContext) async -> HTTPResponse
    /// A route's handler that answers without a task when it can (see
    /// ``HTTPResponder/answer(to:context:)``).
    public typealias Answerer = @Sendable (HTTPRequest, HTTPRequestContext) -> HTTPAnswer

    private enum Action: Sendable {
        case respond(Handler)
        case answer(Answerer)
    }

    private struct Route: Sendable {
        let method: HTTPMethod
        let pattern: PathPattern
        let name: String
        let action: Action
    }

    private var routes: [Route] = []
    /// The indices of the routes whose patterns have as many segments as
    /// the position: a request looks only at routes of its path's depth,
    /// without copying (retaining) the others.
    private var routesByDepth: [[Int]] = []

    /// An empty router: every request gets 404.
    public init() {}

    /// Adds a route; earlier routes win when two match the same request.
    /// - Parameters:
    ///   - method: The method to match.
    ///   - pattern: A path such as `/locks/{name}/renew`.
    ///   - name: What metrics and access logs call the route (the
    ///     context's ``HTTPRequestContext/route``), such as `"renew"`; the
    ///     pattern by default.
    ///   - handler: Called with the request and a context holding the parameters.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, name: String? = nil, handler: @escaping Handler) {
        add(Route(method: method, pattern: PathPattern(pattern), name: name ?? pattern, action: .respond(handler)))
    }

    /// Adds a route whose handler answers at once when it can, and says
    /// what to await when it cannot: a request it answers ``HTTPAnswer/now(_:)``
    /// runs no task. Otherwise as ``add(_:_:name:handler:)``.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, name: String? = nil, answer: @escaping Answerer) {
        add(Route(method: method, pattern: PathPattern(pattern), name: name ?? pattern, action: .answer(answer)))
    }

    private mutating func add(_ route: Route) {
        let depth = route.pattern.segments.count
        if routesByDepth.count <= depth { routesByDepth += Array(repeating: [], count: depth + 1 - routesByDepth.count) }
        routesByDepth[depth].append(routes.count)
        routes.append(route)
    }

    /// Every route's name, in the order added (a name used twice appears once).
    public var routeNames: [String] {
        var names: [String] = []
        for route in routes where !names.contains(route.name) { names.append(route.name) }
        return names
    }

    /// The route a request is for, found as ``respond(to:context:)`` finds it.
    public struct Match: Sendable {
        /// The route's name (see ``add(_:_:name:handler:)``).
        public let name: String
        /// The path parameters, percent-decoded; nil when one cannot be
        /// (the router answers such a request 400).
        public let parameters: PathParameters?
    }

    /// The route `request` would be answered by; nil when it would get 404 or 405.
    /// A responder in front of the router (an access check) reads it.
    public func match(_ request: HTTPRequest) -> Match? {
        guard case .route(let index, let parameters) = lookup(request) else { return nil }
        return Match(name: routes[index].name, parameters: try? parameters.get())
    }

    nonisolated(nonsending) public func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        await respondByAnswering(to: request, context: context)
    }

    /// The route's answer: at once for a route added with `answer:` that
    /// can, and for 404, 405 and a bad escape; else its handler, deferred.
    /// The route's parameters and name are set in `context` (the name once
    /// the handler has answered: an outer router's overrides an inner one's).
    public func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        switch lookup(request) {
        case .route(let index, .success(let parameters)):
            return call(index, parameters, request, &context)
        case .route(let index, .failure(let invalid)):
            context.nameRoute(routes[index].name)
            return .now(HTTPError.invalidRequest("the path segment for {\(invalid.name)} has an invalid percent-escape or is not UTF-8").response)
        case .notFound:
            return .now(HTTPError.notFound("no resource at this path").response)
        case .methodNotAllowed(var allowed):
            if allowed.contains(.get), !allowed.contains(.head) { allowed.append(.head) }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            return .now(HTTPResponse.problem(
                status: .methodNotAllowed,
                type: "method-not-allowed",
                detail: "\(request.method) is not allowed here; use \(allow)",
                headers: ["Allow": allow]
            ))
        }
    }

    private enum Lookup {
        case route(Int, Result<PathParameters, PathPattern.InvalidSegment>)
        case notFound
        case methodNotAllowed([HTTPMethod])
    }

    /// Finds the route and decodes its parameters, borrowing the path's
    /// bytes once for both: nothing is allocated for a route without
    /// parameters, and only the decoded values for one with.
    private func lookup(_ request: HTTPRequest) -> Lookup {
        request.pathBytes.withUnsafeBufferPointer { path in
            routes.withUnsafeBufferPointer { routes in
                var ranges = PathPattern.ParameterRanges()
                guard let index = routeIndex(request.method, path, routes, &ranges) else {
                    let allowed = allowedMethods(path)
                    return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
                }
                // The names read in place, each copied alone (see
                // ``PathPattern/parameters(of:ranges:first:second:)``).
                switch ranges.count {
                case 0: return .route(index, .success(PathParameters()))
                case 1: return .route(index, PathPattern.parameters(of: path, ranges: ranges, first: routes[index].pattern.parameterNames[0], second: nil))
                case 2:
                    return .route(index, PathPattern.parameters(of: path, ranges: ranges, first: routes[index].pattern.parameterNames[0],
                                                                second: routes[index].pattern.parameterNames[1]))
                default: return .route(index, routes[index].pattern.parameters(of: path, ranges: ranges))
                }
            }
        }
    }

    /// The first route for `method` whose pattern matches, or for `HEAD`
    /// the first such `GET` route; `ranges`: where its parameters are.
    /// Routes are read in place through buffers (copying a `Route` out, or
    /// an array of them, retains its parts), the method compared before the path.
    private func routeIndex(
        _ method: HTTPMethod, _ path: UnsafeBufferPointer<UInt8>, _ routes: UnsafeBufferPointer<Route>,
        _ ranges: inout PathPattern.ParameterRanges
    ) -> Int? {
        let depth = PathPattern.depth(of: path)
        guard depth < routesByDepth.count else { return nil }
        return routesByDepth.withUnsafeBufferPointer { byDepth in
            byDepth[depth].withUnsafeBufferPointer { indices in
                var headFallback: Int?
                var fallbackRanges = PathPattern.ParameterRanges()
                for index in indices {
                    // Compared by their bits (``String/equalsByBits(_:)``):
                    // a `DELETE` tried against the `POST` route called the
                    // standard library's compare twice (~45 instructions).
                    let routeMethod = routes[index].method.rawValue
                    let exact = routeMethod.equalsByBits(method.rawValue)
                    guard exact
                        || (method.rawValue.equalsByBits(HTTPMethod.head.rawValue) && routeMethod.equalsByBits(HTTPMethod.get.rawValue)
                            && headFallback == nil)
                    else { continue }
                    var matched = PathPattern.ParameterRanges()
                    guard routes[index].pattern.match(path, ranges: &matched) else { continue }
                    if exact {
                        ranges = matched
                        return index
                    }
                    headFallback = index
                    fallbackRanges = matched
                }
                ranges = fallbackRanges
                return headFallback
            }
        }
    }

    /// The methods of the routes whose patterns match (for 405's `Allow`).
    private func allowedMethods(_ path: UnsafeBufferPointer<UInt8>) -> [HTTPMethod] {
        let depth = PathPattern.depth(of: path)
        guard depth < routesByDepth.count else { return [] }
        var allowed: [HTTPMethod] = []
        for index in routesByDepth[depth] where routes[index].pattern.matches(path) {
            if !allowed.contains(routes[index].method) { allowed.append(routes[index].method) }
        }
        return allowed
    }

    /// Calls the route at `index` (read in place: copying a `Route` out retains its parts).
    /// `decoded` is consumed: moved into the context, where a borrowed one
    /// was copied in (through its pair's outlined copy) and destroyed after
    /// (~0.16 k instructions a lock request).
    private func call(
        _ index: Int, _ decoded: consuming PathParameters, _ request: HTTPRequest, _ context: inout HTTPRequestContext
    ) -> HTTPAnswer {
        // Set only when there is something to set (or to clear: an outer
        // router's): an assignment releases what it replaces.
        if decoded.count != 0 || context.parameters.count != 0 { context.parameters = consume decoded }
        let answer: HTTPAnswer
        switch routes[index].action {
        case .respond(let handler):
            answer = .later(handler)
        case .answer(let answerer):
            answer = answerer(request, context)
        }
        context.nameRoute(routes[index].name)
        return answer
    }
}
