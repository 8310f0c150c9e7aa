import LockdTestSupport
import Testing

@testable import LockdHTTP

/// Review of issue 22: promised answers on a keep-alive connection with
/// pipelined requests — kept later from another thread, or at once inside
/// `start` — go out in request order, between answers given at once and
/// answers from a task.
@Suite struct PromisedPipelineTests {
    @Test func pipelinedPromisedAndImmediateAnswersGoOutInRequestOrder() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            defer { client.close() }
            let paths = ["/promised", "/healthz", "/promised-at-once", "/items/a", "/promised", "/slow?1", "/promised-at-once", "/healthz"]
            try client.send(paths.enumerated().map { "GET \($1) HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipelined-\($0)\r\n\r\n" }.joined())
            #expect(await server.nextEvent() == "started")
            server.gate.open()
            var bodies: [String] = []
            var ids: [String] = []
            for _ in paths {
                let response = try await client.readResponse()
                bodies.append(response.text)
                ids.append(response.header("X-Request-Id") ?? "-")
            }
            #expect(bodies == ["kept", "ok", "at once", "a", "kept", "slow", "at once", "ok"])
            #expect(ids == paths.indices.map { "pipelined-\($0)" })
        }
    }
}
