import LockEngine
import LockdAuth
import LockdHTTP

/// Who may do what, decided in one place between HTTP and the lock API:
/// the bearer secret names a client (`401` when it names none), the route
/// and lock name say what it asks (`403` without the grant), and a listing
/// shows only the names the client may read. Without rules (no
/// `--auth-file`) every request goes straight to the router.
///
/// Nothing it logs, counts or answers holds the secret or its digest: a
/// client is named by its id.
///
/// ```swift
/// let responder = AccessControlResponder(router: api.router, rules: rules)
/// ```
public struct AccessControlResponder: HTTPResponder {
    /// What a route asks of the client.
    enum Rule: Equatable {
        /// Anyone (health checks, the spec, the status page, which holds no data).
        case open
        /// Any client the file knows.
        case anyClient
        /// `action` on the route's `{name}`.
        case action(AuthAction)
        /// `lock` on the route's `{name}`, or `admin` for a force-release
        /// (`?fence=F`).
        case release
        /// Any client; the listing shows only the names it may read.
        case readableList
        /// A client with `read` on some names; the event stream carries
        /// only events of those names.
        case readableEvents
    }

    /// Each route of ``LockAPI/router`` by name. A route missing here is
    /// refused to every client: a new route is closed until given a rule.
    static let rules: [String: Rule] = [
        "acquire": .action(.lock), "renew": .action(.lock), "release": .release,
        "status": .action(.read), "holder": .action(.read), "list": .readableList, "events": .readableEvents,
        "healthz": .open, "readyz": .open, "openapi": .open, "page": .open, "metrics": .anyClient,
    ]

    /// Whether the route named `route` has a rule (one without is closed).
    public static func hasRule(for route: String) -> Bool { rules[route] != nil }

    /// The routes.
    public let router: Router
    /// The rules in force; nil lets every request through.
    public let rules: AccessRules?

    /// Checks each request against `rules` before `router` answers it.
    public init(router: Router, rules: AccessRules?) {
        self.router = router
        self.rules = rules
    }

    /// Without rules, the router's answer (at once when it can be);
    /// with them, ``respond(to:context:)`` in a task.
    ///
    /// Inlinable, so that the server's responder chain, specialized where
    /// lockd builds it, calls the router straight from the compression
    /// layer: a call of its own here moved the answer (~0.15 KB) once more
    /// on its way back.
    @inlinable
    public func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        guard rules != nil else { return router.answer(to: request, context: &context) }
        return .later { request, context in await respond(to: request, context: context) }
    }

    nonisolated(nonsending) public func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        // No route: the router's 404 or 405 tells nothing about locks.
        guard let rules, let match = router.match(request) else { return await router.respond(to: request, context: context) }
        var rule = Self.rules[match.name]
        if rule == .open { return await router.respond(to: request, context: context) }
        let current = rules.current
        guard let secret = Self.bearerSecret(request.headers["Authorization"]),
              let client = current.policy.client(presenting: secret) else {
            rules.unauthorized.increment()
            context.logger.debug("unauthorized: no bearer token, or one no client has", metadata: ["route": "\(match.name)"])
            return Self.unauthorized(hasToken: request.headers.contains("Authorization"))
        }
        let meters = current.meters(of: client)
        var forcesRelease = false
        if rule == .release {
            // A bad fence is the API's 400; it asked for admin all the same.
            forcesRelease = request.query.map { Self.namesFence($0) } ?? false
            rule = .action(forcesRelease ? AuthAction.admin : AuthAction.lock)
        }
        switch rule {
        case .action(let action)?:
            // A name that cannot be decoded is the router's 400.
            if let name = match.parameters?["name"], !client.may(action, on: name) {
                meters?.forbidden.increment()
                context.logger.debug("forbidden", metadata: ["client": "\(client.id)", "action": "\(action)", "name": "\(name)"])
                return Self.forbidden("client '\(client.id)' has no grant of \(action) on '\(name)'")
            }
        case .readableList?:
            meters?.granted.increment()
            return await ReadableNames.$current.withValue(client.names(for: .read)) {
                await router.respond(to: request, context: context)
            }
        case .readableEvents?:
            let readable = client.names(for: .read)
            guard !readable.isEmpty else {
                meters?.forbidden.increment()
                return Self.forbidden("client '\(client.id)' has no grant of read: an event stream needs one")
            }
            meters?.granted.increment()
            let revocable = { @Sendable (end: @escaping @Sendable () -> Void) in rules.streamOpened(by: client, end: end) }
            return await ReadableNames.$current.withValue(readable) {
                await RevocableStream.$register.withValue(revocable) {
                    await router.respond(to: request, context: context)
                }
            }
        case .anyClient?, .open?, .release?:
            break
        case nil:
            meters?.forbidden.increment()
            return Self.forbidden("no client may use this route")
        }
        meters?.granted.increment()
        let response = await AuthenticatedClient.$id.withValue(client.id) {
            await router.respond(to: request, context: context)
        }
        if forcesRelease, response.status == .noContent { meters?.forceReleased.increment() }
        return response
    }

    /// Whether a query has a `fence` parameter, decoded as the API decodes
    /// it (a query it cannot decode is the API's 400, whatever the grant).
    static func namesFence(_ query: String) -> Bool {
        (try? QueryParameters(query, allowed: ["fence"]))?["fence"] != nil
    }

    /// The secret of `Authorization: Bearer SECRET` (the scheme in any case).
    static func bearerSecret(_ header: String?) -> Substring? {
        guard let header else { return nil }
        let utf8 = header.utf8
        guard utf8.count > 7, utf8.prefix(6).lazy.map({ $0 | 0x20 }).elementsEqual("bearer".utf8),
              utf8.dropFirst(6).first == UInt8(ascii: " ") else { return nil }
        let secret = header.dropFirst(7).drop { $0 == " " }
        return secret.isEmpty ? nil : secret
    }

    static func unauthorized(hasToken: Bool) -> HTTPResponse {
        HTTPResponse.problem(
            status: .unauthorized, type: "unauthorized",
            detail: hasToken
                ? "the bearer token is not one lockd knows (Authorization: Bearer SECRET, a secret from lockd new-client)"
                : "send a bearer token: Authorization: Bearer SECRET",
            headers: ["WWW-Authenticate": "Bearer"]
        )
    }

    static func forbidden(_ detail: String) -> HTTPResponse {
        HTTPResponse.problem(status: .forbidden, type: "forbidden", detail: detail)
    }
}

/// The names the client being answered may read: a listing shows only
/// these. Every name when auth is off.
enum ReadableNames {
    @TaskLocal static var current = LockNameSet.all
}

/// For an event stream answered under auth: registers the stream's end,
/// called when a reload revokes what the client reads, and returns what to
/// call when the stream ends by itself. Nil when auth is off.
enum RevocableStream {
    @TaskLocal static var register: (@Sendable (_ end: @escaping @Sendable () -> Void) -> @Sendable () -> Void)?
}

/// The id of the client being answered, recorded on the leases it takes;
/// nil when auth is off.
enum AuthenticatedClient {
    @TaskLocal static var id: String?
}
