import Testing

@testable import RESP

/// Replies read in place (`RESPReply`) read as their decoded values do, and
/// `plainFrameLength` lets through only what the decoder accepts, whole.
@Suite struct RESPReplyTests {
    /// Frames of every type, each with what each accessor of its decoded value answers.
    static let frames: [String] = [
        ":42\r\n", ":-7\r\n", ":+3\r\n", ":9223372036854775807\r\n", ":-9223372036854775808\r\n",
        "+OK\r\n", "+12\r\n", "$2\r\n17\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "_\r\n", "$5\r\nx\r\ny\0\r\n",
        "=8\r\ntxt:some\r\n", "(123456789012345678901234567890\r\n", ",3.5\r\n", "#t\r\n", "-ERR no\r\n", "!3\r\nbad\r\n",
        "*3\r\n:1\r\n$3\r\nabc\r\n*2\r\n_\r\n+s\r\n", "~2\r\n:1\r\n:2\r\n", ">2\r\n+a\r\n:1\r\n", "%1\r\n+k\r\n:5\r\n",
        "|1\r\n+ttl\r\n:3\r\n:99\r\n", "|1\r\n+a\r\n*1\r\n:1\r\n*2\r\n|1\r\n+b\r\n:2\r\n$1\r\nx\r\n:7\r\n",
        // Lengths, counts and integers of many digits (a grant's reply: a fence in µs, the time in ms).
        ":1733412345678901\r\n", ":-1733412345678\r\n", "$12\r\nhello world!\r\n",
        "*11\r\n:1\r\n:1733412345678901\r\n:1733412345678\r\n:30000\r\n$0\r\n\r\n:0\r\n:0\r\n:1\r\n$1\r\nx\r\n$10\r\n0123456789\r\n*0\r\n",
    ]

    @Test(arguments: frames)
    func eachAccessorReadsAsTheDecodedValuesDoes(frame: String) throws {
        let bytes = Array(frame.utf8)
        let value = try #require(try RESPDecoder().decode(bytes)).value
        bytes.withUnsafeBytes { frame in
            /// What `read` reads from a fresh reply over `frame`, at its
            /// element `index` if it is an aggregate (the cursor is not
            /// copyable: a look ahead starts over).
            func reading<Value>(at index: Int? = nil, _ read: (inout RESPReply) -> Value) -> Value {
                var reply = RESPReply(unsafeFrame: frame)
                if let index {
                    _ = reply.array()
                    for _ in 0..<index { _ = reply.value() }
                }
                return read(&reply)
            }
            #expect(reading { $0.int() } == value.int)
            #expect(reading { $0.string() } == value.string)
            #expect(reading { $0.bytes() } == value.bytes)
            // A one-byte string's byte (a mode), nil for any other value.
            #expect(reading { $0.byte() } == value.bytes.flatMap { $0.count == 1 ? $0[0] : nil })
            #expect(reading { $0.value() } == value)
            var reply = RESPReply(unsafeFrame: frame)
            let count = reply.array()
            #expect(count == value.array?.count)
            if let elements = value.array {
                // Each element in turn, the cursor moving past each whatever it is.
                for (index, element) in elements.enumerated() {
                    #expect(reading(at: index) { $0.int() } == element.int)
                    #expect(reading(at: index) { $0.string() } == element.string)
                    #expect(reading(at: index) { $0.byte() } == element.bytes.flatMap { $0.count == 1 ? $0[0] : nil })
                    #expect(reading(at: index) { $0.array() } == element.array?.count)
                    let read = reply.value()
                    #expect(read == element)
                }
            } else {
                let int = reply.int()
                #expect(int == value.int, "array() moved nowhere")
            }
        }
        // Read over the value written out again, the same.
        var viaValue = RESPReply.reading(value) { $0.array() }
        #expect(viaValue == value.array?.count)
        viaValue = RESPReply.reading(value) { $0.int() }
        #expect(viaValue == value.int)
    }

    /// Integers of 1 to 19 digits, signed or not, read eight digits at a
    /// time where eight bytes are left: each the integer the decoder reads,
    /// the cursor at the next element whatever follows (another integer,
    /// a string of digits, the frame's end); counts of one and two digits.
    @Test func longIntegersAndCountsReadAsTheDecoderReadsThem() throws {
        var generator = SystemRandomNumberGenerator()
        var texts: [String] = ["0", "-0", "+7", "12345678", "99999999", "100000000", "9223372036854775807", "-9223372036854775808"]
        for digits in 1...19 {
            for _ in 0..<30 {
                var text = String(Int.random(in: 1...9, using: &generator))
                for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &generator)) }
                if digits == 19, text > "9223372036854775807" { continue }
                texts.append(Bool.random(using: &generator) ? "-" + text : text)
            }
        }
        for text in texts {
            let expected = Int(text)
            for tail in ["", ":1\r\n", "$8\r\n12345678\r\n", ":123456789012\r\n"] {
                for elements in [1, 2] where (elements == 2) != tail.isEmpty {
                    let frame = Array(((elements == 2 ? "*2\r\n" : "") + ":\(text)\r\n" + tail).utf8)
                    let decoded = try #require(try RESPDecoder().decode(frame)).value
                    frame.withUnsafeBytes { frame in
                        var reply = RESPReply(unsafeFrame: frame)
                        if elements == 2 { #expect(reply.array() == 2) }
                        let read = reply.int()
                        #expect(read == expected, "\(text) before \(tail.debugDescription)")
                        #expect(read == (elements == 2 ? decoded.array?.first?.int : decoded.int))
                        if elements == 2 { #expect(reply.value() == decoded.array?.last) }
                    }
                }
            }
        }
        for count in [0, 1, 9, 10, 12, 99] {
            let frame = Array(("*\(count)\r\n" + String(repeating: ":1\r\n", count: count)).utf8)
            frame.withUnsafeBytes { frame in
                var reply = RESPReply(unsafeFrame: frame)
                #expect(reply.array() == count)
                if count > 0 { #expect(reply.int() == 1) }
            }
        }
    }

    @Test func aReplysElementsReadInOrderGiveTheirFields() {
        let frame = Array("*9\r\n:1\r\n:17\r\n:1733400000000\r\n:30000\r\n$5\r\nowner\r\n:0\r\n:-1\r\n:1\r\n$1\r\nx\r\n".utf8)
        frame.withUnsafeBytes { frame in
            var reply = RESPReply(unsafeFrame: frame)
            let count = reply.array()
            let ints = (0..<4).map { _ in reply.int() }
            let owner = reply.string()
            let more = (0..<3).map { _ in reply.int() }
            let mode = reply.withBytes { Array($0) }
            #expect(count == 9)
            #expect(ints == [1, 17, 1_733_400_000_000, 30_000])
            #expect(owner == "owner")
            #expect(more == [0, -1, 1])
            #expect(mode == [UInt8(ascii: "x")])
        }
    }

    /// One-digit integers, empty strings and one-byte strings are read at
    /// once: each leaves the cursor at the next element, whatever the
    /// neighbours (a longer integer, a string of two bytes or of "0…"
    /// digits that starts like them, a sign).
    @Test func shortFieldsReadAtOnceLeaveTheCursorAtTheNextElement() {
        let frame = Array(("*12\r\n:1\r\n$0\r\n\r\n$1\r\ns\r\n:7\r\n$10\r\n0123456789\r\n$1\r\nx\r\n:12\r\n$0\r\n\r\n"
            + ":+3\r\n$1\r\n\r\r\n:0\r\n$2\r\nab\r\n").utf8)
        frame.withUnsafeBytes { frame in
            var reply = RESPReply(unsafeFrame: frame)
            #expect(reply.array() == 12)
            #expect(reply.int() == 1)
            #expect(reply.string() == "")
            #expect(reply.byte() == UInt8(ascii: "s"))
            #expect(reply.int() == 7)
            #expect(reply.byte() == nil)
            #expect(reply.byte() == UInt8(ascii: "x"))
            #expect(reply.int() == 12)
            #expect(reply.byte() == nil)
            #expect(reply.int() == 3)
            #expect(reply.byte() == UInt8(ascii: "\r"))
            #expect(reply.int() == 0)
            #expect(reply.string() == "ab")
        }
    }

    /// Plain frames (integers, simple and bulk strings, nulls, arrays of
    /// them) have their decoded length; anything else, or a frame cut
    /// short, malformed or over a limit, is nil (left to the decoder).
    @Test func onlyWholePlainFramesWithinTheLimitsHaveAPlainLength() throws {
        let decoder = RESPDecoder(limits: RESPLimits(maxDepth: 2, maxBulkLength: 8, maxAggregateCount: 3, maxLineLength: 10))
        let plain = [":42\r\n", ":-7\r\n", "+OK\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "_\r\n", "*0\r\n",
                     "*3\r\n:1\r\n$0\r\n\r\n*1\r\n_\r\n", "$8\r\n12345678\r\n", "+0123456789\r\n"]
        for text in plain {
            let bytes = Array(text.utf8) + Array(":1\r\n".utf8)
            let decoded = try #require(try decoder.decode(bytes))
            #expect(bytes.withUnsafeBytes { decoder.plainFrameLength($0) } == decoded.consumed, "\(text.debugDescription)")
        }
        let other = ["-ERR x\r\n", "!1\r\nx\r\n", "#t\r\n", ",1.5\r\n", "(1\r\n", "=5\r\ntxt:a\r\n", "%0\r\n", "~0\r\n", ">0\r\n",
                     "|0\r\n:1\r\n", "*1\r\n-ERR x\r\n",
                     // cut short
                     "", ":4", ":42\r", "$3\r\nab", "$3\r\nabc\r", "*2\r\n:1\r\n", "+OK",
                     // malformed
                     ":4x\r\n", "$3\r\nabcd\r\n", "$+3\r\nabc\r\n", "$-2\r\n", "*-1\r\r", "+a\nb\r\n", "_x\r\n", ":\r\n",
                     // over a limit: bulk length, count, depth, line
                     "$9\r\n123456789\r\n", "*1\r\n$9\r\n123456789\r\n", "*4\r\n:1\r\n:1\r\n:1\r\n:1\r\n", "*1\r\n*1\r\n*1\r\n:1\r\n", "+01234567890\r\n"]
        for text in other {
            #expect(Array(text.utf8).withUnsafeBytes { decoder.plainFrameLength($0) } == nil, "\(text.debugDescription)")
        }
    }
}
