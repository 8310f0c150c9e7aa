import LockdTestSupport
import LockEngine
import Testing

/// Review (review6, wip-halfclose 9366479/d5d2db5): an in-memory grant
/// answered in place now looks at the socket once its loop's batch is old,
/// and closes the connection when the client has half-closed. Answers to
/// the requests read before it in the same read are queued, not yet sent
/// (one `send` per read): closing must not drop them, or their grants are
/// held by nobody. A name is held exactly when its 201 reached the client.
@Suite struct HalfCloseMidReadReviewTests {
    /// Many pipelined acquires in one read (their answers leave in one
    /// `send` at its end); the client half-closes once the server has begun
    /// granting them, so its FIN comes while the read is being answered.
    /// Whatever was granted before the server saw the FIN is delivered or
    /// given back — never kept by nobody.
    @Test func aHalfCloseWhileAReadIsAnsweredLosesNoEarlierGrant() async throws {
        try await StoreKind.memory.withLockd { lockd in
            var raced = 0
            for _ in 0..<5 {
                // ~100 bytes each: one read of the loop's 64 KiB buffer.
                let names = (0..<500).map { _ in uniqueLockName("m") }
                let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
                defer { client.close() }
                try client.send(PipelinedAcquires.requests(names))
                // Half-close as soon as the second grant is made (a spin on
                // the store, no sleep: the read takes milliseconds).
                let second = try LockName(names[1])
                let deadline = ContinuousClock.now + .seconds(5)
                while try await !lockd.engine.status(of: second).isHeld, ContinuousClock.now < deadline {}
                client.shutdownWrite()
                let received = PipelinedAcquires.granted(in: try await client.readUntilClosed(), among: names)
                if received.count < names.count { raced += 1 }
                // A dropped grant goes back in a task: wait for it.
                var held: Set<String> = []
                _ = try await eventually(within: .seconds(5)) {
                    held = try await PipelinedAcquires.held(lockd, names)
                    return held == received
                }
                #expect(held.subtracting(received).isEmpty,
                        "\(held.subtracting(received).count) grants held but never delivered (\(received.count) delivered)")
                #expect(received.subtracting(held).isEmpty, "delivered but not held")
            }
            // Not an expectation (the race depends on the machine's pace); printed for the reviewer.
            print("HalfCloseMidReadReviewTests: the FIN came mid-read in \(raced) of 5 rounds")
        }
    }
}
