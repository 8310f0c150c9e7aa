/// Encodes commands (and, for tests and tools, any value) as RESP bytes.
///
/// ```swift
/// var buffer: [UInt8] = []
/// RESPEncoder.encodeCommand(["SET", "k", "v"], into: &buffer)
/// // "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
/// ```
public enum RESPEncoder {
    /// Appends `arguments` as one array of bulk strings, the only form Redis
    /// accepts from clients that cannot be confused by a payload's bytes.
    ///
    /// Takes an array rather than any collection: a generic here would not be
    /// specialized across modules, and this runs once per command. Sizes the
    /// whole command first and writes it through one pointer: appending it
    /// piece by piece (each append checking uniqueness and capacity) cost
    /// ~3.5 k instructions for a lock script's 19 arguments.
    public static func encodeCommand(_ arguments: [RESPBulk], into buffer: inout [UInt8]) {
        let (length, elements) = commandLength(arguments)
        // Written in scratch space, then appended in one copy: making room
        // with `append(contentsOf: repeatElement(0, …))` stores the zeros a
        // byte at a time (~1 instruction a byte, ~300 a script call).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { scratch in
            guard let base = scratch.baseAddress else { return }  // never: `length` is at least 4
            writeCommand(arguments, elements: elements, length: length, at: base)
            buffer.append(contentsOf: UnsafeBufferPointer(scratch))
        }
    }

    /// `encodeCommand(_:into:)` of an array, written straight into the
    /// bytes to send.
    public static func encodeCommand(_ arguments: [RESPBulk], into bytes: inout RESPCommandBytes) {
        let (length, elements) = commandLength(arguments)
        bytes.append(room: length) { base in
            writeCommand(arguments, elements: elements, length: length, at: base)
            return length
        }
    }

    /// The bytes and elements of `arguments` as one command.
    private static func commandLength(_ arguments: [RESPBulk]) -> (length: Int, elements: Int) {
        var length = 0
        var elements = 0
        for argument in arguments {
            if case .encoded(let run) = argument {
                length += run.bytes.count
                elements += run.count
            } else {
                let count = argument.encodedCount
                length += 1 + decimalLength(Int64(count)) + 2 + count + 2
                elements += 1
            }
        }
        length += 1 + decimalLength(Int64(elements)) + 2
        return (length, elements)
    }

    /// Writes `arguments` as one command of `elements` elements, `length`
    /// bytes (``commandLength(_:)``), at `base`.
    private static func writeCommand(_ arguments: [RESPBulk], elements: Int, length: Int, at base: UnsafeMutablePointer<UInt8>) {
        var writer = Writer(base: base)
        writer.header(UInt8(ascii: "*"), elements)
        for argument in arguments {
            switch argument {
            case .string(var text):
                text.withUTF8 { writer.bulk(UnsafeRawBufferPointer($0)) }
            case .bytes(let bytes):
                bytes.withUnsafeBytes { writer.bulk($0) }
            case .integer(let value):
                writer.header(UInt8(ascii: "$"), decimalLength(value))
                writer.decimal(value)
                writer.crlf()
            case .encoded(let run):
                run.bytes.withUnsafeBytes { writer.copy($0) }
            }
        }
        assert(writer.base == base + length, "RESP command sized wrongly")
    }

    /// Appends a command made of `head` (arguments written beforehand, such
    /// as `EVALSHA sha`), the integer `number` (a key count) and `tail` (a
    /// call's keys and arguments): a script call written with no
    /// ``RESPBulk`` array to build and free.
    public static func encodeCommand(
        _ head: RESPEncodedArguments, _ number: Int64, _ tail: RESPEncodedArguments, into buffer: inout [UInt8]
    ) {
        // One way to put a script call together: the tail, copied, is
        // written in place (an exact room, so no byte to spare).
        encodeCommand(head, number, tailRoom: tail.bytes.count, into: &buffer) { $0.append(encoded: tail) }
    }

    /// ``encodeCommand(_:_:_:into:)`` with the tail written by `writeTail`
    /// (at most `tailRoom` bytes, as ``RESPArgumentWriter/write(capacity:_:)``
    /// takes them) where the command is put together, then appended to
    /// `buffer` with the rest in one copy: a script call's keys and
    /// arguments need no buffer of their own, made, copied and freed per call.
    public static func encodeCommand(
        _ head: RESPEncodedArguments, _ number: Int64, tailRoom: Int, into buffer: inout [UInt8],
        writingTail writeTail: (inout RESPArgumentCursor) -> Void
    ) {
        let numberBytes = numberBytes(number)
        let room = scriptCommandRoom(head, numberBytes: numberBytes, tailRoom: tailRoom)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { scratch in
            guard let base = scratch.baseAddress else { return }  // never: the room is at least 27
            let length = writeScriptCommand(head, number, numberBytes: numberBytes, tailRoom: tailRoom, at: base, writingTail: writeTail)
            buffer.append(contentsOf: UnsafeBufferPointer(start: base, count: length))
        }
    }

    /// `encodeCommand(_:_:tailRoom:into:writingTail:)` of an array, written
    /// straight into the bytes to send: no scratch space, no copy.
    public static func encodeCommand(
        _ head: RESPEncodedArguments, _ number: Int64, tailRoom: Int, into bytes: inout RESPCommandBytes,
        writingTail writeTail: (inout RESPArgumentCursor) -> Void
    ) {
        let numberBytes = numberBytes(number)
        bytes.append(room: scriptCommandRoom(head, numberBytes: numberBytes, tailRoom: tailRoom)) { base in
            writeScriptCommand(head, number, numberBytes: numberBytes, tailRoom: tailRoom, at: base, writingTail: writeTail)
        }
    }

    /// The most bytes ``writeScriptCommand(_:_:numberBytes:tailRoom:at:writingTail:)``
    /// writes, the number taking `numberBytes` (``numberBytes(_:)``).
    // (Here and in ``writeScriptCommand(_:_:numberBytes:tailRoom:at:writingTail:)``
    // sums wrap rather than trap: each term is a count of bytes that lie in
    // memory (a buffer's, a room reserved for one) or a few dozen at most,
    // so no sum nears `Int.max`; their overflow checks were ~20
    // instructions a script call.)
    @inline(__always)
    private static func scriptCommandRoom(_ head: RESPEncodedArguments, numberBytes: Int, tailRoom: Int) -> Int {
        // `*`, up to 20 digits and CRLF, then the head, the number and the tail.
        23 &+ head.bytes.count &+ numberBytes &+ max(tailRoom, 0)
    }

    /// The bytes of `number` as a bulk string.
    @inline(__always)
    private static func numberBytes(_ number: Int64) -> Int {
        let numberLength = decimalLength(number)
        return 5 &+ decimalLength(Int64(numberLength)) &+ numberLength
    }

    /// Writes a script call at `base` (``scriptCommandRoom(_:numberBytes:tailRoom:)``
    /// bytes free; `numberBytes` is ``numberBytes(_:)`` of `number`) and
    /// returns its length.
    ///
    /// The tail is written first, since it decides the element count the
    /// command starts with: where the command's first line leaves it for an
    /// element count of two digits (a lock call's 13 to 23), so that the
    /// usual command is written once, in its place. For another count of
    /// digits the tail moves up (100 or more elements) or the whole command
    /// down (fewer than 10) by the difference.
    private static func writeScriptCommand(
        _ head: RESPEncodedArguments, _ number: Int64, numberBytes: Int, tailRoom: Int, at base: UnsafeMutablePointer<UInt8>,
        writingTail writeTail: (inout RESPArgumentCursor) -> Void
    ) -> Int {
        // The head's arguments and the number.
        let fixed = head.bytes.count &+ numberBytes
        let expected = 5 &+ fixed  // `*NN\r\n`, then `fixed` bytes
        var cursor = RESPArgumentCursor(start: base + expected, capacity: max(tailRoom, 0))
        writeTail(&cursor)
        let tailLength = cursor.position - (base + expected)
        let elements = head.count &+ 1 &+ cursor.count
        let prefix = 3 &+ decimalLength(Int64(elements)) &+ fixed
        if prefix > expected {
            // Within the room: it holds 20 digits of count.
            UnsafeMutableRawPointer(base + prefix).copyMemory(from: base + expected, byteCount: tailLength)
        }
        let start = base + max(prefix, expected) - prefix
        var writer = Writer(base: start)
        writer.header(UInt8(ascii: "*"), elements)
        head.bytes.withUnsafeBytes { writer.copy($0) }
        writer.header(UInt8(ascii: "$"), decimalLength(number))
        writer.decimal(number)
        writer.crlf()
        precondition(writer.base == base + max(prefix, expected), "RESP command head sized wrongly")
        if start != base {
            UnsafeMutableRawPointer(base).copyMemory(from: start, byteCount: prefix &+ tailLength)
        }
        return prefix &+ tailLength
    }

    /// Writes into space already sized for what it writes.
    private struct Writer {
        var base: UnsafeMutablePointer<UInt8>

        mutating func byte(_ value: UInt8) {
            base.pointee = value
            base += 1
        }

        mutating func crlf() {
            byte(UInt8(ascii: "\r"))
            byte(UInt8(ascii: "\n"))
        }

        // Inlined: called, it cost ~25 instructions a script call for a
        // few stores.
        @inline(__always)
        mutating func header(_ type: UInt8, _ count: Int) {
            byte(type)
            decimal(Int64(count))
            crlf()
        }

        mutating func bulk(_ bytes: UnsafeRawBufferPointer) {
            header(UInt8(ascii: "$"), bytes.count)
            copy(bytes)
            crlf()
        }

        mutating func copy(_ bytes: UnsafeRawBufferPointer) {
            if let source = bytes.baseAddress { base.update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
            base += bytes.count
        }

        mutating func decimal(_ value: Int64) {
            RESPArgumentWriter.decimal(value, to: &base)
        }
    }

    /// Appends `value` in RESP3 form (RESP2 for types RESP2 has).
    public static func encode(_ value: RESPValue, into buffer: inout [UInt8]) {
        switch value {
        case .simpleString(let text): line(UInt8(ascii: "+"), text, into: &buffer)
        case .error(let text): line(UInt8(ascii: "-"), text, into: &buffer)
        case .integer(let number):
            buffer.append(UInt8(ascii: ":"))
            decimal(number, into: &buffer)
            crlf(&buffer)
        case .bulkString(let bytes): bytes.withUnsafeBytes { bulk($0, into: &buffer) }
        case .null: line(UInt8(ascii: "_"), "", into: &buffer)
        case .array(let values): aggregate(UInt8(ascii: "*"), values, into: &buffer)
        case .set(let values): aggregate(UInt8(ascii: "~"), values, into: &buffer)
        case .push(let values): aggregate(UInt8(ascii: ">"), values, into: &buffer)
        case .map(let pairs): encodePairs(UInt8(ascii: "%"), pairs, into: &buffer)
        case .attributed(let pairs, let value):
            encodePairs(UInt8(ascii: "|"), pairs, into: &buffer)
            encode(value, into: &buffer)
        case .double(let number):
            let text = number.isNaN ? "nan" : number == .infinity ? "inf" : number == -.infinity ? "-inf" : "\(number)"
            line(UInt8(ascii: ","), text, into: &buffer)
        case .boolean(let flag): line(UInt8(ascii: "#"), flag ? "t" : "f", into: &buffer)
        case .bigNumber(let digits): line(UInt8(ascii: "("), digits, into: &buffer)
        case .verbatimString(let format, let text):
            header(UInt8(ascii: "="), format.utf8.count + 1 + text.count, into: &buffer)
            buffer.append(contentsOf: format.utf8)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(contentsOf: text)
            crlf(&buffer)
        }
    }

    private static func aggregate(_ type: UInt8, _ values: [RESPValue], into buffer: inout [UInt8]) {
        header(type, values.count, into: &buffer)
        for value in values { encode(value, into: &buffer) }
    }

    private static func encodePairs(_ type: UInt8, _ pairs: [RESPPair], into buffer: inout [UInt8]) {
        header(type, pairs.count, into: &buffer)
        for pair in pairs {
            encode(pair.key, into: &buffer)
            encode(pair.value, into: &buffer)
        }
    }

    private static func bulk(_ bytes: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        header(UInt8(ascii: "$"), bytes.count, into: &buffer)
        buffer.append(contentsOf: bytes)
        crlf(&buffer)
    }

    private static func line(_ type: UInt8, _ text: String, into buffer: inout [UInt8]) {
        buffer.append(type)
        buffer.append(contentsOf: text.utf8)
        crlf(&buffer)
    }

    private static func header(_ type: UInt8, _ count: Int, into buffer: inout [UInt8]) {
        buffer.append(type)
        decimal(Int64(count), into: &buffer)
        crlf(&buffer)
    }

    private static func crlf(_ buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    fileprivate static func decimalLength(_ value: Int64) -> Int {
        RESPArgumentWriter.decimalLength(value)
    }

    /// Decimal digits without going through `String`, which allocates:
    /// written backwards into stack space, then appended in one piece.
    private static func decimal(_ value: Int64, into buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var start = scratch.count
            while magnitude > 0 {
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }
}

extension RESPBulk {
    /// How many bytes the argument's bulk string holds.
    fileprivate var encodedCount: Int {
        switch self {
        case .string(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        case .integer(let value): RESPEncoder.decimalLength(value)
        case .encoded(let run): run.bytes.count  // several bulk strings: `encodeCommand` copies them whole
        }
    }
}
