import Testing

@testable import LockdRedis

/// A written command whose caller asks to be answered at once: resumed
/// `cancelled` once, at once, while its entry keeps its place in the reply order.
@Suite struct RedisConnectionStateMachineCancelTests {
    typealias Machine = RedisConnectionStateMachineTests.Machine

    @Test func aCallerCancelledAtOnceIsAnsweredOnceAndItsReplyIsDropped() {
        var machine = RedisConnectionStateMachineTests.readyMachine()
        _ = machine.send(["BLPOP", "l", "30"], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "b"], id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&machine)
        guard case .fail(1, let error) = machine.cancel(id: 1, now: 0, answeringAtOnce: true) else {
            Issue.record("a caller cancelled at once must be answered at once"); return
        }
        #expect(error.kind == .cancelled)
        guard case .none = machine.cancel(id: 1, now: 0, answeringAtOnce: true) else { Issue.record("answered twice"); return }
        guard case .none = machine.cancel(id: 1, now: 0) else { Issue.record("answered twice"); return }
        // BLPOP's reply, then an error reply in its place, reach nobody; GET's reaches its caller.
        #expect(!machine.nextReplyReadInPlace { _ in true })
        guard case .none = machine.received(.array([.bulkString(Array("l".utf8))]), now: 0) else { Issue.record("dropped"); return }
        guard case .succeed(2, .bulkString(let reply)) = machine.received(.bulkString(Array("b".utf8)), now: 0) else {
            Issue.record("next reply matched"); return
        }
        #expect(reply == Array("b".utf8))

        _ = machine.send(["BLPOP", "l", "30"], id: 3, waiter: 3, now: 0)
        RedisConnectionStateMachineTests.drain(&machine)
        _ = machine.cancel(id: 3, now: 0, answeringAtOnce: true)
        guard case .none = machine.received(.error("WRONGTYPE"), now: 0) else { Issue.record("error reply dropped"); return }
        #expect(machine.state == .ready)
    }

    @Test func aPipelineCancelledAtOnceIsAnsweredOnceAndAllItsRepliesAreDropped() {
        var machine = RedisConnectionStateMachineTests.readyMachine()
        _ = machine.sendPipeline([["GET", "a"], ["BLPOP", "l", "30"], ["GET", "a"]], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "c"], id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&machine)
        _ = machine.received(.null, now: 0)
        guard case .fail(1, let error) = machine.cancel(id: 1, now: 0, answeringAtOnce: true) else { Issue.record("answered at once"); return }
        #expect(error.kind == .cancelled)
        guard case .none = machine.received(.null, now: 0) else { Issue.record("dropped"); return }
        guard case .none = machine.received(.null, now: 0) else { Issue.record("dropped"); return }
        guard case .succeed(2, .bulkString) = machine.received(.bulkString(Array("c".utf8)), now: 0) else { Issue.record("next reply matched"); return }
    }

    /// A timeout, a lost connection and a shutdown resume everyone else,
    /// and never a caller already answered.
    @Test func failuresAndShutdownNeverResumeACallerAnsweredAtOnce() {
        var timedOut = RedisConnectionStateMachineTests.readyMachine()
        _ = timedOut.send(["BLPOP", "l", "30"], id: 1, waiter: 1, now: 0)
        _ = timedOut.send(["GET", "b"], id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&timedOut)
        _ = timedOut.cancel(id: 1, now: 0, answeringAtOnce: true)
        guard case .disconnect(_, let expired, .reconnectNow) = timedOut.tick(now: RedisConnectionStateMachineTests.second) else {
            Issue.record("the cancelled head still times out, closing the connection"); return
        }
        #expect(expired.map(\.0) == [2])

        var lost = RedisConnectionStateMachineTests.readyMachine()
        _ = lost.send(["BLPOP", "l", "30"], id: 1, waiter: 1, now: 0)
        _ = lost.send(["GET", "b"], id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&lost)
        _ = lost.cancel(id: 1, now: 0, answeringAtOnce: true)
        guard case .disconnect(_, let failing, .reconnectNow) = lost.closed(RedisError(.unreachable, message: "reset"), now: 0) else {
            Issue.record("closed"); return
        }
        #expect(failing.map(\.0) == [2])

        var stopped = RedisConnectionStateMachineTests.readyMachine()
        _ = stopped.send(["BLPOP", "l", "30"], id: 1, waiter: 1, now: 0)
        _ = stopped.send(["BLPOP", "l", "30"], id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&stopped)
        _ = stopped.cancel(id: 1, now: 0, answeringAtOnce: true)
        _ = stopped.cancel(id: 2, now: 0)
        guard case .disconnect(_, let ended, .stop) = stopped.shutdown() else { Issue.record("shut down"); return }
        #expect(ended.map(\.0) == [2])
        #expect(ended.map(\.1.kind) == [.cancelled])
    }
}
