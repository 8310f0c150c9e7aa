import Foundation
import HTTPTypes
import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization
import Testing

@Suite("The SDK and compressed responses")
struct CompressedListTests {
    /// URLSessionTransport, noting the `Content-Encoding` of every answer it hands up.
    final class RecordsEncodings: ClientTransport {
        let inner = URLSessionTransport()
        let encodings = Mutex<[String: [String]]>([:])

        func send(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
        ) async throws -> (HTTPResponse, HTTPBody?) {
            let (response, responseBody) = try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
            encodings.withLock { $0[operationID, default: []].append(response.headerFields[.contentEncoding] ?? "identity") }
            return (response, responseBody)
        }
    }

    @Test("URLSession asks for gzip and decodes it: list pages arrive compressed and read as usual", arguments: StoreKind.allCases)
    func listArrivesCompressed(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let prefix = uniqueLockName() + ":"
            for index in 0..<100 {
                let reply = try await lockd.send("POST", "/locks/\(prefix)\(index)", body: #"{"ttl_ms":60000,"owner":"sdk-worker-\#(index)"}"#)
                #expect(reply.status == 201)
            }
            let transport = RecordsEncodings()
            let locks = LockClient(serverURL: lockd.url, transport: transport, owner: "lister")
            var owners: Set<String> = []
            for try await status in locks.list(prefix: prefix, pageSize: 100) {
                for holder in status.holders { owners.insert(holder.owner ?? "") }
            }
            #expect(owners == Set((0..<100).map { "sdk-worker-\($0)" }))
            // The first page holds every lock (well over 1 KiB of JSON); the
            // last, empty one is too small to compress.
            let seen = transport.encodings.withLock { $0["listLocks"] ?? [] }
            #expect(seen.first == "gzip", "list pages came as \(seen)")
            // Lease-sized answers stay identity.
            _ = try await locks.status(prefix + "0")
            #expect(transport.encodings.withLock { $0["getLock"] } == ["identity"])
        }
    }
}
