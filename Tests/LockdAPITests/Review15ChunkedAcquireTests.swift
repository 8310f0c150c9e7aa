import Foundation
import LockdTestSupport
import Testing

/// Review 15: an acquire's body is its own. A client whose acquire has a
/// chunked, empty body (the defaults) must not be answered with another
/// client's lease because that client's acquire body, read on the same
/// loop between the two reads of this one, became this request's body.
@Suite struct Review15ChunkedAcquireTests {
    @Test(arguments: StoreKind.allCases)
    func aChunkedAcquireNeverTakesAnotherClientsBodyAndLease(store: StoreKind) async throws {
        // One loop: both connections' requests share its spare request storage.
        try await store.withLockd(configure: { $0.loopCount = 1 }) { lockd in
            let name = uniqueLockName()
            let port = UInt16(lockd.url.port ?? 0)
            // The acquire's head, chunked; the 100 Continue says the server has read it.
            let taker = try RawHTTPClient(port: port)
            defer { taker.close() }
            try taker.send("POST /locks/\(name) HTTP/1.1\r\nHost: lockd\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await taker.readResponse().status == 100)

            // Another client takes the lock with its own token.
            let holderToken = "review15-holder-" + String(repeating: "h", count: 16)
            let holder = try RawHTTPClient(port: port)
            defer { holder.close() }
            let body = #"{"ttl_ms":60000,"token":"\#(holderToken)","owner":"the holder"}"#
            try holder.send("POST /locks/\(name) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let held = try await holder.readResponse()
            #expect(held.status == 201, "\(held.text)")

            // The first acquire's body ends, empty: the lock is held by another, 409.
            try taker.send("0\r\n\r\n")
            let answer = try await taker.readResponse()
            #expect(answer.status == 409, "\(answer.text)")
            #expect(!answer.text.contains(holderToken), "\(answer.text)")
        }
    }
}
