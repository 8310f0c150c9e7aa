import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// Filters responders add to a request's context are applied to its
/// promised response in the order wrapping would apply them: the
/// innermost responder's first.
@Suite struct PromisedResponseFilterTests {
    static let loop: EventLoop = {
        do { return try EventLoop.spawn(name: "promised-filter-tests") } catch { fatalError("no event loop: \(error)") }
    }()

    /// Appends its letter to a response's body.
    final class Appending: HTTPResponseFilter {
        let letter: UInt8
        init(_ letter: Character) { self.letter = letter.asciiValue ?? 0 }
        func filter(_ response: consuming HTTPResponse) -> HTTPResponse {
            response.body.append(letter)
            return response
        }
    }

    /// Adds its filter to the context of the promised answers it passes on.
    struct Filtering<Next: HTTPResponder>: HTTPResponder {
        let next: Next
        let filter: Appending

        func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
            let answer = next.answer(to: request, context: &context)
            if case .promised = answer { context.addPromisedResponseFilter(filter) }
            return answer
        }

        nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
            await respondByAnswering(to: request, context: context)
        }
    }

    static var responder: some HTTPResponder {
        var router = Router()
        router.add(.get, "/promised", name: "promised") { _, _ in
            .promised { _, _, promise in promise.succeed(HTTPResponse(status: .ok, body: Array("x".utf8))) }
        }
        router.add(.get, "/now", name: "now") { _, _ in .now(HTTPResponse(status: .ok, body: Array("x".utf8))) }
        return Filtering(next: Filtering(next: router, filter: Appending("A")), filter: Appending("B"))
    }

    @Test func theInnermostFilterAppliesFirstAndAnAnswerGivenAtOnceHasNone() async {
        let context = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        let promised = await Self.responder.respondByAnswering(to: HTTPRequest(method: .get, path: "/promised"), context: context)
        #expect(String(decoding: promised.body, as: UTF8.self) == "xAB")
        let now = await Self.responder.respondByAnswering(to: HTTPRequest(method: .get, path: "/now"), context: context)
        #expect(String(decoding: now.body, as: UTF8.self) == "x")
    }

    @Test func aServersPromiseAppliesTheFilters() async throws {
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "promised-filter")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: Self.responder,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        let client = try RawHTTPClient(port: port)
        try client.send("GET /promised HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.readResponse().text == "xAB")
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
    }

    /// Adds its filters, in order, to the context of the promised answers
    /// to the paths it names; others' pass on with none.
    struct FilteringByPath<Next: HTTPResponder>: HTTPResponder {
        let next: Next
        let filters: [String: [Appending]]

        func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
            let answer = next.answer(to: request, context: &context)
            if case .promised = answer {
                for filter in filters[request.path] ?? [] { context.addPromisedResponseFilter(filter) }
            }
            return answer
        }

        nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
            await respondByAnswering(to: request, context: context)
        }
    }

    /// One connection's context serves its requests in turn, and keeps the
    /// last filter added (wip-http30): a filter applies to the request that
    /// added it only — not to a later promised answer that adds none, nor
    /// beside another filter a later request adds — and the same shared
    /// filter added again applies again.
    @Test func aFilterAppliesOnlyToTheRequestThatAddedIt() async throws {
        var router = Router()
        for path in ["/ab", "/bare", "/c", "/a"] {
            router.add(.get, path, name: path) { _, _ in
                .promised { _, _, promise in promise.succeed(HTTPResponse(status: .ok, body: Array("x".utf8))) }
            }
        }
        let a = Appending("A"), b = Appending("B"), c = Appending("C")
        let responder = FilteringByPath(next: router, filters: ["/ab": [a, b], "/c": [c], "/a": [a]])
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "promised-filter-kept")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: responder,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        let client = try RawHTTPClient(port: port)
        for (path, expected) in [("/ab", "xAB"), ("/bare", "x"), ("/a", "xA"), ("/a", "xA"), ("/c", "xC"), ("/bare", "x"),
                                 ("/c", "xC"), ("/ab", "xAB"), ("/a", "xA")] {
            try client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == expected, "\(path)")
        }
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
    }
}
