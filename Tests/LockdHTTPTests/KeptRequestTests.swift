import LockdTestSupport
import Testing

@testable import LockdHTTP

/// A connection keeps one request from one to the next: the decoder swaps
/// each request's parts into it (``HTTPRequestDecoder/moveRequest(into:)``),
/// the answer borrows it, and the loop's spare takes its storage back
/// (``SpareRequestStorage/recycle(_:)``), which the decoder's next request
/// takes in exchange. Nothing a request said may reach the next — its
/// query above all, which no later request writes over unless it has one —
/// and a copy of a request kept by its answer (a task's) keeps its own.
@Suite struct KeptRequestTests {
    static let requests = [
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /q?x=1&y HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
        "GET /r? HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /locks/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        "GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /ten HTTP/1.0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://example.com/abs?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "PURGE /custom HTTP/1.1\r\nHost: x\r\nX-Long: " + String(repeating: "v", count: 300) + "\r\n\r\n",
        "DELETE /locks/" + String(repeating: "n", count: 100) + " HTTP/1.1\r\nHost: x\r\nLock-Token: t\r\n\r\n",
        "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "b", count: 5000),
    ]

    /// A request as a test compares it.
    static func described(_ request: HTTPRequest) -> String {
        "\(request.method.rawValue) \(request.path) \(request.query ?? "<no query>") \(request.version) "
            + "\(request.headers.map { "\($0.name): \($0.value)" }) \(String(decoding: request.body, as: UTF8.self))"
    }

    /// Each request decoded alone, by a fresh decoder.
    static func alone(_ text: String) -> String {
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let event = Array(text.utf8).withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
        guard case .request(let request, _) = event else { return "not a request: \(event)" }
        return described(request)
    }

    @Test func eachRequestSwappedIntoTheKeptOneIsItselfAlone() {
        let alone = Self.requests.map(Self.alone)
        var random = SplitMix64(seed: 0x6E97)
        for round in 0..<400 {
            // Two connections on one loop share its spare, as a server's do.
            var spare = SpareRequestStorage()
            var machines = (0..<2).map { _ in
                HTTPConnectionStateMachine(limits: HTTPRequestLimits(), timeouts: HTTPConnectionStateMachineTests.timeouts)
            }
            var kept = (0..<2).map { _ in HTTPRequest(method: .get, path: "/") }
            var heldByTasks: [(request: HTTPRequest, expected: String)] = []
            for step in 0..<(1 + Int(random.next() % 10)) {
                let pick = Int(random.next() % UInt64(Self.requests.count))
                let side = Int(random.next() % 2)
                let bytes = Array(Self.requests[pick].utf8)
                // Arrives in one piece or two (a body's first piece replaces what the storage held).
                let split = random.next() % 2 == 0 ? bytes.count : Int(random.next() % UInt64(bytes.count + 1))
                var pending: [UInt8] = []
                var answered = false
                for piece in [bytes[..<split], bytes[split...]] {
                    pending += piece
                    _ = machines[side].inputArrived(total: pending.count, now: 1)
                    var consumed = 0
                    let action = pending.withUnsafeBytes {
                        machines[side].decode($0, queuedOutput: 0, spare: &spare, request: &kept[side], consumed: &consumed)
                    }
                    pending.removeFirst(consumed)
                    switch action {
                    case .respond:
                        #expect(Self.described(kept[side]) == alone[pick], "round \(round) step \(step): \(Self.requests[pick].prefix(30))")
                        // Now and then its answer keeps a copy (a task's), which must stay itself.
                        if random.next() % 4 == 0 { heldByTasks.append((kept[side], alone[pick])) }
                        spare.recycle(&kept[side])
                        answered = true
                    case .needMore, .sendContinue:
                        continue
                    case .reject(let error):
                        Issue.record("round \(round) step \(step): rejected \(error)")
                    }
                }
                #expect(answered, "round \(round) step \(step): \(Self.requests[pick].prefix(30)) was not answered")
                // The next request on this connection begins afresh.
                _ = machines[side].responseReady(now: 2)
                _ = machines[side].settle(queuedOutput: 0, now: 2)
                if machines[side].phase != .open {
                    // Its last request closes it: the next comes on a new connection, which keeps its own request.
                    machines[side] = HTTPConnectionStateMachine(limits: HTTPRequestLimits(), timeouts: HTTPConnectionStateMachineTests.timeouts)
                    kept[side] = HTTPRequest(method: .get, path: "/")
                }
            }
            for (request, expected) in heldByTasks {
                #expect(Self.described(request) == expected, "round \(round): a request its task held changed")
            }
        }
    }

    @Test func storageTheSpareDoesNotTakeIsDropped() {
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let text = "POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        guard case .request(var request, _) = Array(text.utf8).withUnsafeBytes({ decoder.decode($0, consumed: &consumed) }) else {
            Issue.record("not a request")
            return
        }
        // A spare that has storage of every kind already keeps it, and the request keeps none.
        var spare = SpareRequestStorage()
        spare.headers.add(name: "Kept", value: "1")
        spare.body = [1, 2, 3]
        spare.path = Array("/kept".utf8)
        spare.recycle(&request)
        #expect(request.headers.storageCapacity == 0)
        #expect(request.body.capacity == 0)
        #expect(request.pathBytes.capacity == 0)
        #expect(request.query == nil)
        #expect(spare.headers["Kept"] == "1")
        #expect(spare.body == [1, 2, 3])
        #expect(spare.path == Array("/kept".utf8))

        // An empty spare takes each kind, the fields emptied; the request keeps none.
        guard case .request(var second, _) = Array(text.utf8).withUnsafeBytes({ decoder.decode($0, consumed: &consumed) }) else {
            Issue.record("not a request")
            return
        }
        var empty = SpareRequestStorage()
        empty.recycle(&second)
        #expect(second.headers.storageCapacity == 0 && second.body.capacity == 0 && second.pathBytes.capacity == 0)
        #expect(second.query == nil)
        #expect(empty.headers.isEmpty && empty.headers.storageCapacity > 0)
        #expect(empty.body == Array("abc".utf8))
        #expect(empty.path == Array("/a".utf8))
    }
}
