/// Several arguments of a command already written as RESP bulk strings,
/// for a caller that sends many arguments per command: each is written
/// once, straight from its bytes, instead of becoming a ``RESPBulk`` (and
/// often a `String` first) that the encoder copies again.
///
/// ```swift
/// var writer = RESPArgumentWriter(capacity: 128)
/// writer.append("lockd:{", nameBytes, "}:lease")
/// writer.append(30_000)
/// let command: [RESPBulk] = ["EVALSHA", .string(sha), 1, .encoded(writer.finish())]
/// ```
public struct RESPEncodedArguments: Sendable, Hashable {
    /// How many bulk strings `bytes` holds.
    public let count: Int
    /// `$length\r\nbytes\r\n` for each argument, back to back.
    public let bytes: [UInt8]

    @usableFromInline
    init(count: Int, bytes: [UInt8]) {
        self.count = count
        self.bytes = bytes
    }

    /// The first argument's bytes (to route a command by its key), nil when there is none.
    public var first: ArraySlice<UInt8>? {
        // Written by `RESPArgumentWriter`: `$length\r\n`, then the bytes.
        guard count > 0, let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
        let length = bytes[1..<lineEnd].reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) }
        return bytes[(lineEnd + 2)..<(lineEnd + 2 + length)]
    }
}

/// Writes bulk strings one after another into one buffer, for
/// ``RESPEncodedArguments``.
///
/// The buffer is sized once from the capacity given (more is added should
/// the arguments need it); each argument is then written through a pointer,
/// its length, text and CRLFs without a check per byte.
public struct RESPArgumentWriter {
    /// The most bytes an argument adds besides its text: `$`, up to 11
    /// digits of length, two CRLFs. (An integer's text is at most 20 bytes.)
    public static let overhead = 16

    /// Zero-filled beyond `used` bytes, so a write needs no append.
    @usableFromInline var storage: [UInt8]
    @usableFromInline var used = 0
    @usableFromInline var arguments = 0
    /// How many arguments were written.
    public var count: Int { arguments }

    /// A writer with room for `capacity` bytes before it must grow.
    @inlinable
    public init(capacity: Int) {
        storage = [UInt8](repeating: 0, count: capacity)
    }

    /// The arguments written; the writer is not to be used after.
    @inlinable
    public mutating func finish() -> RESPEncodedArguments {
        storage.removeLast(storage.count - used)
        return RESPEncodedArguments(count: count, bytes: storage)
    }

    /// Appends text as its UTF-8 bytes.
    @inlinable
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a literal.
    @inlinable
    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends raw bytes.
    @inlinable
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        write(length: bytes.count) { position in
            Self.copy(bytes, to: &position)
        }
    }

    /// Appends an integer as its decimal text.
    @inlinable
    public mutating func append(_ value: Int64) {
        write(length: Self.decimalLength(value)) { position in
            Self.decimal(value, to: &position)
        }
    }

    /// Appends one argument made of `prefix`, `middle` and `suffix` joined,
    /// such as a key `lockd:{` + name + `}:lease`, without building it first.
    @inlinable
    public mutating func append(_ prefix: StaticString, _ middle: UnsafeRawBufferPointer, _ suffix: StaticString) {
        write(length: prefix.utf8CodeUnitCount + middle.count + suffix.utf8CodeUnitCount) { position in
            Self.copy(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), to: &position)
            Self.copy(middle, to: &position)
            Self.copy(UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount), to: &position)
        }
    }

    /// Writes `$length\r\n`, then `length` bytes through `body`, then `\r\n`.
    @inlinable
    mutating func write(length: Int, _ body: (inout UnsafeMutablePointer<UInt8>) -> Void) {
        let needed = length + Self.overhead
        if storage.count - used < needed {
            storage.append(contentsOf: repeatElement(0, count: max(needed, storage.count)))
        }
        arguments += 1
        let offset = used
        used = storage.withUnsafeMutableBufferPointer { buffer -> Int in
            guard let start = buffer.baseAddress else { return offset }  // never: `needed` bytes are there
            var position = start + offset
            position.pointee = UInt8(ascii: "$")
            position += 1
            Self.decimal(Int64(length), to: &position)
            Self.crlf(&position)
            let bodyStart = position
            body(&position)
            precondition(position - bodyStart == length, "a RESP argument written with another length than announced")
            Self.crlf(&position)
            return position - start
        }
    }

    /// Copies `bytes` to `position` and moves it past them. A run of 4 to
    /// 32 bytes (a name, a key's name part, a token) is copied inline, as
    /// words loaded first and stored after, the first and last of them
    /// overlapping as the length needs: `copyMemory` called `memmove` for
    /// each (~20 instructions a call, ten or more a script call). A
    /// literal's copy folds to its stores wherever this is inlined.
    @inlinable @inline(__always)
    static func copy(_ bytes: UnsafeRawBufferPointer, to position: inout UnsafeMutablePointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let count = bytes.count
        let target = UnsafeMutableRawPointer(position)
        if count >= 8, count <= 32 {
            // Every load lies within `bytes` (each at 0...count - 8), every store within its copy.
            let first = source.loadUnaligned(as: UInt64.self)
            let last = source.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            if count > 16 {
                let second = source.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let secondLast = source.loadUnaligned(fromByteOffset: count &- 16, as: UInt64.self)
                target.storeBytes(of: second, toByteOffset: 8, as: UInt64.self)
                target.storeBytes(of: secondLast, toByteOffset: count &- 16, as: UInt64.self)
            }
            target.storeBytes(of: first, as: UInt64.self)
            target.storeBytes(of: last, toByteOffset: count &- 8, as: UInt64.self)
        } else if count >= 4, count < 8 {
            let first = source.loadUnaligned(as: UInt32.self)
            let last = source.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
            target.storeBytes(of: first, as: UInt32.self)
            target.storeBytes(of: last, toByteOffset: count &- 4, as: UInt32.self)
        } else {
            target.copyMemory(from: source, byteCount: count)
        }
        position += count
    }

    @inlinable
    static func crlf(_ position: inout UnsafeMutablePointer<UInt8>) {
        position[0] = UInt8(ascii: "\r")
        position[1] = UInt8(ascii: "\n")
        position += 2
    }

    /// How many bytes `value`'s decimal text takes. Lengths and most
    /// integer arguments are below 100: that test is inlined where it is
    /// asked (a call of the whole function cost ~30 instructions, ~15 calls
    /// a lock request), the rest is ``decimalLengthOfLarge(_:)``.
    @inlinable @inline(__always)
    static func decimalLength(_ value: Int64) -> Int {
        if UInt64(bitPattern: value) < 10 { return 1 }
        if UInt64(bitPattern: value) < 100 { return 2 }
        return decimalLengthOfLarge(value)
    }

    /// ``decimalLength(_:)`` for values not in 0..<100: four digits a
    /// step while more than four are left, then one.
    @usableFromInline @inline(never)
    static func decimalLengthOfLarge(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10_000 {
            magnitude /= 10_000
            length += 4
        }
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    /// Writes `value`'s decimal digits. One or two digits (every length
    /// of a key, most integers) are written inline: a byte's division by 10
    /// is a multiply and a shift; the general path, ``decimalOfLarge(_:to:)``,
    /// counts the width first, then divides 64-bit values (~40 instructions
    /// more, and a call of the whole function ~30 instructions besides:
    /// ~0.9 k a lock cycle's 37 lengths and counts).
    @inlinable @inline(__always)
    static func decimal(_ value: Int64, to position: inout UnsafeMutablePointer<UInt8>) {
        if UInt64(bitPattern: value) < 10 {
            position.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            position += 1
        } else if UInt64(bitPattern: value) < 100 {
            let tens = UInt8(truncatingIfNeeded: value) / 10
            position[0] = UInt8(ascii: "0") &+ tens
            position[1] = UInt8(ascii: "0") &+ (UInt8(truncatingIfNeeded: value) &- tens &* 10)
            position += 2
        } else {
            decimalOfLarge(value, to: &position)
        }
    }

    /// ``decimal(_:to:)`` for values not in 0..<100: backwards from the
    /// end of their width, two digits a division (a lock call's TTL, window
    /// and retention: ~100 instructions each a digit a division).
    @usableFromInline @inline(never)
    static func decimalOfLarge(_ value: Int64, to position: inout UnsafeMutablePointer<UInt8>) {
        decimalOfLarge(value, width: decimalLengthOfLarge(value), to: &position)
    }

    /// ``decimalOfLarge(_:to:)`` with its width, `decimalLengthOfLarge(value)`, known.
    @usableFromInline
    static func decimalOfLarge(_ value: Int64, width: Int, to position: inout UnsafeMutablePointer<UInt8>) {
        let pairs: StaticString = """
            00010203040506070809101112131415161718192021222324252627282930313233343536373839\
            40414243444546474849505152535455565758596061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899
            """
        let table = pairs.utf8Start
        if value < 0 { position.pointee = UInt8(ascii: "-") }
        var magnitude = value.magnitude
        var digit = position + width
        while magnitude >= 100 {
            let quotient = magnitude / 100
            let pair = Int(truncatingIfNeeded: magnitude &- quotient &* 100) &* 2
            digit -= 2
            digit[0] = table[pair]
            digit[1] = table[pair + 1]
            magnitude = quotient
        }
        if magnitude >= 10 {
            let pair = Int(truncatingIfNeeded: magnitude) &* 2
            digit -= 2
            digit[0] = table[pair]
            digit[1] = table[pair + 1]
        } else {
            digit -= 1
            digit.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude)
        }
        position += width
    }
}

extension RESPArgumentWriter {
    /// The arguments `body` writes through a cursor into one buffer of
    /// `capacity` bytes: each argument is then a few stores through a
    /// pointer, with no capacity, uniqueness or exclusivity check of the
    /// buffer per argument (an acquire's 20 arguments through ``append(_:)-swift.method``
    /// cost ~4 k instructions).
    ///
    /// `capacity` must hold every argument `body` writes: the sum of their
    /// texts, ``overhead`` per argument and ``integerRoom`` per integer
    /// always does. A cursor that runs out of room stops the process (a
    /// caller's miscount, never a matter of input).
    ///
    /// Written in temporary memory (the stack, for any usual call), then
    /// copied into an array of the length written: an array made to be
    /// written in (`Array(repeating:count:)`, `unsafeUninitializedCapacity`)
    /// goes through the standard library's unspecialized allocation, which
    /// looks the array's type up at run time (~0.35 k instructions a call);
    /// an array copied from a buffer is allocated by specialized code.
    @inlinable
    public static func write(capacity: Int, _ body: (inout RESPArgumentCursor) -> Void) -> RESPEncodedArguments {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { buffer in
            guard let start = buffer.baseAddress else { return RESPEncodedArguments(count: 0, bytes: []) }  // never: capacity ≥ 1
            var cursor = RESPArgumentCursor(start: start, capacity: capacity)
            body(&cursor)
            return RESPEncodedArguments(count: cursor.count, bytes: Array(UnsafeBufferPointer(start: start, count: cursor.position - start)))
        }
    }

    /// The most bytes an integer's text takes (`Int64.min`).
    public static let integerRoom = 20
}

/// Where ``RESPArgumentWriter/write(capacity:_:)`` writes the next argument:
/// a pointer into a buffer sized beforehand.
public struct RESPArgumentCursor: ~Copyable {
    @usableFromInline var position: UnsafeMutablePointer<UInt8>
    @usableFromInline let end: UnsafeMutablePointer<UInt8>
    @usableFromInline var written = 0
    /// How many arguments were written.
    @inlinable public var count: Int { written }

    @inlinable
    init(start: UnsafeMutablePointer<UInt8>, capacity: Int) {
        position = start
        end = start + capacity
    }

    @inlinable
    init(position: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>, written: Int) {
        self.position = position
        self.end = end
        self.written = written
    }

    /// Appends raw bytes.
    @inlinable @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        begin(length: bytes.count)
        RESPArgumentWriter.copy(bytes, to: &position)
        RESPArgumentWriter.crlf(&position)
    }

    /// Appends text as its UTF-8 bytes.
    @inlinable @inline(__always)
    public mutating func append(_ text: String) {
        // Borrowed where it lies (native and small strings), not copied
        // into a `var` first as `withUTF8` needs.
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if done == nil {
            var text = text
            text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Appends a literal.
    @inlinable @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends an integer as its decimal text (a width of three or more
    /// digits counted once, for the length and the digits).
    @inlinable @inline(__always)
    public mutating func append(_ value: Int64) {
        if UInt64(bitPattern: value) < 100 {
            begin(length: RESPArgumentWriter.decimalLength(value))
            RESPArgumentWriter.decimal(value, to: &position)
        } else {
            let width = RESPArgumentWriter.decimalLengthOfLarge(value)
            begin(length: width)
            RESPArgumentWriter.decimalOfLarge(value, width: width, to: &position)
        }
        RESPArgumentWriter.crlf(&position)
    }

    /// Appends arguments written beforehand, each as it was written.
    @inlinable
    public mutating func append(encoded run: RESPEncodedArguments) {
        precondition(end - position >= run.bytes.count, "RESP arguments written beyond the room reserved for them")
        run.bytes.withUnsafeBytes { RESPArgumentWriter.copy($0, to: &position) }
        written += run.count
    }

    /// Appends one argument made of `prefix`, `middle` and `suffix` joined,
    /// such as a key `lockd:{` + name + `}:lease`, without building it first.
    @inlinable @inline(__always)
    public mutating func append(_ prefix: StaticString, _ middle: UnsafeRawBufferPointer, _ suffix: StaticString) {
        begin(length: prefix.utf8CodeUnitCount &+ middle.count &+ suffix.utf8CodeUnitCount)
        RESPArgumentWriter.copy(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), to: &position)
        RESPArgumentWriter.copy(middle, to: &position)
        RESPArgumentWriter.copy(UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount), to: &position)
        RESPArgumentWriter.crlf(&position)
    }

    /// Writes `$length\r\n` once sure that the argument fits.
    // The sums wrap rather than trap: a length is a buffer's count (or a
    // few literals' and one buffer's), far below `Int.max` less the
    // overhead, and `written` counts arguments — no sum can overflow. Their
    // checks cost ~5 instructions an argument (~20 a script call).
    @inlinable @inline(__always)
    mutating func begin(length: Int) {
        precondition(end - position >= length &+ RESPArgumentWriter.overhead, "RESP arguments written beyond the room reserved for them")
        written &+= 1
        position.pointee = UInt8(ascii: "$")
        position += 1
        RESPArgumentWriter.decimal(Int64(length), to: &position)
        RESPArgumentWriter.crlf(&position)
    }
}
