import Testing

@testable import LockdRedis

/// The connection's decisions, without sockets: waiters are plain integers.
@Suite struct RedisConnectionStateMachineTests {
    typealias Machine = RedisConnectionStateMachine<Int>

    static let second: UInt64 = 1_000_000_000

    static func machine(
        password: String? = nil, username: String? = nil, database: Int = 0,
        prefersRESP3: Bool = true, isSubscriber: Bool = false
    ) -> Machine {
        let settings = Machine.Settings(
            username: username, password: password, database: database, clientName: "lockd",
            prefersRESP3: prefersRESP3, isSubscriber: isSubscriber,
            commandTimeout: second / 2, connectTimeout: second, endpoint: "127.0.0.1:6379")
        return Machine(settings: settings, backoff: ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(1), seed: 7))
    }

    /// A machine that finished a RESP3 handshake at time 0.
    static func readyMachine(isSubscriber: Bool = false) -> Machine {
        var machine = machine(isSubscriber: isSubscriber)
        _ = machine.start(now: 0)
        _ = machine.connected()
        drain(&machine)
        _ = machine.received(.map([]), now: 0)
        return machine
    }

    /// The commands waiting to be written, decoded, and marks them written.
    @discardableResult
    static func drain(_ machine: inout Machine) -> [[String]] {
        let bytes = machine.withUnwrittenBytes { Array($0) }
        machine.wrote(bytes.count)
        var commands: [[String]] = []
        var rest = bytes[...]
        while let (value, consumed) = try? RESPDecoder().decode(Array(rest)) {
            commands.append(value.array?.compactMap(\.string) ?? [])
            rest = rest.dropFirst(consumed)
        }
        return commands
    }

    @Test func resp3HandshakeAuthenticatesNamesAndSelectsThenSendsHeldCommands() {
        var machine = Self.machine(password: "secret", username: "app", database: 2)
        guard case .connect = machine.send(["GET", "k"], id: 1, waiter: 1, now: 0) else { Issue.record("first command starts connecting"); return }
        guard case .flush = machine.connected() else { Issue.record("handshake is written"); return }
        #expect(Self.drain(&machine) == [["HELLO", "3", "AUTH", "app", "secret", "SETNAME", "lockd"]])
        _ = machine.received(.map([]), now: 0)
        #expect(machine.protocolVersion == 3)
        #expect(Self.drain(&machine) == [["SELECT", "2"]])
        guard case .becameReady = machine.received(.simpleString("OK"), now: 0) else { Issue.record("ready after SELECT"); return }
        #expect(Self.drain(&machine) == [["GET", "k"]])
        guard case .succeed(1, .bulkString(let bytes)) = machine.received(.bulkString([1]), now: 0) else { Issue.record("reply goes to the held command"); return }
        #expect(bytes == [1])
    }

    /// A script call whose arguments are written as it is sent: straight
    /// into the queued bytes while ready, written beforehand while held for
    /// the connection — the same command either way, as with arguments
    /// given, and its reply goes to its waiter.
    @Test func aScriptCallsArgumentsWrittenAsItIsSentAreTheSameCommandHeldOrNot() {
        var head = RESPArgumentWriter(capacity: 8)
        head.append("FCALL" as StaticString)
        head.append("lockd_abc_acquire" as StaticString)
        let scriptHead = head.finish()
        func write(_ call: inout RESPArgumentCursor) {
            call.append("lockd:{a}:lease" as StaticString)
            call.append(Int64(30_000))
            call.append("")
        }
        let room = 3 * RESPArgumentWriter.overhead + 15 + RESPArgumentWriter.integerRoom
        let expected = [["FCALL", "lockd_abc_acquire", "1", "lockd:{a}:lease", "30000", ""]]

        var ready = Self.readyMachine()
        guard case .flush = ready.sendScript(head: scriptHead, keyCount: 1, argumentRoom: room, id: 1, waiter: 1, now: 0,
                                             writingArguments: write) else { Issue.record("written while ready"); return }
        var given = Self.readyMachine()
        _ = given.sendScript(head: scriptHead, keyCount: 1, arguments: RESPArgumentWriter.write(capacity: room, write), id: 1, waiter: 1, now: 0)
        #expect(ready.withUnwrittenBytes { Array($0) } == given.withUnwrittenBytes { Array($0) })
        #expect(Self.drain(&ready) == expected)
        guard case .succeed(1, .integer(7)) = ready.received(.integer(7), now: 0) else { Issue.record("reply goes to the call"); return }

        var held = Self.machine()
        guard case .connect = held.sendScript(head: scriptHead, keyCount: 1, argumentRoom: room, id: 2, waiter: 2, now: 0,
                                              writingArguments: write) else { Issue.record("first command starts connecting"); return }
        _ = held.connected()
        Self.drain(&held)
        _ = held.received(.map([]), now: 0)
        #expect(Self.drain(&held) == expected)
        guard case .succeed(2, .integer(8)) = held.received(.integer(8), now: 0) else { Issue.record("reply goes to the held call"); return }
    }

    /// A script call the connection fails at once (waiting to reconnect,
    /// shut down) fails as a command does, its arguments never written.
    @Test func aScriptCallFailedAtOnceIsNotWritten() {
        var head = RESPArgumentWriter(capacity: 8)
        head.append("FCALL" as StaticString)
        let scriptHead = head.finish()
        var writes = 0
        let error = RedisError(.unreachable, message: "refused")

        var waiting = Self.machine()
        _ = waiting.start(now: 0)
        _ = waiting.closed(error, now: 0)
        guard case .fail(1, _) = waiting.sendScript(head: scriptHead, keyCount: 0, argumentRoom: 8, id: 1, waiter: 1, now: 0,
                                                    writingArguments: { _ in writes += 1 }) else {
            Issue.record("failed at once while waiting to reconnect"); return
        }
        var shut = Self.readyMachine()
        _ = shut.shutdown()
        guard case .fail(2, let shutError) = shut.sendScript(head: scriptHead, keyCount: 0, argumentRoom: 8, id: 2, waiter: 2, now: 0,
                                                             writingArguments: { _ in writes += 1 }) else {
            Issue.record("failed at once when shut down"); return
        }
        #expect(shutError.kind == .shutDown)
        #expect(writes == 0)
    }

    @Test func serversWithoutHelloGetRESP2AuthAndSetName() {
        var machine = Self.machine(password: "secret")
        _ = machine.start(now: 0)
        _ = machine.connected()
        Self.drain(&machine)
        _ = machine.received(.error("ERR unknown command 'HELLO'"), now: 0)
        #expect(Self.drain(&machine) == [["AUTH", "secret"]])
        _ = machine.received(.simpleString("OK"), now: 0)
        #expect(Self.drain(&machine) == [["CLIENT", "SETNAME", "lockd"]])
        guard case .becameReady = machine.received(.simpleString("OK"), now: 0) else { Issue.record("ready"); return }
        #expect(machine.protocolVersion == 2)
    }

    @Test func wrongPasswordFailsHeldCommandsAndLaterOnesClearly() {
        var machine = Self.machine(password: "wrong")
        _ = machine.send(["GET", "k"], id: 1, waiter: 1, now: 0)
        _ = machine.connected()
        Self.drain(&machine)
        let action = machine.received(.error("WRONGPASS invalid username-password pair or user is disabled."), now: 0)
        guard case .disconnect(_, let failing, .reconnect) = action else { Issue.record("backs off"); return }
        #expect(failing.map(\.0) == [1])
        #expect(failing.first?.1.kind == .authenticationFailed)
        #expect(failing.first?.1.message.contains("rejected the user name or password") == true)
        guard case .fail(2, let error) = machine.send(["GET", "k"], id: 2, waiter: 2, now: 1) else { Issue.record("fails fast"); return }
        #expect(error.kind == .authenticationFailed)
    }

    @Test func aDatabaseRedisLacksIsASettingToFixNotAnOutage() {
        var machine = Self.machine(database: 99)
        _ = machine.send(["GET", "k"], id: 1, waiter: 1, now: 0)
        _ = machine.connected()
        Self.drain(&machine)
        _ = machine.received(.map([]), now: 0)
        #expect(Self.drain(&machine) == [["SELECT", "99"]])
        guard case .disconnect(_, let failing, .reconnect) = machine.received(.error("ERR DB index is out of range"), now: 0) else {
            Issue.record("backs off")
            return
        }
        let error = try? #require(failing.first?.1)
        #expect(error?.kind == .databaseRejected && error?.needsSettingsFixed == true)
        #expect(error?.message.contains("no database 99") == true, "\(String(describing: error))")
        // Later commands learn the same cause, not "unreachable".
        guard case .fail(2, let later) = machine.send(["GET", "k"], id: 2, waiter: 2, now: 1) else { Issue.record("fails fast"); return }
        #expect(later.kind == .databaseRejected)
        #expect(!"\(later)".contains("databaseRejected"), "the description shows an internal name: \(later)")
    }

    @Test func pipelinedRepliesMatchCommandsInOrderAndPushFramesMatchNone() {
        var machine = Self.readyMachine()
        for id in 1...3 { _ = machine.send(["GET", .string("k\(id)")], id: UInt64(id), waiter: id, now: 0) }
        #expect(Self.drain(&machine).count == 3)
        guard case .none = machine.received(.push([.bulkString(Array("invalidate".utf8)), .array([])]), now: 0) else { Issue.record("push ignored"); return }
        for id in 1...3 {
            guard case .succeed(let waiter, .integer(let value)) = machine.received(.integer(Int64(id)), now: 0) else { Issue.record("reply \(id)"); return }
            #expect(waiter == id && value == Int64(id))
        }
        guard case .disconnect(let reason, _, .reconnectNow) = machine.received(.integer(9), now: 0) else { Issue.record("unsolicited reply closes"); return }
        #expect(reason.kind == .protocolViolation)
    }

    @Test func errorRepliesFailOnlyTheirCommand() {
        var machine = Self.readyMachine()
        _ = machine.send(["INCR", "k"], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "k"], id: 2, waiter: 2, now: 0)
        guard case .fail(1, let error) = machine.received(.error("WRONGTYPE Operation against a key holding the wrong kind of value"), now: 0) else {
            Issue.record("error to first"); return
        }
        #expect(error.kind == .refused && error.code == "WRONGTYPE" && !error.isServerUnavailable)
        guard case .succeed(2, _) = machine.received(.null, now: 0) else { Issue.record("second still served"); return }
    }

    @Test func aPipelineGathersEveryReplyInOrderErrorsIncludedAmongOtherCommands() {
        var machine = Self.readyMachine()
        _ = machine.send(["GET", "before"], id: 1, waiter: 1, now: 0)
        guard case .flush = machine.sendPipeline([["INCR", "a"], ["INCR", "h"], ["GET", "b"]], id: 2, waiter: 2, now: 0) else {
            Issue.record("pipeline written"); return
        }
        _ = machine.send(["GET", "after"], id: 3, waiter: 3, now: 0)
        #expect(Self.drain(&machine) == [["GET", "before"], ["INCR", "a"], ["INCR", "h"], ["GET", "b"], ["GET", "after"]])
        guard case .succeed(1, .null) = machine.received(.null, now: 0) else { Issue.record("first command first"); return }
        guard case .none = machine.received(.integer(1), now: 0) else { Issue.record("gathering"); return }
        guard case .none = machine.received(.error("WRONGTYPE not a number"), now: 0) else { Issue.record("an error reply is gathered too"); return }
        guard case .succeed(2, .array(let replies)) = machine.received(.bulkString([98]), now: 0) else { Issue.record("pipeline complete"); return }
        #expect(replies == [.integer(1), .error("WRONGTYPE not a number"), .bulkString([98])])
        guard case .succeed(3, .bulkString([1])) = machine.received(.bulkString([1]), now: 0) else { Issue.record("later command after"); return }
        #expect(machine.load == 0)
    }

    @Test func anEmptyPipelineAnswersAtOnceAndAHeldOneIsWrittenAfterTheHandshake() {
        var ready = Self.readyMachine()
        guard case .succeed(1, .array([])) = ready.sendPipeline([], id: 1, waiter: 1, now: 0) else { Issue.record("empty"); return }
        var machine = Self.machine()
        guard case .connect = machine.sendPipeline([["SET", "a", "1"], ["GET", "a"]], id: 7, waiter: 7, now: 0) else {
            Issue.record("first submission starts connecting"); return
        }
        _ = machine.connected()
        #expect(Self.drain(&machine).first?.first == "HELLO")
        guard case .becameReady = machine.received(.map([]), now: 0) else { Issue.record("handshake done"); return }
        #expect(Self.drain(&machine) == [["SET", "a", "1"], ["GET", "a"]])
        _ = machine.received(.simpleString("OK"), now: 0)
        guard case .succeed(7, .array(let replies)) = machine.received(.bulkString([49]), now: 0) else { Issue.record("complete"); return }
        #expect(replies == [.simpleString("OK"), .bulkString([49])])
    }

    @Test func aPipelineHalfAnsweredWhenTheConnectionBreaksFailsWholeAndMayHaveRun() {
        var machine = Self.readyMachine()
        _ = machine.sendPipeline([["SET", "a", "1"], ["SET", "b", "1"]], id: 1, waiter: 1, now: 0)
        // Only part of the first command reached the socket: nothing can have run.
        machine.wrote(10)
        let lost = RedisError(.unreachable, message: "Redis closed the connection")
        guard case .disconnect(_, let unsent, _) = machine.closed(lost, now: 0) else { Issue.record("disconnects"); return }
        #expect(unsent.map(\.1.kind) == [.retryable])

        var answered = Self.readyMachine()
        _ = answered.sendPipeline([["SET", "a", "1"], ["SET", "b", "1"], ["SET", "c", "1"]], id: 2, waiter: 2, now: 0)
        Self.drain(&answered)
        _ = answered.received(.simpleString("OK"), now: 0)
        guard case .disconnect(_, let failing, _) = answered.closed(lost, now: 0) else { Issue.record("disconnects"); return }
        #expect(failing.map(\.0) == [2])
        #expect(failing.map(\.1.kind) == [.unreachable])
        #expect(failing.first?.1.message.contains("may have run") == true)
    }

    @Test func aCancelledPipelineIsDroppedButATimedOutOnePoisonsTheConnection() {
        var machine = Self.readyMachine()
        _ = machine.sendPipeline([["GET", "a"], ["GET", "b"]], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "c"], id: 2, waiter: 2, now: 0)
        Self.drain(&machine)
        _ = machine.received(.null, now: 0)
        guard case .none = machine.cancel(id: 1, now: 0) else { Issue.record("cancelled caller resumed before its reply"); return }
        // The pipeline's last reply is read and dropped, its caller resumed
        // `cancelled` then; the next command's reaches its caller.
        guard case .fail(1, let error) = machine.received(.null, now: 0) else { Issue.record("cancelled caller resumed"); return }
        #expect(error.kind == .cancelled)
        guard case .succeed(2, .bulkString) = machine.received(.bulkString(Array("c".utf8)), now: 0) else { Issue.record("next reply matched"); return }
        #expect(machine.state == .ready)

        var slow = Self.readyMachine()
        _ = slow.sendPipeline([["DEBUG", "SLEEP", "1"], ["GET", "b"]], id: 3, waiter: 3, now: 0)
        Self.drain(&slow)
        guard case .disconnect(_, let expired, .reconnectNow) = slow.tick(now: Self.second / 2) else { Issue.record("timed out"); return }
        #expect(expired.map(\.1.kind) == [.timeout])
    }

    @Test func aTimedOutCommandPoisonsTheConnection() {
        var machine = Self.readyMachine()
        _ = machine.send(["DEBUG", "SLEEP", "1"], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "a"], id: 2, waiter: 2, now: 1)
        Self.drain(&machine)
        _ = machine.send(["GET", "b"], id: 3, waiter: 3, now: 2)  // queued, not written
        #expect(machine.nextDeadline == Self.second / 2)
        guard case .none = machine.tick(now: Self.second / 4) else { Issue.record("not yet"); return }
        guard case .disconnect(_, let failing, .reconnectNow) = machine.tick(now: Self.second / 2) else { Issue.record("poisoned"); return }
        #expect(failing.map(\.0) == [1, 2, 3])
        #expect(failing.map(\.1.kind) == [.timeout, .unreachable, .retryable])
        #expect(machine.state == .connecting)
        // The late reply to DEBUG SLEEP can never arrive: the socket is gone,
        // and the new connection starts with a handshake of its own.
        guard case .flush = machine.connected() else { Issue.record("new handshake"); return }
        #expect(Self.drain(&machine).first?.first == "HELLO")
    }

    @Test func aConnectionStillAnsweringIsNotTimedOutUntilItFallsSilent() {
        var machine = Self.readyMachine()
        for id in 1...3 { _ = machine.send(["GET", "k"], id: UInt64(id), waiter: id, now: 0) }
        Self.drain(&machine)
        // The loop was busy past every deadline: the first reply is read just
        // before the timer fires. Redis is answering, so nothing fails.
        guard case .succeed(1, _) = machine.received(.null, now: Self.second) else { Issue.record("first reply"); return }
        guard case .none = machine.tick(now: Self.second) else { Issue.record("answering connection kept"); return }
        #expect(machine.nextDeadline == Self.second + Self.second / 2)
        guard case .succeed(2, _) = machine.received(.null, now: Self.second) else { Issue.record("second reply"); return }
        guard case .none = machine.tick(now: Self.second + Self.second / 2) else { Issue.record("still answering"); return }
        // Then silence for a whole command timeout: the head fails and poisons the connection.
        guard case .none = machine.tick(now: Self.second * 7 / 4) else { Issue.record("not silent long enough"); return }
        guard case .disconnect(_, let failing, .reconnectNow) = machine.tick(now: Self.second * 2) else { Issue.record("silent connection timed out"); return }
        #expect(failing.map(\.0) == [3])
        #expect(failing.map(\.1.kind) == [.timeout])
    }

    @Test func aReplyReadBeforeACommandWasQueuedDoesNotPutOffItsTimeout() {
        var machine = Self.readyMachine()
        _ = machine.send(["GET", "k"], id: 1, waiter: 1, now: 0)
        Self.drain(&machine)
        // Answered; no tick ran since (its timer fires later, as on a busy loop).
        guard case .succeed(1, _) = machine.received(.null, now: Self.second / 10) else { Issue.record("first reply"); return }
        // Then Redis stalls, and the next command waits in vain.
        _ = machine.send(["GET", "k"], id: 2, waiter: 2, now: Self.second / 5)
        Self.drain(&machine)
        let deadline = Self.second / 5 + Self.second / 2
        guard case .disconnect(_, let failing, .reconnectNow) = machine.tick(now: deadline) else {
            Issue.record("a stall that began while the connection was idle was not found at the command timeout")
            return
        }
        #expect(failing.map(\.0) == [2])
    }

    @Test func cancellingACommandResumesItsCallerAndLeavesTheConnectionUp() {
        var machine = Self.machine()
        _ = machine.send(["GET", "a"], id: 1, waiter: 1, now: 0)
        guard case .fail(1, let error) = machine.cancel(id: 1, now: 0) else { Issue.record("held command dropped"); return }
        #expect(error.kind == .cancelled)
        var ready = Self.readyMachine()
        _ = ready.send(["GET", "a"], id: 5, waiter: 5, now: 0)
        _ = ready.send(["GET", "b"], id: 6, waiter: 6, now: 0)
        Self.drain(&ready)
        // A written command may not have run yet: its caller is resumed
        // only once its reply comes (what it does next — a give-back after
        // a cancelled acquire, on another connection — must come after).
        guard case .none = ready.cancel(id: 5, now: 0) else { Issue.record("written command's caller resumed before its reply"); return }
        guard case .none = ready.cancel(id: 5, now: 0) else { Issue.record("cancelled twice"); return }
        guard case .none = ready.cancel(id: 99, now: 0) else { Issue.record("unknown id ignored"); return }
        // The cancelled command's reply is dropped, its caller resumed
        // `cancelled`; the next one's reaches its caller, in order.
        guard case .fail(5, let written) = ready.received(.bulkString(Array("a".utf8)), now: 0) else { Issue.record("written command's caller resumed"); return }
        #expect(written.kind == .cancelled)
        guard case .succeed(6, .bulkString(let reply)) = ready.received(.bulkString(Array("b".utf8)), now: 0) else { Issue.record("next matched"); return }
        #expect(reply == Array("b".utf8))
        #expect(ready.state == .ready)
        // A shutdown resumes a cancelled caller whose reply never came, once, `cancelled`.
        _ = ready.send(["GET", "c"], id: 7, waiter: 7, now: 0)
        Self.drain(&ready)
        _ = ready.cancel(id: 7, now: 0)
        guard case .disconnect(_, let failing, .stop) = ready.shutdown() else { Issue.record("shut down"); return }
        #expect(failing.map(\.0) == [7])
        #expect(failing.map(\.1.kind) == [.cancelled])
    }

    /// A written command's cancelled caller is resumed once, `cancelled`,
    /// however the command ends — an error reply, or the connection lost —
    /// and never by a reply read in place.
    @Test func aWrittenCommandsCancelledCallerIsResumedCancelledHoweverItEnds() {
        var machine = Self.readyMachine()
        _ = machine.send(["GET", "a"], id: 1, waiter: 1, now: 0)
        _ = machine.send(["GET", "b"], id: 2, waiter: 2, now: 0)
        Self.drain(&machine)
        guard case .none = machine.cancel(id: 1, now: 0), case .none = machine.cancel(id: 2, now: 0) else {
            Issue.record("written commands' callers resumed before their replies"); return
        }
        #expect(!machine.nextReplyReadInPlace { _ in true })
        guard case .fail(1, let refused) = machine.received(.error("ERR no"), now: 0) else { Issue.record("error reply"); return }
        #expect(refused.kind == .cancelled)
        guard case .disconnect(_, let failing, _) = machine.closed(RedisError(.unreachable, message: "reset"), now: 0) else {
            Issue.record("closed"); return
        }
        #expect(failing.map(\.0) == [2])
        #expect(failing.map(\.1.kind) == [.cancelled])
    }

    /// A command cancelled before its flush (the loop defers writing) must
    /// never reach Redis: whatever its caller does to make up for it (a
    /// release after a cancelled acquire) could otherwise run first.
    @Test func aCancelledCommandNotYetWrittenIsNeverSentAndLaterOnesStayInLine() {
        var machine = Self.readyMachine()
        _ = machine.send(["GET", "a"], id: 1, waiter: 1, now: 0)
        _ = machine.send(["SET", "b", "1"], id: 2, waiter: 2, now: 0)
        _ = machine.sendPipeline([["GET", "c"], ["GET", "d"]], id: 3, waiter: 3, now: 0)
        _ = machine.send(["GET", "e"], id: 4, waiter: 4, now: 0)
        guard case .fail(2, let error) = machine.cancel(id: 2, now: 0) else { Issue.record("cancelled caller resumed"); return }
        #expect(error.kind == .cancelled)
        guard case .fail(3, _) = machine.cancel(id: 3, now: 0) else { Issue.record("cancelled pipeline resumed"); return }
        #expect(Self.drain(&machine) == [["GET", "a"], ["GET", "e"]])
        guard case .succeed(1, _) = machine.received(.bulkString(Array("a".utf8)), now: 0) else { Issue.record("a matched"); return }
        guard case .succeed(4, _) = machine.received(.bulkString(Array("e".utf8)), now: 0) else { Issue.record("e matched"); return }

        // Partly written: it must go out whole, and its reply is dropped.
        _ = machine.send(["GET", "f"], id: 5, waiter: 5, now: 0)
        _ = machine.send(["GET", "g"], id: 6, waiter: 6, now: 0)
        machine.wrote(3)
        guard case .none = machine.cancel(id: 5, now: 0) else { Issue.record("partly written caller resumed before its reply"); return }
        let rest = machine.withUnwrittenBytes { Array($0) }
        machine.wrote(rest.count)
        #expect(rest.count > 3 && String(decoding: rest, as: UTF8.self).contains("$1\r\nf\r\n"))
        guard case .fail(5, let partly) = machine.received(.bulkString(Array("f".utf8)), now: 0) else { Issue.record("f dropped"); return }
        #expect(partly.kind == .cancelled)
        guard case .succeed(6, _) = machine.received(.bulkString(Array("g".utf8)), now: 0) else { Issue.record("g matched"); return }

        // Offsets after a removal still tell what may have run.
        _ = machine.send(["GET", "h"], id: 7, waiter: 7, now: 0)
        _ = machine.send(["GET", "i"], id: 8, waiter: 8, now: 0)
        _ = machine.send(["GET", "j"], id: 9, waiter: 9, now: 0)
        _ = machine.cancel(id: 7, now: 0)
        let unwritten = machine.withUnwrittenBytes { Array($0) }
        machine.wrote(unwritten.count / 2)  // "i" written, "j" not
        guard case .disconnect(_, let failing, _) = machine.closed(RedisError(.unreachable, message: "reset"), now: 0) else {
            Issue.record("closed"); return
        }
        #expect(failing.map(\.0) == [8, 9])
        #expect(failing.map(\.1.kind) == [.unreachable, .retryable])
    }

    @Test func failedAttemptsBackOffExponentiallyWithJitterAndCommandsFailFast() {
        var machine = Self.machine()
        _ = machine.start(now: 0)
        var delays: [Duration] = []
        for _ in 0..<8 {
            let error = RedisError(.unreachable, message: "connection refused")
            guard case .disconnect(_, _, .reconnect(let delay)) = machine.connectFailed(error) else {
                Issue.record("backs off"); return
            }
            delays.append(delay)
            guard case .fail(_, let failure) = machine.send(["PING"], id: 1, waiter: 1, now: 0) else { Issue.record("fails fast"); return }
            #expect(failure.kind == .unreachable && failure.message.contains("connection refused"))
            guard case .connect = machine.reconnectDue(now: 0) else { Issue.record("tries again"); return }
        }
        #expect(delays[0] >= .milliseconds(25) && delays[0] <= .milliseconds(50))
        #expect(delays[2] >= .milliseconds(100) && delays[2] <= .milliseconds(200))
        #expect(delays.allSatisfy { $0 <= .seconds(1) })
        #expect(delays[7] >= .milliseconds(500))
    }

    @Test func aBrokenHealthyConnectionReconnectsAtOnceAndSaysWhatMayHaveRun() {
        var machine = Self.readyMachine()
        _ = machine.send(["SET", "a", "1"], id: 1, waiter: 1, now: 0)
        Self.drain(&machine)
        _ = machine.send(["SET", "b", "1"], id: 2, waiter: 2, now: 0)
        let lost = RedisError(.unreachable, message: "Redis closed the connection")
        guard case .disconnect(_, let failing, .reconnectNow) = machine.closed(lost, now: 0) else { Issue.record("reconnects"); return }
        #expect(failing.map(\.1.kind) == [.unreachable, .retryable])
        #expect(failing.allSatisfy { $0.1.isServerUnavailable })
    }

    @Test func aSlowHandshakeCountsAsAFailedAttempt() {
        var machine = Self.machine()
        _ = machine.send(["GET", "a"], id: 1, waiter: 1, now: 0)
        _ = machine.connected()
        // Held commands time out at their own deadline, before the connect timeout.
        guard case .failAll(let expired) = machine.tick(now: Self.second / 2) else { Issue.record("held command times out"); return }
        #expect(expired.map(\.1.kind) == [.timeout])
        guard case .disconnect(let reason, _, .reconnect) = machine.tick(now: Self.second) else { Issue.record("attempt failed"); return }
        #expect(reason.message.contains("timed out"))
    }

    @Test func subscriberConnectionsDeliverMessagesAndCountConfirmations() {
        var machine = Self.readyMachine(isSubscriber: true)
        _ = machine.send(["SUBSCRIBE", "a", "b"], replies: 2, id: 1, waiter: 1, now: 0)
        let confirmA = RESPValue.push([.bulkString(Array("subscribe".utf8)), .bulkString([97]), .integer(1)])
        let confirmB = RESPValue.array([.bulkString(Array("subscribe".utf8)), .bulkString([98]), .integer(2)])
        guard case .none = machine.received(confirmA, now: 0) else { Issue.record("one of two"); return }
        let message = RESPValue.push([.bulkString(Array("message".utf8)), .bulkString([97]), .bulkString([120])])
        guard case .deliver(let delivered, .channel) = machine.received(message, now: 0) else { Issue.record("delivered"); return }
        #expect(delivered == RedisPubSubMessage(channel: "a", payload: [120]))
        guard case .succeed(1, _) = machine.received(confirmB, now: 0) else { Issue.record("confirmed"); return }
        let pattern = RESPValue.array([.bulkString(Array("pmessage".utf8)), .bulkString(Array("l*".utf8)), .bulkString(Array("lx".utf8)), .bulkString([1])])
        guard case .deliver(let patterned, .pattern) = machine.received(pattern, now: 0) else { Issue.record("pattern delivered"); return }
        #expect(patterned.pattern == "l*" && patterned.channel == "lx")
    }

    @Test func shutdownFailsEverythingAndStops() {
        var machine = Self.readyMachine()
        _ = machine.send(["GET", "a"], id: 1, waiter: 1, now: 0)
        guard case .disconnect(_, let failing, .stop) = machine.shutdown() else { Issue.record("stops"); return }
        #expect(failing.map(\.1.kind) == [.shutDown])
        guard case .fail(2, let error) = machine.send(["GET", "a"], id: 2, waiter: 2, now: 0) else { Issue.record("refuses"); return }
        #expect(error.kind == .shutDown)
    }
}
