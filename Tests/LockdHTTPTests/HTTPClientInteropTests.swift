import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import LockdHTTP

/// Real clients for ordinary requests: curl and URLSession.
@Suite struct HTTPClientInteropTests {
    private func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "--silent", "--show-error", "--max-time", "10"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func curlGetsPostsAndReusesTheConnection() async throws {
        try await TestServer.with { server in
            let base = "http://127.0.0.1:\(server.port)"
            let get = try curl(["--include", "\(base)/healthz"])
            #expect(get.status == 0, "is curl installed?")
            #expect(get.output.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(get.output.hasSuffix("\r\n\r\nok"))

            let post = try curl(["--data", #"{"ttl_ms":1000}"#, "\(base)/echo"])
            #expect(post.output == #"{"ttl_ms":1000}"#)

            // Two URLs in one curl run share a connection when keep-alive works.
            let twice = try curl(["--verbose", "\(base)/items/one", "\(base)/items/two", "--stderr", "-"])
            #expect(twice.output.contains("Re-using existing connection") || twice.output.contains("Reusing existing"))
            #expect(twice.output.contains("one") && twice.output.contains("two"))

            let large = String(repeating: "x", count: 70_000)
            let tooLarge = try curl(["--write-out", "%{http_code}", "--output", "/dev/null", "--data", large, "\(base)/echo"])
            #expect(tooLarge.output == "413")
        }
    }

    @Test func urlSessionGetsAndPosts() async throws {
        try await TestServer.with { server in
            let session = URLSession(configuration: .ephemeral)
            defer { session.finishTasksAndInvalidate() }
            let base = "http://127.0.0.1:\(server.port)"
            let (body, response) = try await session.data(from: try #require(URL(string: "\(base)/items/a%20b")))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: body, as: UTF8.self) == "a b")

            var request = URLRequest(url: try #require(URL(string: "\(base)/echo")))
            request.httpMethod = "POST"
            request.httpBody = Data("payload".utf8)
            let (echoed, echoResponse) = try await session.data(for: request)
            #expect((echoResponse as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: echoed, as: UTF8.self) == "payload")

            let (_, missing) = try await session.data(from: try #require(URL(string: "\(base)/missing")))
            let http = missing as? HTTPURLResponse
            #expect(http?.statusCode == 404)
            #expect(http?.value(forHTTPHeaderField: "Content-Type") == "application/problem+json")
        }
    }
}
