import LockdHTTP
import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTPCompression

/// wip-http32: compression takes a response answered ``HTTPAnswer/shared(_:)``
/// as it takes the same response answered ``HTTPAnswer/now(_:)``: a small
/// body passes untouched (the shared answer itself, not a copy), a large
/// one is encoded as the request asks — the same status, fields and bytes.
@Suite struct SharedAnswerCompressionTests {
    private static let responses = [
        HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(200)),
        HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(5000)),
        HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain", "Content-Encoding": "br"], body: sampleJSON(5000)),
    ]

    @Test(arguments: [nil, "gzip", "identity", "gzip;q=0, identity;q=0", "br"])
    func answeredAsTheSameResponseNow(_ acceptEncoding: String?) async {
        for (index, response) in Self.responses.enumerated() {
            let shared = SharedHTTPResponse(response)
            var router = Router()
            router.add(.get, "/now", name: "now") { _, _ in .now(response) }
            router.add(.get, "/shared", name: "shared") { _, _ in .shared(shared) }
            let responder = CompressingResponder(wrapping: router)
            var headers = HTTPHeaders()
            if let acceptEncoding { headers.add(name: "Accept-Encoding", value: acceptEncoding) }
            var context = HTTPRequestContext(eventLoop: CompressingResponderTests.loop, logger: Logger(label: "test"))
            let nowAnswer = responder.answer(to: HTTPRequest(method: .get, path: "/now", headers: headers), context: &context)
            let sharedAnswer = responder.answer(to: HTTPRequest(method: .get, path: "/shared", headers: headers), context: &context)
            if response.body.count <= responder.minimumSize {
                guard case .shared(let passed) = sharedAnswer else {
                    Issue.record("a small shared response was not passed as it came")
                    continue
                }
                #expect(passed === shared)
            }
            let expected = await nowAnswer.response(to: HTTPRequest(method: .get, path: "/now"), context: context)
            let got = await sharedAnswer.response(to: HTTPRequest(method: .get, path: "/shared"), context: context)
            let what = "response \(index), Accept-Encoding \(acceptEncoding ?? "none")"
            #expect(got.status == expected.status, "\(what)")
            #expect(got.headers == expected.headers, "\(what)")
            #expect(got.body == expected.body, "\(what)")
            // The shared one is left as it was made.
            #expect(shared.response.headers == response.headers, "\(what)")
            #expect(shared.response.body == response.body, "\(what)")
        }
    }
}
