import RESP
import Testing

@testable import LockdRedis

/// The bytes a connection writes: those written stay in its buffer until
/// every byte is written (see `wrote(_:)`), and must never be offered
/// again nor shift what a cancel drops; the buffer, reused from its start
/// each time, must offer only the commands written since.
@Suite struct RedisConnectionStateMachineBytesTests {
    @Test func writtenBytesAreNeverOfferedAgain() {
        var machine = RedisConnectionStateMachineTests.readyMachine()
        let value = String(repeating: "v", count: 1000)
        var id: UInt64 = 0
        // Over 64 KiB in all: each round's unwritten bytes are its own
        // commands, whatever was written before them.
        let rounds = 64
        for round in 0..<rounds {
            let set: [RESPBulk] = ["SET", .string("k\(round)"), .string(value)]
            let get: [RESPBulk] = ["GET", .string("k\(round)")]
            id += 2
            let (setID, getID) = (id - 1, id)
            _ = machine.send(set, id: setID, waiter: Int(setID), now: 0)
            _ = machine.send(get, id: getID, waiter: Int(getID), now: 0)
            var expected: [UInt8] = []
            RESPEncoder.encodeCommand(set, into: &expected)
            // A command cancelled before it was written leaves the bytes, and only its own.
            let cancelsGet = round % 3 == 0
            if cancelsGet {
                guard case .fail(Int(getID), _) = machine.cancel(id: getID, now: 0) else {
                    Issue.record("an unwritten command is dropped at once"); return
                }
            } else {
                RESPEncoder.encodeCommand(get, into: &expected)
            }
            #expect(machine.withUnwrittenBytes { Array($0) } == expected, "round \(round)")
            // Written in two parts.
            machine.wrote(10)
            #expect(machine.withUnwrittenBytes { Array($0) } == Array(expected.dropFirst(10)), "round \(round)")
            machine.wrote(expected.count - 10)
            #expect(!machine.hasUnwrittenBytes)
            guard case .succeed(Int(setID), _) = machine.received(.simpleString("OK"), now: 0) else {
                Issue.record("round \(round): the SET's reply goes to its caller"); return
            }
            if !cancelsGet {
                guard case .succeed(Int(getID), _) = machine.received(.bulkString(Array(value.utf8)), now: 0) else {
                    Issue.record("round \(round): the GET's reply goes to its caller"); return
                }
            }
        }
        #expect(machine.load == 0)
    }
}
