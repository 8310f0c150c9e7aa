import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

@Suite struct RouterTests {
    static let loop: EventLoop = {
        do { return try EventLoop.spawn(name: "router-tests") } catch { fatalError("no event loop: \(error)") }
    }()

    private func respond(_ router: Router, _ method: HTTPMethod, _ path: String) async -> HTTPResponse {
        let context = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        return await router.respond(to: HTTPRequest(method: method, path: path), context: context)
    }

    private var router: Router {
        var router = Router()
        router.add(.post, "/locks/{name}") { _, context in
            HTTPResponse(status: .created, body: Array("acquire \(context.parameters["name"] ?? "-")".utf8))
        }
        router.add(.post, "/locks/{name}/renew") { _, context in
            HTTPResponse(status: .ok, body: Array("renew \(context.parameters["name"] ?? "-")".utf8))
        }
        router.add(.get, "/locks/{name}") { _, _ in HTTPResponse(status: .ok, body: Array("inspect".utf8)) }
        router.add(.get, "/") { _, _ in HTTPResponse(status: .ok, body: Array("root".utf8)) }
        return router
    }

    /// A route added with `answer:` is answered at once (no task), one added
    /// with a handler is left for later; both get their parameters and route
    /// name, and `respond` gives the same answers.
    @Test func answeringRoutesAnswerAtOnceAndHandlerRoutesLater() async {
        var router = Router()
        router.add(.get, "/now/{name}", name: "now") { _, context in
            .now(HTTPResponse(status: .ok, body: Array((context.parameters["name"] ?? "-").utf8)))
        }
        router.add(.get, "/later/{name}", name: "later") { _, context in
            HTTPResponse(status: .ok, body: Array((context.parameters["name"] ?? "-").utf8))
        }
        let fresh = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        var context = fresh
        guard case .now(let now) = router.answer(to: HTTPRequest(method: .get, path: "/now/a%2Fb"), context: &context) else {
            Issue.record("an answering route was not answered at once")
            return
        }
        #expect(context.route == "now" && now.route == nil)
        #expect(context.parameters["name"] == "a/b")
        #expect(now.body == Array("a/b".utf8))
        let later = HTTPRequest(method: .get, path: "/later/x")
        context = fresh
        guard case .later(let work) = router.answer(to: later, context: &context) else {
            Issue.record("a handler route was answered without awaiting its handler")
            return
        }
        #expect(context.route == "later")
        let deferred = await work(later, context)
        #expect(deferred.body == Array("x".utf8))
        // A context bound by one request is rebound by the next: its
        // parameter replaced, or cleared for a route without one.
        guard case .now(let rebound) = router.answer(to: HTTPRequest(method: .get, path: "/now/y"), context: &context) else {
            Issue.record("an answering route was not answered at once")
            return
        }
        #expect(rebound.body == Array("y".utf8) && context.route == "now")
        router.add(.get, "/plain", name: "plain") { _, context in .now(HTTPResponse(status: .ok, body: Array("\(context.parameters.count)".utf8))) }
        guard case .now(let plain) = router.answer(to: HTTPRequest(method: .get, path: "/plain"), context: &context) else {
            Issue.record("an answering route was not answered at once")
            return
        }
        #expect(plain.body == Array("0".utf8) && context.route == "plain")
        #expect(await respond(router, .get, "/now/q").body == Array("q".utf8))
        #expect(await respond(router, .get, "/later/q").route == "later")
    }

    /// A promised answer is kept with its route's name and parameters;
    /// `respond` awaits it, and cancelling that task cancels the promise.
    @Test func promisedRoutesAreKeptWithTheirRouteAndCancelledWithTheAwaitingTask() async {
        var router = Router()
        router.add(.get, "/promised/{name}", name: "promised") { _, _ in
            .promised { _, context, promise in
                let name = context.parameters["name"] ?? "-"
                context.eventLoop.execute { promise.succeed(HTTPResponse(status: .ok, body: Array(name.utf8))) }
            }
        }
        router.add(.get, "/never", name: "never") { _, _ in
            .promised { _, _, promise in
                promise.cancellation.onCancel { promise.succeed(HTTPResponse(status: .serviceUnavailable)) }
            }
        }
        let kept = await respond(router, .get, "/promised/a%2Fb")
        #expect(kept.route == "promised")
        #expect(kept.body == Array("a/b".utf8))
        let waiting = Task { await respond(router, .get, "/never") }
        waiting.cancel()
        let cancelled = await waiting.value
        #expect(cancelled.status == .serviceUnavailable)
        #expect(cancelled.route == "never")
    }

    @Test(arguments: [
        ("/locks/orders", "acquire orders"),
        ("/locks/orders%3A4711", "acquire orders:4711"),
        ("/locks/a%2Fb", "acquire a/b"),
        ("/locks/a+b", "acquire a+b"),
        ("/locks/%C3%A9", "acquire é"),
        ("/locks/x/renew", "renew x"),
    ])
    func matchesAndPercentDecodesParameters(_ path: String, _ expected: String) async {
        let response = await respond(router, .post, path)
        #expect(String(decoding: response.body, as: UTF8.self) == expected)
    }

    @Test(arguments: ["/locks/%", "/locks/%4", "/locks/%zz", "/locks/%FF", "/locks/a%2"])
    func invalidEscapesAre400(_ path: String) async {
        let response = await respond(router, .post, path)
        #expect(response.status.code == 400)
        #expect(response.headers["Content-Type"] == "application/problem+json")
    }

    @Test(arguments: ["/locks", "/locks/", "/locks/a/", "/locks/a/renew/x", "/locks//renew", "/other", "//", "/LOCKS/a"])
    func pathsThatDoNotLineUpAre404(_ path: String) async {
        #expect(await respond(router, .post, path).status.code == 404)
    }

    @Test func wrongMethodsAre405WithAllow() async {
        let response = await respond(router, .delete, "/locks/a")
        #expect(response.status.code == 405)
        #expect(response.headers["Allow"] == "POST, GET, HEAD")
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body == #"{"type":"method-not-allowed","title":"Method Not Allowed","status":405,"detail":"DELETE is not allowed here; use POST, GET, HEAD"}"#)
    }

    /// What a responder in front (the access check) reads: the route and
    /// every parameter decoded, or no parameters when one cannot be.
    @Test func matchGivesTheRouteAndItsDecodedParameters() {
        var router = Router()
        router.add(.get, "/locks/{name}/holders/{fence}", name: "holder") { _, _ in HTTPResponse(status: .ok) }
        let match = router.match(HTTPRequest(method: .get, path: "/locks/a%3Ab/holders/7"))
        #expect(match?.name == "holder")
        #expect(match?.parameters == ["name": "a:b", "fence": "7"])
        let invalid = router.match(HTTPRequest(method: .head, path: "/locks/a/holders/%zz"))
        #expect(invalid?.name == "holder")
        #expect(invalid.map { $0.parameters == nil } == true)
        #expect(router.match(HTTPRequest(method: .post, path: "/locks/a/holders/7")) == nil)
        #expect(router.match(HTTPRequest(method: .get, path: "/locks/a/holders")) == nil)
    }

    @Test func headFallsBackToGet() async {
        #expect(String(decoding: await respond(router, .head, "/locks/a").body, as: UTF8.self) == "inspect")
        #expect(String(decoding: await respond(router, .get, "/").body, as: UTF8.self) == "root")
    }

    @Test func problemDetailsEscapeJSON() {
        let response = HTTPResponse.problem(status: .badRequest, type: "invalid-request", detail: "quote \" backslash \\ newline \n control \u{1}")
        #expect(String(decoding: response.body, as: UTF8.self)
            == #"{"type":"invalid-request","title":"Bad Request","status":400,"detail":"quote \" backslash \\ newline \n control \u0001"}"#)
    }
}
