import Foundation
import LockdTestSupport
import LockEngine
import Testing

/// Review (session 10, wip-cpuhttp 602e476/1f62492) of in-memory grants
/// answered at once, as the server reads the request. Whatever the client
/// or the server does around pipelined acquires, a name is held exactly
/// when its 201 reached the client. (Session 15: such a grant carries an
/// `onDropped` too, and a half-close counts as a hang-up.)
@Suite struct InPlaceGrantReviewTests {
    /// Pipelined acquires sent with a half-close (in one segment: the
    /// server reads them with the FIN): a half-closed client's grants are
    /// given back — none delivered, none left held. (Until session 15 a
    /// half-closed client got them all.)
    @Test func pipelinedAcquiresFollowedByAHalfCloseAreAllGivenBack() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let names = (0..<50).map { _ in uniqueLockName() }
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            try client.holdSendsUntilShutdown()
            try client.send(PipelinedAcquires.requests(names))
            client.shutdownWrite()
            let received = PipelinedAcquires.granted(in: try await client.readUntilClosed(), among: names)
            #expect(received.isEmpty)
            // A dropped grant goes back in a task: wait for it.
            var held: Set<String> = Set(names)
            _ = try await eventually(within: .seconds(5)) {
                held = try await PipelinedAcquires.held(lockd, names)
                return held.isEmpty
            }
            #expect(held.isEmpty, "a half-closed client's grants are still held")
        }
    }

    @Test func pipelinedAcquiresRacingAShutdownAreHeldExactlyWhenDelivered() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let names = (0..<200).map { _ in uniqueLockName() }
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            try client.send(PipelinedAcquires.requests(names))
            // The first answer before the shutdown starts, so that the race
            // is with the other 199 whatever the machine's pace (a shutdown
            // that began first could close the connection before any read).
            let first = try await client.readResponse()
            #expect(first.status == 201, "\(first.text)")
            let shutdown = Task { await lockd.server.shutdown(gracePeriod: .seconds(2)) }
            var received = PipelinedAcquires.granted(in: try await client.readUntilClosed(), among: names)
            await shutdown.value
            if first.status == 201, let name = names.first(where: { first.text.contains(#""name":"\#($0)""#) }) { received.insert(name) }
            #expect(try await PipelinedAcquires.held(lockd, names) == received, "held but not delivered, or delivered but not held")
        }
    }
}
