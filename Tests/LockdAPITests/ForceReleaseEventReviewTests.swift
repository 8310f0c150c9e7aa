import LockdTestSupport
import Testing

/// review4: the `lost` event of a force-release names the lease it ended as
/// the `acquired` event did — its owner and its mode — on both stores
/// (PRODUCT.md: `data:` is `{name, fence, owner?, client?, mode, at}`).
///
/// On Redis with functions (7.0 and later, what the fixtures start), the
/// holder was read by an `EVALSHA` of the status script in the same pipeline
/// as the force-release; nothing ever loads that script by `EVALSHA` there,
/// so the read failed `-NOSCRIPT` and the event went out with no owner, no
/// client and mode `exclusive`, whatever the lease was.
@Suite struct ForceReleaseEventReviewTests {
    @Test(arguments: StoreKind.allCases, [#""mode":"shared""#, #""limit":3"#, #""limit":1"#])
    func theLostEventNamesTheOwnerAndModeOfTheLeaseItEnded(store: StoreKind, shape: String) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let prefix = uniqueLockName() + ":"
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(events.status == 200, "\(events.head)")
            let name = prefix + "a"
            let taken = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"worker-7","# + shape + "}")
            #expect(taken.status == 201)
            let fence = try #require(taken.json["fence"] as? Int)
            let mode = try #require(taken.json["mode"] as? String)
            let acquired = try await events.next()
            #expect(acquired.event == "acquired")
            #expect(acquired.json["owner"] as? String == "worker-7")

            #expect(try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)").status == 204)
            let lost = try await events.next()
            #expect(lost.event == "lost")
            #expect(lost.fence == fence)
            #expect(lost.json["owner"] as? String == "worker-7", "lost: \(lost.data)")
            #expect(lost.json["mode"] as? String == mode, "lost: \(lost.data)")
        }
    }
}
