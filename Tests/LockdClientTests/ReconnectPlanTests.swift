import Testing

@testable import LockdClient

/// When `events(prefix:)` reopens its stream, without a server.
@Suite struct ReconnectPlanTests {
    @Test func remembersTheLastIdAndHonoursTheServersRetryAndRetryAfter() {
        var plan = ReconnectPlan()
        #expect(!plan.hasOpened && plan.lastEventID == nil)
        plan.opened()
        plan.saw(id: "abc-1", retry: nil)
        plan.saw(id: nil, retry: 3_000)
        #expect(plan.hasOpened && plan.lastEventID == "abc-1")
        plan.streamEnded()
        #expect(plan.delay(retryAfter: nil) >= .seconds(3), "below the server's retry:")
        #expect(plan.delay(retryAfter: .seconds(5)) >= .seconds(5), "below Retry-After")
        plan.saw(id: "", retry: nil)
        #expect(plan.lastEventID == nil, "an empty id clears it, as in the SSE spec")
    }

    @Test func backsOffWhileStreamsEndAtOnceAndStartsOverAfterOneThatLasted() {
        var plan = ReconnectPlan()
        let start = ContinuousClock.now
        var delays: [Duration] = []
        for _ in 0..<6 {
            plan.opened(at: start)
            plan.streamEnded(at: start + .milliseconds(10))
            delays.append(plan.delay(retryAfter: nil))
        }
        #expect(delays.last! > delays.first!, "\(delays)")
        #expect(delays.allSatisfy { $0 <= Backoff.ceiling })
        plan.opened(at: start)
        plan.streamEnded(at: start + .seconds(3))
        #expect(plan.delay(retryAfter: nil) <= Backoff.initial)
    }
}
