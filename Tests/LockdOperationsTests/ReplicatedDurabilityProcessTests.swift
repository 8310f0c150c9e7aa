import LockdTestSupport
import Testing

/// `durability: replicated` as a user meets it: the real lockd binary with
/// `--durability replicated` as its default, on a real master whose one
/// replica the test freezes (SIGSTOP). The engine-level rules are in
/// LockEngineTests' ReplicatedDurabilityTests; this checks the HTTP answers,
/// the default flag, the per-request override and the metric.
@Suite(.serialized) struct ReplicatedDurabilityProcessTests {
    @Test func aFrozenReplicaTurnsGrantsAndRenewalsInto503WhilePrimaryStillServes() async throws {
        let master = try await offThePool { try RedisServerFixture.start() }
        let replica = try await offThePool { try master.startReplica() }
        defer {
            replica.resume()
            replica.stop()
            master.stop()
        }
        let lockd = try await LockdProcess.start(["--redis", master.url, "--durability", "replicated", "--replication-timeout-ms", "300"])

        // With the replica up, the default (replicated) grants and renews.
        let kept = uniqueLockName()
        let granted = try await lockd.request("POST", "/locks/\(kept)", body: #"{"ttl_ms":30000}"#)
        try #require(granted.status == 201, "\(granted.text)")
        let token = try #require(granted.json["token"] as? String)
        let fence = try #require(granted.json["fence"] as? Int)
        #expect(try await lockd.request("POST", "/locks/\(kept)/renew", headers: ["Lock-Token": token]).status == 200)

        replica.pause()
        // A grant the replica cannot confirm is undone and answered 503 with Retry-After.
        let refused = uniqueLockName()
        let unreplicated = try await lockd.request("POST", "/locks/\(refused)", body: #"{"ttl_ms":30000}"#)
        #expect(unreplicated.status == 503)
        #expect(unreplicated.header("Retry-After") != nil)
        #expect((unreplicated.json["type"] as? String)?.hasSuffix("unavailable") == true)
        #expect((unreplicated.json["detail"] as? String)?.contains("could not be replicated") == true, "\(unreplicated.text)")
        #expect(!unreplicated.text.contains(token))
        #expect(try await lockd.request("GET", "/locks/\(refused)").json["held"] as? Bool == false)
        // A renewal is refused too, and the lease stays as it was.
        let renewal = try await lockd.request("POST", "/locks/\(kept)/renew", headers: ["Lock-Token": token])
        #expect(renewal.status == 503)
        let holders = try await lockd.request("GET", "/locks/\(kept)").json["holders"] as? [[String: Any]]
        #expect(holders?.compactMap { $0["fence"] as? Int } == [fence])
        // A request asking for primary is not held up by the frozen replica.
        let primary = try await lockd.request("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":30000,"durability":"primary"}"#)
        #expect(primary.status == 201, "\(primary.text)")
        let metrics = MetricsScrape(try await lockd.request("GET", "/metrics").text)
        #expect(metrics.sum("lockd_redis_replication_timeouts_total") >= 2)

        // Back again: the refused name is granted.
        replica.resume()
        let accepted = await eventually(within: .seconds(10)) {
            (try? await lockd.request("POST", "/locks/\(refused)", body: #"{"ttl_ms":30000}"#).status) == 201
        }
        #expect(accepted)
        await lockd.stop()
    }
}
