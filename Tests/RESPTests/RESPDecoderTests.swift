import Testing

@testable import RESP

@Suite struct RESPDecoderTests {
    /// One wire sample of every RESP2 and RESP3 type, with what it decodes to.
    static let samples: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        (":0\r\n", .integer(0)),
        (":-9223372036854775808\r\n", .integer(.min)),
        (":9223372036854775807\r\n", .integer(.max)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n", .array([.integer(1), .bulkString([120]), .array([.simpleString("y")])])),
        ("%2\r\n+a\r\n:1\r\n+b\r\n#f\r\n", .map([RESPPair(key: .simpleString("a"), value: .integer(1)), RESPPair(key: .simpleString("b"), value: .boolean(false))])),
        ("~2\r\n+a\r\n+b\r\n", .set([.simpleString("a"), .simpleString("b")])),
        (",3.25\r\n", .double(3.25)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
        (">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", .push([.simpleString("message"), .simpleString("ch"), .bulkString(Array("hi".utf8))])),
        ("|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", .attributed([RESPPair(key: .simpleString("ttl"), value: .integer(3))], .bulkString([118]))),
    ]

    @Test(arguments: samples.indices)
    func decodesEveryTypeAndReportsItsLength(index: Int) throws {
        let (wire, expected) = Self.samples[index]
        let bytes = Array(wire.utf8)
        let decoded = try #require(try RESPDecoder().decode(bytes))
        #expect(decoded.value == expected)
        #expect(decoded.consumed == bytes.count)
    }

    @Test(arguments: samples.indices)
    func everySplitPointNeedsMoreThenDecodes(index: Int) throws {
        let bytes = Array(Self.samples[index].wire.utf8)
        for split in 0..<bytes.count {
            #expect(try RESPDecoder().decode(Array(bytes[..<split])) == nil, "prefix of \(split) bytes")
        }
        // A frame followed by the start of the next one stops at its own end.
        let decoded = try #require(try RESPDecoder().decode(bytes + Array("+NEXT".utf8)))
        #expect(decoded.consumed == bytes.count)
    }

    @Test func aPipelineOfRepliesDecodesOneAfterAnother() throws {
        let wire = Self.samples.map(\.wire).joined()
        var bytes = Array(wire.utf8)
        var values: [RESPValue] = []
        while let (value, consumed) = try RESPDecoder().decode(bytes) {
            values.append(value)
            bytes.removeFirst(consumed)
        }
        #expect(bytes.isEmpty)
        #expect(values == Self.samples.map(\.value))
    }

    @Test func nanDecodes() throws {
        let decoded = try #require(try RESPDecoder().decode(Array(",nan\r\n".utf8)))
        #expect(decoded.value.double?.isNaN == true)
    }

    @Test(arguments: [
        "*1\r\n", "%1\r\n", "~1\r\n", ">1\r\n", "|1\r\n",
    ])
    func nestingBeyondTheLimitFailsWithoutRecursingFurther(opener: String) {
        let hostile = Array(String(repeating: opener, count: 1_000).utf8) + Array(":1\r\n".utf8)
        #expect(throws: RESPProtocolError.self) { try RESPDecoder().decode(hostile) }
    }

    @Test(arguments: [
        "$2147483648\r\n",  // longer than the bulk limit: fail before waiting for 2 GiB
        "*2147483648\r\n",
        "%2147483648\r\n",
        "$99999999999999999999999\r\n",
        "*-5\r\n",
        "$-2\r\n",
        "%-1\r\n",
        "$abc\r\n",
        "$\r\n",
        "*1x\r\n",
        "$ 3\r\nabc\r\n",
        "$3\r\nabcXY",  // bulk without its CRLF
        "+OK\rX",  // CR without LF
        "+OK\n",  // LF without CR
        ":12a\r\n",
        ":\r\n",
        ":99999999999999999999\r\n",
        ":-9223372036854775809\r\n",
        "#x\r\n",
        ",pi\r\n",
        "(12a\r\n",
        "_x\r\n",
        "=3\r\nabc\r\n",  // verbatim without format
        "?what\r\n",
        "\r\n",
    ])
    func hostileFramesAreProtocolErrors(frame: String) {
        #expect(throws: RESPProtocolError.self) { try RESPDecoder().decode(Array(frame.utf8)) }
    }

    @Test func aHugeDeclaredArrayDoesNotReserveItsDeclaredSize() throws {
        // Within limits, but the buffer holds one element: decoding waits for more
        // bytes instead of allocating a million slots up front.
        let frame = Array("*1000000\r\n:1\r\n".utf8)
        #expect(try RESPDecoder().decode(frame) == nil)
    }

    @Test func anEndlessLineFailsAtTheLineLimit() throws {
        let decoder = RESPDecoder(limits: RESPLimits(maxLineLength: 16))
        let frame = Array(("+" + String(repeating: "a", count: 17)).utf8)
        #expect(throws: RESPProtocolError.self) { try decoder.decode(frame) }
        #expect(try decoder.decode(Array("+aaaa".utf8)) == nil)
    }

    @Test func accessorsReadTheUsualShapes() {
        #expect(RESPValue.bulkString(Array("42".utf8)).int == 42)
        #expect(RESPValue.integer(7).int == 7)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.integer(1).bool == true)
        #expect(RESPValue.error("NOSCRIPT x").errorMessage == "NOSCRIPT x")
        #expect(RESPValue.attributed([], .integer(3)).int == 3)
        #expect(RESPValue.array([.integer(1), .integer(2)]).pairs?.first?.value == .integer(2))
        #expect(RESPValue.map([RESPPair(key: .integer(1), value: .integer(2))]).array == [.integer(1), .integer(2)])
    }
}
