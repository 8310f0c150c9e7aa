import LockdTestSupport
import LockEngine
import Testing

/// A half-close counts as a hang-up for a grant, on both stores (from
/// review5's tests of wip-deadgrant, 327fc7c): a client that shuts its
/// sending half after its acquire gets no lease, whether the grant is
/// answered in place (in memory) or later (Redis's reply, a task), and none
/// is left held. A client still there gets every grant.
@Suite struct HalfCloseGrantTests {
    private static func acquire(_ name: String, waitMs: Int) -> String {
        let body = #"{"ttl_ms":60000,"wait_ms":\#(waitMs)}"#
        return "POST /locks/\(name) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// The names whose 201 is in `bytes` (the lease body names it).
    private static func granted(in bytes: [UInt8], among names: [String]) -> Set<String> {
        let text = String(decoding: bytes, as: UTF8.self)
        let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
        return Set(names.filter { name in answers.contains { $0.hasPrefix("201") && $0.contains(#""name":"\#(name)""#) } })
    }

    private static func held(_ lockd: TestLockd, _ names: [String]) async -> Set<String> {
        var held: Set<String> = []
        for name in names {
            guard let lockName = try? LockName(name), let status = try? await lockd.engine.status(of: lockName) else { continue }
            if status.isHeld { held.insert(name) }
        }
        return held
    }

    /// Pipelined acquires, some that may wait (answered from a task), on
    /// one kept-alive connection, then one more after every answer: all
    /// answered 201 and all held.
    @Test(arguments: StoreKind.allCases)
    func aClientStillThereGetsEveryGrantPipelinedOrKeptAlive(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let names = (0..<20).map { _ in uniqueLockName() }
            let client = try await offThePool { try RawHTTPClient(port: UInt16(lockd.url.port ?? 0)) }
            defer { client.close() }
            try client.send(names.enumerated().map { Self.acquire($1, waitMs: $0 % 2 == 0 ? 0 : 5_000) }.joined())
            var statuses: [Int] = []
            for _ in names { statuses.append(try await client.readResponse().status) }
            #expect(statuses == Array(repeating: 201, count: names.count))
            let last = uniqueLockName()
            try client.send(Self.acquire(last, waitMs: 5_000))
            #expect(try await client.readResponse().status == 201)
            #expect(await Self.held(lockd, names + [last]) == Set(names + [last]))
        }
    }

    /// A client whose FIN comes in its request's own segment (`TCP_CORK`,
    /// then a half-close or a close): the server has the hang-up in the
    /// same epoll batch as the request, before it answers — in memory the
    /// grant is answered in place, as the request is read; on Redis from
    /// the store's reply (`wait_ms` 0) or a task (`wait_ms` > 0), off
    /// place. No 201 is written, and nothing stays held. (Failed in memory
    /// before session 15: an in-place grant was written to the half-closed
    /// or closed client, and held by nobody for its TTL.)
    @Test(arguments: [StoreKind.memory, .redis], [false, true])
    func aClientWhoseFINComesWithItsAcquireGetsNoLeaseAndNoneIsHeld(store: StoreKind, fullClose: Bool) async throws {
        try await store.withLockd { lockd in
            for waitMs in [0, 5_000] {
                for _ in 0..<10 {
                    let name = uniqueLockName()
                    let client = try await offThePool { try RawHTTPClient(port: UInt16(lockd.url.port ?? 0)) }
                    defer { client.close() }
                    try client.holdSendsUntilShutdown()
                    try client.send(Self.acquire(name, waitMs: waitMs))
                    if fullClose {
                        client.close()
                        let closed = await eventually(within: .seconds(5)) { lockd.server.openConnectionCount == 0 }
                        #expect(closed, "the server never closed the connection")
                    } else {
                        client.shutdownWrite()
                        let delivered = Self.granted(in: try await client.readUntilClosed(), among: [name])
                        #expect(delivered.isEmpty, "wait_ms \(waitMs): a client that had half-closed was answered its grant")
                    }
                    // A dropped grant goes back in a task: wait for it.
                    var held: Set<String> = [name]
                    _ = await eventually(within: .seconds(5)) {
                        held = await Self.held(lockd, [name])
                        return held.isEmpty
                    }
                    #expect(held.isEmpty, "wait_ms \(waitMs): the grant to a client gone with its request is held")
                }
            }
        }
    }
}
