import Testing

@testable import RESP

@Suite struct RESPArgumentWriterTests {
    @Test func writtenArgumentsEncodeAsThePlainOnesWould() {
        var writer = RESPArgumentWriter(capacity: 256)
        writer.append("lockd:{", UnsafeRawBufferPointer(start: nil, count: 0), "}:lease")
        Array("orders:4711".utf8).withUnsafeBytes { writer.append("lockd:{", $0, "}:lease") }
        writer.append("zürich\r\n*1")
        writer.append("" as StaticString)
        writer.append("x" as StaticString)
        for value: Int64 in [0, 9, 10, 99, 100, -1, -10, 30_000, Int64.max, Int64.min] { writer.append(value) }
        let encoded = writer.finish()
        #expect(encoded.count == 15)

        var viaRun: [UInt8] = []
        RESPEncoder.encodeCommand(["EVALSHA", "abc", 2, .encoded(encoded), "tail"], into: &viaRun)
        var plain: [UInt8] = []
        RESPEncoder.encodeCommand(["EVALSHA", "abc", 2, "lockd:{}:lease", "lockd:{orders:4711}:lease", "zürich\r\n*1", "", "x",
                                   0, 9, 10, 99, 100, -1, -10, 30_000, .integer(.max), .integer(.min), "tail"], into: &plain)
        #expect(viaRun == plain)
    }

    @Test func integersAndLengthsReadBackAsTheirDecimalText() throws {
        let values: [Int64] = Array(-120...120) + [999, 1_000, 65_535, 1_000_000_007, .max, .min]
        var writer = RESPArgumentWriter(capacity: 16)
        for value in values { writer.append(value) }
        // Text of every length from 0 to 120: each length's own digits.
        let texts = (0...120).map { String(repeating: "t", count: $0) }
        for text in texts { writer.append(text) }
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand([.encoded(writer.finish())], into: &buffer)
        let decoded = try #require(try RESPDecoder().decode(buffer))
        #expect(decoded.value.array?.compactMap(\.string) == values.map { String($0) } + texts)
    }

    /// Integers of every width and sign, around every power of ten and
    /// spread over the whole range, written as Swift writes them.
    @Test func integersOfEveryWidthAreTheirOwnDecimalText() {
        var values: [Int64] = [.max, .min, .max - 1, .min + 1]
        var power: Int64 = 1
        for _ in 0...18 {
            values += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
            if power <= Int64.max / 10 { power *= 10 }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { values.append(Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...62, using: &generator)) }
        for value in values {
            let written = RESPArgumentWriter.write(capacity: RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom) { $0.append(value) }
            let text = String(value)
            #expect(written.bytes == Array("$\(text.utf8.count)\r\n\(text)\r\n".utf8), "\(value)")
            #expect(RESPArgumentWriter.decimalLength(value) == text.utf8.count, "\(value)")
        }
    }

    @Test func aWriterGrowsPastTheCapacityItWasGiven() throws {
        var writer = RESPArgumentWriter(capacity: 4)
        let long = String(repeating: "k", count: 1_000)
        writer.append(long)
        writer.append(Int64(7))
        let encoded = writer.finish()
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(["GET", .encoded(encoded)], into: &buffer)
        let decoded = try #require(try RESPDecoder().decode(buffer))
        #expect(decoded.value.array?.compactMap(\.string) == ["GET", long, "7"])
        #expect(decoded.consumed == buffer.count)
    }

    @Test func theFirstArgumentIsWhatARouteLooksAt() {
        var writer = RESPArgumentWriter(capacity: 64)
        writer.append("lockd:{a}:lease" as StaticString)
        writer.append("second" as StaticString)
        #expect(writer.finish().first.map { Array($0) } == Array("lockd:{a}:lease".utf8))
        var empty = RESPArgumentWriter(capacity: 0)
        #expect(empty.finish().first == nil)
    }

    @Test func aCursorWritesTheSameBytesAsTheWriter() {
        let values: [Int64] = [0, 9, 10, 99, 100, -1, 30_000, .max, .min]
        let texts = ["", "t", "zürich\r\n*1", String(repeating: "k", count: 300)]
        let name = Array("orders:4711".utf8)
        var writer = RESPArgumentWriter(capacity: 8)
        name.withUnsafeBytes { writer.append("lockd:{", $0, "}:lease") }
        for value in values { writer.append(value) }
        for text in texts { writer.append(text) }
        writer.append("s" as StaticString)
        let written = writer.finish()

        // The room the cursor's callers reserve: texts, overhead per argument, room per integer.
        let room = name.count + 14 + texts.reduce(0) { $0 + $1.utf8.count } + 1
            + (1 + values.count + texts.count + 1) * RESPArgumentWriter.overhead + values.count * RESPArgumentWriter.integerRoom
        let viaCursor = RESPArgumentWriter.write(capacity: room) { call in
            name.withUnsafeBytes { call.append("lockd:{", $0, "}:lease") }
            for value in values { call.append(value) }
            for text in texts { call.append(text) }
            call.append("s" as StaticString)
            #expect(call.count == 1 + values.count + texts.count + 1)
        }
        #expect(viaCursor == written)
        #expect(viaCursor.bytes.count < room)
        let none = RESPArgumentWriter.write(capacity: 0) { _ in }
        #expect(none.count == 0 && none.bytes.isEmpty)
    }

    /// Short runs are copied as overlapping words (4 to 32 bytes), the
    /// rest by `memmove`: every length across those bounds, alone and as a
    /// key's middle, written byte for byte as the plain form spells it —
    /// each byte distinct, so a word stored at a wrong offset shows.
    @Test func argumentsOfEveryShortLengthAreCopiedWhole() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0x41 + $0) }
            let text = String(decoding: bytes, as: UTF8.self)
            var expected: [UInt8] = []
            RESPEncoder.encodeCommand([.string(text), .string("lockd:{" + text + "}:waiters")], into: &expected)
            expected.removeFirst(4)  // `*2\r\n`: the arguments alone follow.

            var writer = RESPArgumentWriter(capacity: 4)
            bytes.withUnsafeBytes { writer.append($0) }
            bytes.withUnsafeBytes { writer.append("lockd:{", $0, "}:waiters") }
            let written = writer.finish()
            let room = 2 * length + 16 + 2 * RESPArgumentWriter.overhead
            let viaCursor = RESPArgumentWriter.write(capacity: room) { call in
                bytes.withUnsafeBytes { call.append($0) }
                bytes.withUnsafeBytes { call.append("lockd:{", $0, "}:waiters") }
            }
            #expect(written.bytes == expected, "length \(length), writer")
            #expect(viaCursor.bytes == expected, "length \(length), cursor")
        }
    }
}
