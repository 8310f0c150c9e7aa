import RESP
import Testing

/// The bytes to send: commands written in place behind those waiting,
/// taken from the front, one removed from the middle, and the room reused
/// once all are taken.
@Suite struct RESPCommandBytesTests {
    private func encoded(_ arguments: [RESPBulk]) -> [UInt8] {
        var bytes: [UInt8] = []
        RESPEncoder.encodeCommand(arguments, into: &bytes)
        return bytes
    }

    @Test func waitingBytesAreThoseWrittenAndNotTaken() {
        var bytes = RESPCommandBytes()
        #expect(bytes.isEmpty)
        let set: [RESPBulk] = ["SET", "k", .string(String(repeating: "v", count: 300))]
        let get: [RESPBulk] = ["GET", "k"]
        let del: [RESPBulk] = ["DEL", "k"]
        RESPEncoder.encodeCommand(set, into: &bytes)
        RESPEncoder.encodeCommand(get, into: &bytes)
        #expect(bytes.withBytes { Array($0) } == encoded(set) + encoded(get))
        bytes.removeFirst(5)
        RESPEncoder.encodeCommand(del, into: &bytes)
        #expect(bytes.withBytes { Array($0) } == Array(encoded(set).dropFirst(5)) + encoded(get) + encoded(del))
        // The GET, removed from between the two others.
        let getStart = encoded(set).count - 5
        bytes.remove(getStart..<(getStart + encoded(get).count))
        #expect(bytes.withBytes { Array($0) } == Array(encoded(set).dropFirst(5)) + encoded(del))
        bytes.removeFirst(bytes.count)
        #expect(bytes.isEmpty && bytes.count == 0)
        // Written again from the start: only the new command waits.
        RESPEncoder.encodeCommand(get, into: &bytes)
        #expect(bytes.withBytes { Array($0) } == encoded(get))
        bytes.removeAll()
        #expect(bytes.isEmpty)
        RESPEncoder.encodeCommand(del, into: &bytes)
        #expect(bytes.withBytes { Array($0) } == encoded(del))
    }
}
