import Foundation
import HTTPTypes
@testable import LockdClient
import OpenAPIRuntime
import Synchronization
import Testing

/// The SDK's direct acquire, renew and release send exactly the requests the
/// generated client sends (as ``SocketTransport`` writes them); how their answers
/// are read is what the rest of the SDK's tests check, over the default transport.
@Suite struct DirectLeaseCallsTests {
    /// Keeps the request the generated client made, and answers 503 (which it cannot read: no matter).
    final class Capture: ClientTransport {
        let sent = Mutex<[(HTTPRequest, [UInt8])]>([])

        func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
            var bytes: [UInt8] = []
            if let body { bytes = try await [UInt8](collecting: body, upTo: 1 << 20) }
            sent.withLock { $0.append((request, bytes)) }
            return (HTTPResponse(status: .serviceUnavailable), nil)
        }

        /// The last request as SocketTransport would have sent it to `baseURL`.
        func lastMessage(to baseURL: URL) throws -> String {
            let (request, body) = try #require(sent.withLock { $0.last })
            return String(decoding: SocketTransport.encode(request, body: body, target: try SocketTransport.Target(baseURL)), as: UTF8.self)
        }
    }

    private static let names = ["orders", "billing:invoice-7", "a b/c?d#e%f", "ünïcødé", "~._-", "\"quoted\""]
    private static let requests: [Components.Schemas.AcquireRequest] = [
        .init(ttlMs: 30_000),
        .init(ttlMs: 1, waitMs: 5_000, owner: "worker \"7\" / ü", token: "abcdefghijklmnopqrstuv", limit: 3, mode: .shared),
    ]

    @Test(arguments: ["http://127.0.0.1:7070", "https://lockd.internal/base/", "http://[::1]:8080/x"], [nil, "s3cret"])
    func requestsAreTheGeneratedClientsByteForByte(url: String, bearerToken: String?) async throws {
        let baseURL = try #require(URL(string: url))
        let configuration = LockClient.configuration
        let capture = Capture()
        let middlewares: [any ClientMiddleware] = bearerToken.map { [BearerToken(secret: $0)] } ?? []
        let generated = Client(serverURL: baseURL, configuration: configuration, transport: capture, middlewares: middlewares)
        let direct = try #require(DirectLeaseCalls(transport: SocketTransport(), serverURL: baseURL, configuration: configuration, bearerToken: bearerToken))
        for name in Self.names {
            for request in Self.requests {
                _ = try? await generated.acquireLock(path: .init(name: name), body: .json(request))
                #expect(String(decoding: try direct.acquireMessage(name, request), as: UTF8.self) == (try capture.lastMessage(to: baseURL)))
            }
            for ttl in [nil, 45_000] {
                let request = Components.Schemas.RenewRequest(ttlMs: ttl)
                _ = try? await generated.renewLock(path: .init(name: name), headers: .init(lockToken: "tok_en-1"), body: .json(request))
                #expect(String(decoding: try direct.renewMessage(name, token: "tok_en-1", request), as: UTF8.self) == (try capture.lastMessage(to: baseURL)))
            }
            _ = try? await generated.releaseLock(path: .init(name: name), headers: .init(lockToken: "tok_en-1"))
            #expect(String(decoding: direct.releaseMessage(name, token: "tok_en-1"), as: UTF8.self) == (try capture.lastMessage(to: baseURL)))
        }
    }

    /// A `LockClient` over ``SocketTransport`` sends its acquires and renewals through
    /// direct calls made with the configuration its generated client has, so both send
    /// the same compact bodies.
    @Test func theClientsDirectCallsUseItsConfiguration() throws {
        let locks = LockClient(serverURL: try #require(URL(string: "http://127.0.0.1:7070")))
        let direct = try #require(locks.remote.direct)
        for calls in [direct.prompt, direct.waiting] {
            #expect(calls.configuration.jsonEncodingOptions == [.sortedKeys])
            let message = String(decoding: try calls.acquireMessage("orders", .init(ttlMs: 30_000, waitMs: 0, token: "abc")), as: UTF8.self)
            #expect(message.hasSuffix("\r\n\r\n" + #"{"token":"abc","ttl_ms":30000,"wait_ms":0}"#), "\(message)")
            let renewal = String(decoding: try calls.renewMessage("orders", token: "abc", .init(ttlMs: 45_000)), as: UTF8.self)
            #expect(renewal.hasSuffix("\r\n\r\n" + #"{"ttl_ms":45000}"#), "\(renewal)")
        }
    }
}
