import Foundation
import HTTPTypes
@testable import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization
import Testing

/// The SDK's request bodies are compact JSON with sorted keys, through the generated
/// client (any transport but ``SocketTransport``) as through the direct calls
/// (`DirectLeaseCallsTests`): lockd reads a pretty-printed body slower, and it is
/// longer on the wire.
@Suite("Compact request bodies")
struct CompactBodyTests {
    /// Passes every request on to lockd, keeping its body.
    final class Recording: ClientTransport {
        let inner = URLSessionTransport()
        let bodies = Mutex<[(operationID: String, body: [UInt8])]>([])

        func send(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
        ) async throws -> (HTTPResponse, HTTPBody?) {
            guard let body else { return try await inner.send(request, body: nil, baseURL: baseURL, operationID: operationID) }
            let bytes = try await [UInt8](collecting: body, upTo: 1 << 20)
            bodies.withLock { $0.append((operationID, bytes)) }
            return try await inner.send(request, body: HTTPBody(bytes), baseURL: baseURL, operationID: operationID)
        }
    }

    /// `value` as JSONEncoder writes it with sorted keys and nothing else.
    private static func compact(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(value))
    }

    @Test func acquireAndRenewBodiesAreCompactWithSortedKeys() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let recording = Recording()
            let locks = LockClient(serverURL: lockd.url, transport: recording, owner: "billing 7", timeout: .seconds(10))
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, ttl: .seconds(20), autoRenew: false, limit: 2))
            try await lease.renew(ttl: .seconds(40), durability: .primary)
            try await lease.release()

            let bodies = recording.bodies.withLock { $0 }
            #expect(bodies.map(\.operationID) == ["acquireLock", "renewLock"])
            let decoder = JSONDecoder()
            for (operationID, body) in bodies {
                #expect(!body.contains(UInt8(ascii: "\n")), "\(operationID): \(String(decoding: body, as: UTF8.self))")
                let reencoded: [UInt8] = operationID == "acquireLock"
                    ? try Self.compact(try decoder.decode(Components.Schemas.AcquireRequest.self, from: Data(body)))
                    : try Self.compact(try decoder.decode(Components.Schemas.RenewRequest.self, from: Data(body)))
                #expect(body == reencoded, "\(operationID): \(String(decoding: body, as: UTF8.self))")
            }
            let acquire = try #require(bodies.first).body
            #expect(String(decoding: acquire, as: UTF8.self)
                == #"{"limit":2,"owner":"billing 7","token":"\#(lease.token)","ttl_ms":20000,"wait_ms":0}"#)
            #expect(String(decoding: try #require(bodies.last).body, as: UTF8.self) == #"{"durability":"primary","ttl_ms":40000}"#)
        }
    }
}
