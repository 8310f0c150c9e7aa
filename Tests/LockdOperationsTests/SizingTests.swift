import Foundation
import LockdTestSupport
import Testing

/// Sizing is explicit: lockd runs one event loop per CPU it may use (its
/// affinity mask and cgroup quota) unless `--event-loops` says otherwise,
/// and the connection cap, TTL cap, idle timeout and drain time are settings
/// that do what they say.
@Suite struct SizingTests {
    static let taskset = ["/usr/bin/taskset", "-c", "0"]

    static func loops(_ lockd: LockdProcess) -> Int {
        lockd.threadNames.filter { $0.hasPrefix("lockd-loop-") }.count
    }

    @Test func underTasksetOnOneCPULockdRunsOneEventLoopUnlessToldOtherwise() async throws {
        let byDefault = try await LockdProcess.start([], launcher: Self.taskset)
        // A loop names its thread once it runs: wait for the names, not for time.
        let oneLoop = await eventually { Self.loops(byDefault) == 1 }
        #expect(oneLoop, "\(byDefault.threadNames)")
        #expect(byDefault.output.contains("event_loops=1"), "\(byDefault.output)")
        #expect(try await byDefault.request("POST", "/locks/\(uniqueLockName())").status == 201)
        await byDefault.stop()

        let byFlag = try await LockdProcess.start(["--event-loops", "3"], launcher: Self.taskset)
        let threeLoops = await eventually { Self.loops(byFlag) == 3 }
        #expect(threeLoops, "\(byFlag.threadNames)")
        await byFlag.stop()
        let byEnvironment = try await LockdProcess.start([], environment: ["LOCKD_EVENT_LOOPS": "2"])
        let twoLoops = await eventually { Self.loops(byEnvironment) == 2 }
        #expect(twoLoops, "\(byEnvironment.threadNames)")
        await byEnvironment.stop()
    }

    @Test func theConnectionCapTurnsAwayTheClientPastIt() async throws {
        let lockd = try await LockdProcess.start(["--max-connections", "2"])
        let (host, port) = (lockd.host, lockd.port)
        let held = try await offThePool { [try RawHTTPClient(host: host, port: port), try RawHTTPClient(host: host, port: port)] }
        // Both are counted once each has been answered.
        for client in held {
            try client.send("GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
        let third = try await offThePool { try RawHTTPClient(host: host, port: port) }
        try? third.send("GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n")
        #expect(try await third.readResponse().status == 503)
        for client in held { client.close() }
        let servesAgain = await eventually(within: .seconds(5)) { (try? await lockd.request("GET", "/healthz").status) == 200 }
        #expect(servesAgain)
        await lockd.stop()
    }

    @Test func theTTLCapAndTheIdleTimeoutAreSettings() async throws {
        let lockd = try await LockdProcess.start(["--max-ttl-ms", "5000"], environment: ["LOCKD_IDLE_TIMEOUT_MS": "300"])
        let over = try await lockd.request("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":6000}"#)
        #expect(over.status == 400)
        #expect((over.json["detail"] as? String ?? "").contains("5000"), "\(over.text)")
        #expect(try await lockd.request("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":5000}"#).status == 201)
        let (host, port) = (lockd.host, lockd.port)
        let idle = try await offThePool { try RawHTTPClient(host: host, port: port) }
        #expect(await idle.closedByServer(within: .seconds(5)), "an idle connection outlived --idle-timeout-ms 300")
        await lockd.stop()
    }

    @Test func theDrainTimeoutBoundsHowLongShutdownWaitsForARequestInFlight() async throws {
        let lockd = try await LockdProcess.start(["--drain-timeout-ms", "500"])
        // A request whose body never comes holds the drain up until its deadline.
        let (host, port) = (lockd.host, lockd.port)
        let stuck = try await offThePool { try RawHTTPClient(host: host, port: port) }
        try stuck.send("POST /locks/\(uniqueLockName()) HTTP/1.1\r\nHost: lockd\r\nContent-Length: 10\r\n\r\n{")
        try await Task.sleep(for: .milliseconds(100))
        lockd.process.send(signal: SIGTERM)
        let signalled = ContinuousClock.now
        let termination = try await offThePool { lockd.process.waitForExit(timeout: .seconds(8)) }
        #expect(termination == .exited(0), "\(String(describing: termination))")
        #expect(ContinuousClock.now - signalled < .seconds(5), "shutdown took \(ContinuousClock.now - signalled) with a 500 ms drain")
        // An operator sees why the stop took the whole grace period.
        let output = lockd.output
        #expect(output.contains("the drain's grace period is over") && output.contains("connections=1"), "\(output.suffix(2_000))")
    }

    @Test func theAccessLogIsASetting() async throws {
        let lockd = try await LockdProcess.start([], environment: ["LOCKD_ACCESS_LOG": "true"])
        _ = try await lockd.request("GET", "/locks/\(uniqueLockName())", headers: ["X-Request-Id": "sizing-access-1"])
        let logged = await eventually(within: .seconds(5)) { lockd.output.contains("sizing-access-1") }
        #expect(logged, "\(lockd.output)")
        await lockd.stop()
    }
}
