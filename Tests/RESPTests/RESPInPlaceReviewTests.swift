import RESP
import Testing

/// Review (issue 22): commands written in place into ``RESPCommandBytes``
/// against a reference encoder written here from the RESP spec alone (the
/// branch's own tests compare its in-place path with its array path, which
/// now share the writing code). Every argument shape: empty strings,
/// non-ASCII, binary, large values, negative and extreme integers, element
/// counts of one to four digits; the buffer holding earlier commands,
/// partly taken, with one removed from the middle.
@Suite struct RESPInPlaceReviewTests {
    /// An argument of the reference.
    private enum Argument {
        case text([UInt8])
        case integer(Int64)

        var wire: [UInt8] {
            switch self {
            case .text(let bytes): Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
            case .integer(let value): Array("$\(String(value).utf8.count)\r\n\(value)\r\n".utf8)
            }
        }
    }

    /// The reference: `*N` CRLF, then each argument as a bulk string.
    private static func reference(_ arguments: [Argument]) -> [UInt8] {
        Array("*\(arguments.count)\r\n".utf8) + arguments.flatMap(\.wire)
    }

    private static func shapes(count: Int, large: Int) -> [Argument] {
        let texts: [[UInt8]] = [[], Array("lockd:{zürich}:lease".utf8), [0, 13, 10, 255], Array(repeating: UInt8(ascii: "v"), count: large)]
        let integers: [Int64] = [0, -1, 9, 10, 99, 100, -100, 12_345, Int64.max, Int64.min, 1_000_000_007]
        return (0..<count).map { index in
            index % 2 == 0 ? .text(texts[(index / 2) % texts.count]) : .integer(integers[(index / 2) % integers.count])
        }
    }

    private static func write(_ argument: Argument, _ cursor: inout RESPArgumentCursor) {
        switch argument {
        case .text(let bytes): bytes.withUnsafeBytes { cursor.append($0) }
        case .integer(let value): cursor.append(value)
        }
    }

    private static func room(_ tail: [Argument]) -> Int {
        tail.reduce(0) { room, argument in
            switch argument {
            case .text(let bytes): room + bytes.count + RESPArgumentWriter.overhead
            case .integer: room + RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom
            }
        }
    }

    @Test func scriptCallsWrittenInPlaceMatchTheReference() {
        // Tails of 0–1 100 arguments: element counts of 1, 2, 3 and 4 digits
        // and every boundary between them (head of 2, the number, the tail).
        let counts = [0, 1, 5, 6, 7, 8, 9, 10, 11, 20, 96, 97, 98, 99, 100, 101, 500, 996, 997, 998, 1_100]
        for large in [0, 70_000] {
            for tailCount in counts {
                for number: Int64 in [0, 3, 17, -1, 1_000_000] {
                    let tail = Self.shapes(count: tailCount, large: tailCount > 100 ? 16 : large)
                    var head = RESPArgumentWriter(capacity: 16)
                    head.append("FCALL" as StaticString)
                    head.append("lockd_0123456789abcdef_acquire")
                    let expected = Self.reference([.text(Array("FCALL".utf8)), .text(Array("lockd_0123456789abcdef_acquire".utf8)),
                                                   .integer(number)] + tail)
                    // With the room exact and with room to spare.
                    for spare in [0, 1_000] {
                        let headArguments = head.finish()
                        var bytes = RESPCommandBytes()
                        // Earlier commands waiting, the first partly taken.
                        RESPEncoder.encodeCommand(["SET", "k", .string(String(repeating: "x", count: 40))], into: &bytes)
                        RESPEncoder.encodeCommand(["PING"], into: &bytes)
                        bytes.removeFirst(7)
                        let before = bytes.withBytes { Array($0) }
                        RESPEncoder.encodeCommand(headArguments, number, tailRoom: Self.room(tail) + spare, into: &bytes) { cursor in
                            for argument in tail { Self.write(argument, &cursor) }
                        }
                        let all = bytes.withBytes { Array($0) }
                        #expect(Array(all.prefix(before.count)) == before, "tail \(tailCount), number \(number), spare \(spare)")
                        #expect(Array(all.dropFirst(before.count)) == expected, "tail \(tailCount), number \(number), spare \(spare), large \(large)")
                        // The PING removed from between: the rest unchanged.
                        let ping = Self.reference([.text(Array("PING".utf8))])
                        let pingStart = before.count - ping.count
                        bytes.remove(pingStart..<before.count)
                        #expect(bytes.withBytes { Array($0) } == Array(before.prefix(pingStart)) + expected)
                        head = RESPArgumentWriter(capacity: 16)
                        head.append("FCALL" as StaticString)
                        head.append("lockd_0123456789abcdef_acquire")
                    }
                }
            }
        }
    }

    @Test func plainCommandsWrittenInPlaceMatchTheReference() {
        for count in [1, 2, 9, 10, 11, 99, 100, 101, 1_000, 1_001] {
            for large in [0, 1 << 20] {
                // Large values only in short commands (a thousand of a MiB each is no test of more).
                let arguments = Self.shapes(count: count, large: count > 11 ? 16 : large)
                let bulks: [RESPBulk] = arguments.map {
                    switch $0 {
                    case .text(let bytes): .bytes(bytes)
                    case .integer(let value): .integer(value)
                    }
                }
                var bytes = RESPCommandBytes()
                for _ in 0..<3 {
                    RESPEncoder.encodeCommand(bulks, into: &bytes)
                    #expect(bytes.withBytes { Array($0) } == Self.reference(arguments), "\(count) arguments, large \(large)")
                    // Sent in two pieces: the room is then reused from its start.
                    bytes.removeFirst(bytes.count / 2)
                    bytes.removeFirst(bytes.count)
                    #expect(bytes.isEmpty)
                }
            }
        }
    }
}
