import Testing

@testable import LockdHTTP

/// The HTTP connection's life without sockets: bytes and clock readings in,
/// actions out — every path, including those a socket test reaches only
/// with careful timing.
@Suite struct HTTPConnectionStateMachineTests {
    static let timeouts = HTTPConnectionStateMachine.Timeouts(idle: 60_000, head: 10_000, body: 30_000, write: 5_000, linger: 2_000)

    /// What one offer of input made the machine ask for.
    enum Step: Equatable {
        case respond(String)
        case sendContinue
        case reject(Int)
    }

    /// Drives a machine the way `HTTPConnection` does, keeping unconsumed input.
    struct Connection {
        var machine = HTTPConnectionStateMachine(limits: HTTPRequestLimits(), timeouts: HTTPConnectionStateMachineTests.timeouts)
        var buffered: [UInt8] = []
        var queuedOutput = 0
        /// The loop's spare request storage (empty unless a test fills it).
        var spare = SpareRequestStorage()
        var request = HTTPRequest(method: .get, path: "")

        /// Offers `text` (after what is buffered) and returns what decoding asked for.
        mutating func receive(_ text: String, at now: UInt64) -> [Step] {
            buffered += Array(text.utf8)
            return offer(now: now)
        }

        /// Offers what is buffered again (after a response, or output drained).
        mutating func offer(now: UInt64) -> [Step] {
            switch machine.inputArrived(total: buffered.count, now: now) {
            case .discard, .close:
                buffered = []
                return []
            case .decode:
                break
            }
            var steps: [Step] = []
            var offset = 0
            decoding: while true {
                var consumed = 0
                let action = buffered.withUnsafeBytes {
                    machine.decode(UnsafeRawBufferPointer(rebasing: $0[offset...]), queuedOutput: queuedOutput, spare: &spare,
                                   request: &request, consumed: &consumed)
                }
                offset += consumed
                switch action {
                case .needMore: break decoding
                case .sendContinue: steps.append(.sendContinue)
                case .respond:
                    steps.append(.respond(request.path))
                    // Dropped, not recycled: the spare is the test's to fill.
                    request = HTTPRequest(method: .get, path: "")
                case .reject(let error): steps.append(.reject(error.status.code))
                }
            }
            buffered.removeFirst(offset)
            #expect(machine.bufferedInput == buffered.count, "the machine counts what is left unconsumed")
            return steps
        }
    }

    static let get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func aKeepAliveRequestIsAnsweredThenTheIdleTimeoutRuns() throws {
        var connection = Connection()
        #expect(connection.receive(Self.get, at: 100) == [.respond("/a")])
        #expect(connection.machine.isAnswering)
        #expect(connection.machine.settle(queuedOutput: 0, now: 101) == .none)
        #expect(connection.machine.deadlineReason == .none)
        let answered = connection.machine.responseReady(now: 150)
        let framing = try #require(answered)
        #expect(framing == .init(headOnly: false, keepAlive: true, version: .http1_1))
        #expect(connection.machine.settle(queuedOutput: 0, now: 150) == .none)
        #expect(connection.machine.deadlineReason == .idle)
        #expect(connection.machine.deadline == 150 + Self.timeouts.idle)
        #expect(connection.machine.deadlinePassed() == .close)
        #expect(connection.machine.phase == .closed)
    }

    @Test func pipelinedRequestsAreAnsweredOneAtATimeInOrder() throws {
        var connection = Connection()
        let three = Self.get + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n" + "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(connection.receive(three, at: 1) == [.respond("/a")])
        #expect(connection.machine.bufferedInput > 0)
        // Still answering /a: nothing more is decoded, however often input is offered.
        #expect(connection.offer(now: 2) == [])
        #expect(connection.machine.responseReady(now: 3) != nil)
        #expect(connection.offer(now: 3) == [.respond("/b")])
        #expect(connection.machine.responseReady(now: 4) != nil)
        #expect(connection.offer(now: 4) == [.respond("/c")])
        let answered = connection.machine.responseReady(now: 5)
        let head = try #require(answered)
        #expect(head.headOnly)
        #expect(connection.machine.bufferedInput == 0)
    }

    @Test func aRequestPipelinedBehindALongPollGetsItsHeadDeadlineFromTheAnswer() throws {
        var connection = Connection()
        #expect(connection.receive(Self.get + "GET /b HT", at: 10) == [.respond("/a")])
        #expect(connection.machine.responseReady(now: 50_000) != nil)
        #expect(connection.offer(now: 50_000) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 50_000) == .none)
        #expect(connection.machine.deadlineReason == .head)
        #expect(connection.machine.deadline == 50_000 + Self.timeouts.head)
    }

    @Test func aRequestPipelinedBehindOneBeingAnsweredLeavesTheLoopsSpareUntilItIsDecoded() throws {
        var connection = Connection()
        #expect(connection.receive(Self.get, at: 10) == [.respond("/a")])
        // Another request answered in place on the loop gave its storage back.
        connection.spare.body.reserveCapacity(64)
        // Behind a long wait for a lock: not decoded, so the spare stays the loop's.
        #expect(connection.receive("GET /b HTTP/1.1\r\nHost: x\r\n\r\n", at: 20) == [])
        #expect(!connection.spare.isEmpty)
        #expect(connection.machine.responseReady(now: 50_000) != nil)
        #expect(connection.offer(now: 50_000) == [.respond("/b")])
        #expect(connection.spare.isEmpty, "the request decoded took the spare")
    }

    @Test func aTrickledHeadKeepsTheDeadlineOfItsFirstByteThenGets408AndALingeringClose() {
        var connection = Connection()
        #expect(connection.receive("GET /a HTTP/1.1\r\nHo", at: 1_000) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 1_000) == .none)
        #expect(connection.machine.deadline == 1_000 + Self.timeouts.head)
        for now in stride(from: UInt64(2_000), to: 9_000, by: 1_000) {
            #expect(connection.receive("s", at: now) == [])
            #expect(connection.machine.settle(queuedOutput: 0, now: now) == .none)
            #expect(connection.machine.deadline == 1_000 + Self.timeouts.head)
        }
        guard case .reject(let error) = connection.machine.deadlinePassed() else {
            Issue.record("a slow head must get 408")
            return
        }
        #expect(error.status.code == 408 && error.detail.contains("head"))
        // The 408 is queued: nothing more is read as a request; once it is out, linger.
        #expect(connection.receive("t: x\r\n\r\n", at: 11_500) == [])
        #expect(connection.machine.settle(queuedOutput: 200, now: 11_500) == .none)
        #expect(connection.machine.deadlineReason == .write)
        #expect(connection.machine.settle(queuedOutput: 0, now: 11_600) == .linger)
        #expect(connection.machine.phase == .lingering(discarded: 0))
        #expect(connection.machine.deadline == 11_600 + Self.timeouts.linger)
    }

    @Test func aSlowBodyGets408FromTheEndOfItsHead() {
        var connection = Connection()
        #expect(connection.receive("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", at: 500) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 600) == .none)
        #expect(connection.machine.deadlineReason == .body)
        #expect(connection.machine.deadline == 600 + Self.timeouts.body)
        #expect(connection.receive("def", at: 900) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 900) == .none)
        #expect(connection.machine.deadline == 600 + Self.timeouts.body)
        guard case .reject(let error) = connection.machine.deadlinePassed() else {
            Issue.record("a slow body must get 408")
            return
        }
        #expect(error.status.code == 408 && error.detail.contains("body"))
    }

    @Test func aBadRequestIsAnsweredOnceAndNothingPipelinedBehindItRuns() {
        var connection = Connection()
        let bad = "GET /a HTTP/1.1\nHost: x\r\n\r\n"
        #expect(connection.receive(bad + Self.get, at: 1) == [.reject(400)])
        #expect(connection.offer(now: 2) == [])
        #expect(connection.receive(Self.get, at: 3) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 4) == .linger)
    }

    @Test func lingeringDropsInputUntilTheLimitOrTheTimeout() {
        var connection = Connection()
        #expect(connection.receive("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", at: 1) == [.respond("/a")])
        let framing = connection.machine.responseReady(now: 2)
        #expect(framing?.keepAlive == false)
        #expect(connection.machine.settle(queuedOutput: 0, now: 2) == .linger)
        #expect(connection.machine.inputArrived(total: 600_000, now: 3) == .discard)
        #expect(connection.machine.inputArrived(total: 600_000, now: 4) == .close)
        #expect(connection.machine.phase == .closed)

        var patient = Connection()
        #expect(patient.receive("GET /a HTTP/1.0\r\n\r\n", at: 1) == [.respond("/a")])
        #expect(patient.machine.responseReady(now: 2) == .init(headOnly: false, keepAlive: false, version: .http1_0))
        #expect(patient.machine.settle(queuedOutput: 0, now: 2) == .linger)
        #expect(patient.machine.deadlinePassed() == .close)
    }

    @Test func http10KeepsTheConnectionOnlyWhenAsked() {
        var connection = Connection()
        #expect(connection.receive("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", at: 1) == [.respond("/a")])
        #expect(connection.machine.responseReady(now: 2) == .init(headOnly: false, keepAlive: true, version: .http1_0))
        #expect(connection.machine.settle(queuedOutput: 0, now: 2) == .none)
        #expect(connection.machine.deadlineReason == .idle)
    }

    @Test func aClientThatDoesNotReadHoldsBackDecodingThenIsDropped() {
        var connection = Connection()
        connection.queuedOutput = connection.machine.maxQueuedOutput
        #expect(connection.receive(Self.get, at: 1) == [])
        #expect(connection.machine.bufferedInput == Self.get.utf8.count)
        #expect(connection.machine.settle(queuedOutput: connection.queuedOutput, now: 2) == .none)
        #expect(connection.machine.deadlineReason == .write)
        #expect(connection.machine.deadline == 2 + Self.timeouts.write)
        // More output leaving, but not all: the deadline still counts from the first stall.
        #expect(connection.machine.settle(queuedOutput: 100, now: 3_000) == .none)
        #expect(connection.machine.deadline == 2 + Self.timeouts.write)
        // Once it reads, decoding resumes.
        connection.queuedOutput = 0
        #expect(connection.offer(now: 4_000) == [.respond("/a")])
        var stalled = Connection()
        #expect(stalled.machine.settle(queuedOutput: 10, now: 1) == .none)
        #expect(stalled.machine.deadlinePassed() == .close)
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() {
        var connection = Connection()
        let head = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        #expect(connection.receive(head, at: 1) == [.sendContinue])
        #expect(connection.receive("abc", at: 2) == [.respond("/a")])
    }

    @Test func drainingClosesIdleConnectionsAtOnceAndOthersAfterTheirResponse() {
        var idle = Connection()
        #expect(idle.machine.beginDrain(queuedOutput: 0) == .close)
        #expect(idle.machine.phase == .closed)

        var busy = Connection()
        #expect(busy.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(busy.machine.beginDrain(queuedOutput: 0) == HTTPConnectionStateMachine.DrainAction.none)
        #expect(busy.machine.responseReady(now: 2).map(\.keepAlive) == false)
        #expect(busy.machine.settle(queuedOutput: 0, now: 2) == .linger)

        // Half a request in: it is finished and answered with Connection: close.
        var partial = Connection()
        #expect(partial.receive("GET /a HTTP/1.1\r\n", at: 1) == [])
        #expect(partial.machine.beginDrain(queuedOutput: 0) == HTTPConnectionStateMachine.DrainAction.none)
        #expect(partial.receive("Host: x\r\n\r\n", at: 2) == [.respond("/a")])
        #expect(partial.machine.responseReady(now: 3).map(\.keepAlive) == false)

        // A keep-alive response already on its way: closed once it is out.
        var sending = Connection()
        #expect(sending.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(sending.machine.responseReady(now: 2).map(\.keepAlive) == true)
        #expect(sending.machine.beginDrain(queuedOutput: 300) == HTTPConnectionStateMachine.DrainAction.none)
        #expect(sending.machine.settle(queuedOutput: 300, now: 3) == .none)
        #expect(sending.machine.settle(queuedOutput: 0, now: 4) == .close)
    }

    @Test func aHangUpWhileAnsweringCancelsTheResponderAndDropsItsResponse() {
        var connection = Connection()
        #expect(connection.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(connection.machine.closed() == true)
        #expect(connection.machine.responseReady(now: 2) == nil)
        #expect(connection.machine.deadlinePassed() == .none)

        var idle = Connection()
        #expect(idle.machine.closed() == false)
    }

    @Test func noTimeoutRunsWhileAResponderWorks() {
        var connection = Connection()
        #expect(connection.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(connection.machine.settle(queuedOutput: 0, now: 2) == .none)
        #expect(connection.machine.deadline == .max)
        #expect(connection.machine.deadlinePassed() == .none)
        #expect(connection.machine.phase == .open)
    }

    @Test func aStreamedBodyHoldsTheConnectionUntilItEndsThenPipelinedRequestsGo() {
        var connection = Connection()
        #expect(connection.receive(Self.get + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n", at: 1) == [.respond("/a")])
        let framing = connection.machine.streamStarted()
        #expect(framing == .init(headOnly: false, keepAlive: true, version: .http1_1, chunked: true))
        #expect(connection.machine.isStreamingChunked)
        // While the body streams: nothing behind it is decoded, no idle or head timeout runs.
        #expect(connection.offer(now: 2) == [])
        #expect(connection.machine.settle(queuedOutput: 0, now: 3) == .none)
        #expect(connection.machine.deadline == .max)
        #expect(connection.machine.streamPieceQueued(queuedOutput: 100, limit: 1_000) == false)
        // A reader that lags gets the write timeout, as for any response.
        #expect(connection.machine.settle(queuedOutput: 100, now: 4) == .none)
        #expect(connection.machine.deadlineReason == .write)
        #expect(connection.machine.streamEnded(now: 5) == true)
        #expect(connection.machine.settle(queuedOutput: 0, now: 6) == .none)
        #expect(connection.offer(now: 6) == [.respond("/b")])
    }

    @Test func aSlowReaderOfAStreamGetsOneLastPieceThenTheConnectionCloses() {
        var connection = Connection()
        #expect(connection.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(connection.machine.streamStarted() != nil)
        #expect(connection.machine.streamPieceQueued(queuedOutput: 2_000, limit: 1_000) == true)
        #expect(connection.machine.streamTakesPieces, "one last piece (an SSE comment saying why) may follow")
        #expect(connection.machine.streamPieceQueued(queuedOutput: 2_100, limit: 1_000) == true)
        #expect(!connection.machine.streamTakesPieces)
        // The body is not terminated: the client must not take the cut for the end.
        #expect(connection.machine.streamEnded(now: 2) == false)
        #expect(connection.machine.settle(queuedOutput: 2_100, now: 3) == .none)
        #expect(connection.machine.settle(queuedOutput: 0, now: 4) == .linger)
    }

    @Test func streamsToHTTP10ClientsEndWithTheConnectionAndDrainingEndsStreams() {
        var old = Connection()
        #expect(old.receive("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", at: 1) == [.respond("/a")])
        #expect(old.machine.streamStarted() == .init(headOnly: false, keepAlive: false, version: .http1_0, chunked: false))
        #expect(old.machine.streamEnded(now: 2) == false)
        #expect(old.machine.settle(queuedOutput: 0, now: 3) == .linger)

        var draining = Connection()
        #expect(draining.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(draining.machine.streamStarted()?.keepAlive == true)
        #expect(draining.machine.beginDrain(queuedOutput: 0) == .endStream)
        #expect(draining.machine.streamEnded(now: 2) == true)
        #expect(draining.machine.settle(queuedOutput: 0, now: 3) == .close)

        var gone = Connection()
        #expect(gone.receive(Self.get, at: 1) == [.respond("/a")])
        #expect(gone.machine.streamStarted() != nil)
        #expect(gone.machine.closed() == true, "the producer is cancelled")
        #expect(!gone.machine.streamTakesPieces)
        #expect(gone.machine.streamEnded(now: 2) == false)
    }
}
