import Testing

@testable import RESP

@Suite struct RESPEncoderTests {
    @Test func commandsAreArraysOfBulkStrings() {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(["SET", .string("k\r\n*1"), .bytes([0, 255]), "PX", 100, .integer(-7)], into: &buffer)
        #expect(buffer == Array("*6\r\n$3\r\nSET\r\n$5\r\nk\r\n*1\r\n$2\r\n".utf8) + [0, 255] + Array("\r\n$2\r\nPX\r\n$3\r\n100\r\n$2\r\n-7\r\n".utf8))
    }

    @Test func commandsAppendAfterWhatIsQueued() {
        var buffer: [UInt8] = Array("*1\r\n$4\r\nPING\r\n".utf8)
        RESPEncoder.encodeCommand([.string("zürich"), "", .integer(Int64.max), .bytes([])], into: &buffer)
        #expect(buffer == Array("*1\r\n$4\r\nPING\r\n*4\r\n$7\r\nzürich\r\n$0\r\n\r\n$19\r\n9223372036854775807\r\n$0\r\n\r\n".utf8))
    }

    @Test func aScriptCallWrittenFromItsPartsIsTheSameCommandAsFromAnArray() {
        for keyCount: Int64 in [0, 7, 12] {
            var head = RESPArgumentWriter(capacity: 8)
            head.append("EVALSHA" as StaticString)
            head.append("0123456789abcdef0123456789abcdef01234567")
            var tail = RESPArgumentWriter(capacity: 8)
            tail.append("lockd:{zürich}:lease")
            tail.append(-30_000)
            tail.append("")
            var fromParts: [UInt8] = Array("+queued\r\n".utf8)
            var fromArray = fromParts
            RESPEncoder.encodeCommand(head.finish(), keyCount, tail.finish(), into: &fromParts)
            RESPEncoder.encodeCommand(["EVALSHA", "0123456789abcdef0123456789abcdef01234567", .integer(keyCount),
                                       "lockd:{zürich}:lease", .integer(-30_000), ""], into: &fromArray)
            #expect(fromParts == fromArray)
        }
    }

    /// The tail written in place (a script call's keys and arguments
    /// written as the call is sent) against the same tail written
    /// beforehand: the same bytes, appended after what is queued, for
    /// element counts and key counts around every digit boundary, and the
    /// room left unused or used exactly.
    @Test func aTailWrittenInPlaceIsTheSameCommandAsOneWrittenBeforehand() {
        let texts = ["", "x", "lockd:{zürich}:lease", String(repeating: "k", count: 120)]
        for keyCount: Int64 in [0, 7, 9, 10, 99, 100, 12_345, -1] {
            for argumentCount in [0, 1, 7, 8, 9, 10, 97, 98, 99, 100, 250] {
                var headWriter = RESPArgumentWriter(capacity: 8)
                headWriter.append("FCALL" as StaticString)
                headWriter.append("lockd_0123456789abcdef_acquire")
                let head = headWriter.finish()
                func write(_ call: inout RESPArgumentCursor) {
                    for index in 0..<argumentCount {
                        if index % 3 == 2 { call.append(Int64(index) * 1_000_003) } else { call.append(texts[index % texts.count]) }
                    }
                }
                let room = argumentCount * (RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom + 120)
                let tail = RESPArgumentWriter.write(capacity: room, write)
                var beforehand: [UInt8] = Array("+queued\r\n".utf8)
                var inPlace = beforehand
                var exact = beforehand
                RESPEncoder.encodeCommand(head, keyCount, tail, into: &beforehand)
                RESPEncoder.encodeCommand(head, keyCount, tailRoom: room, into: &inPlace, writingTail: write)
                RESPEncoder.encodeCommand(head, keyCount, tailRoom: tail.bytes.count, into: &exact) { $0.append(encoded: tail) }
                // Straight into the bytes to send, behind a command waiting there.
                var toSend = RESPCommandBytes()
                RESPEncoder.encodeCommand(["PING"], into: &toSend)
                RESPEncoder.encodeCommand(head, keyCount, tailRoom: room, into: &toSend, writingTail: write)
                var ping: [UInt8] = []
                RESPEncoder.encodeCommand(["PING"], into: &ping)
                // The reference, put together apart: a ``RESPBulk`` array.
                var bulks: [UInt8] = Array("+queued\r\n".utf8)
                RESPEncoder.encodeCommand([.encoded(head), .integer(keyCount), .encoded(tail)], into: &bulks)
                #expect(beforehand == bulks, "\(argumentCount) arguments, key count \(keyCount)")
                #expect(inPlace == beforehand, "\(argumentCount) arguments, key count \(keyCount)")
                #expect(exact == beforehand, "\(argumentCount) arguments, key count \(keyCount)")
                #expect(toSend.withBytes { Array($0) } == ping + beforehand.dropFirst(9), "\(argumentCount) arguments, key count \(keyCount)")
            }
        }
    }

    @Test func aCommandDecodesBackToItsArguments() throws {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(["EVALSHA", "abc", 0, .integer(Int64.min)], into: &buffer)
        let decoded = try #require(try RESPDecoder().decode(buffer))
        #expect(decoded.value.array?.compactMap(\.string) == ["EVALSHA", "abc", "0", "-9223372036854775808"])
        #expect(decoded.consumed == buffer.count)
    }

    @Test func lengthsAroundEveryDigitBoundaryAreSizedExactly() throws {
        let lengths = [0, 1, 9, 10, 99, 100, 999, 1_000, 10_000]
        let integers: [Int64] = [0, 9, 10, -1, -9, -10, 99, 100, 1_000_000_007, Int64.max, Int64.min]
        let arguments = lengths.map { RESPBulk.string(String(repeating: "a", count: $0)) } + integers.map(RESPBulk.integer)
            + [.bytes(Array(repeating: 7, count: 10))]
        var buffer: [UInt8] = Array("+OK\r\n".utf8)
        RESPEncoder.encodeCommand(arguments, into: &buffer)
        let decoded = try #require(try RESPDecoder().decode(Array(buffer.dropFirst(5))))
        #expect(decoded.consumed == buffer.count - 5)
        let strings = try #require(decoded.value.array).prefix(lengths.count + integers.count).compactMap(\.string)
        #expect(strings == lengths.map { String(repeating: "a", count: $0) } + integers.map { String($0) })
    }

    @Test(arguments: RESPDecoderTests.samples.indices)
    func everyValueRoundTrips(index: Int) throws {
        let value = RESPDecoderTests.samples[index].value
        var buffer: [UInt8] = []
        RESPEncoder.encode(value, into: &buffer)
        let decoded = try #require(try RESPDecoder().decode(buffer))
        #expect(decoded.value == value)
        #expect(decoded.consumed == buffer.count)
    }
}
