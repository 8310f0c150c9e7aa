/// A run of 4 to 32 bytes — a lock's name, most often — read once into
/// registers, for arguments that repeat it between literals (a name's
/// keys, `lockd:{` + name + `}:lease` and five more).
///
/// ``RESPArgumentCursor/append(_:_:_:)-(_,RESPRepeatedBytes,_)`` then
/// writes each such argument as a few stores: the run's bytes are not
/// loaded again per argument (a store through the cursor may alias them, so
/// the compiler reloaded them for each), nor is its length checked again.
///
/// ```swift
/// if let name = RESPRepeatedBytes(nameBytes) {
///     cursor.append("lockd:{", name, "}:lease")
///     cursor.append("lockd:{", name, "}:fence")
/// }
/// ```
public struct RESPRepeatedBytes {
    /// How many bytes the run has (4...32).
    public let count: Int
    // The run's first and last 8 bytes (4 under 8 bytes, zero-extended),
    // and, over 16, the 8 after the first and the 8 before the last — each
    // within the run; stored back as loaded, overlapping as its length needs.
    @usableFromInline let first: UInt64
    @usableFromInline let second: UInt64
    @usableFromInline let secondLast: UInt64
    @usableFromInline let last: UInt64

    /// The run of `bytes`, nil unless it has 4 to 32 bytes (the caller
    /// then writes them as they lie).
    @inlinable @inline(__always)
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return nil }
        let count = bytes.count
        if count >= 8, count <= 32 {
            // Every load lies within `bytes` (each at 0...count - 8).
            first = source.loadUnaligned(as: UInt64.self)
            last = source.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            if count > 16 {
                second = source.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                secondLast = source.loadUnaligned(fromByteOffset: count &- 16, as: UInt64.self)
            } else {
                second = 0
                secondLast = 0
            }
        } else if count >= 4, count < 8 {
            first = UInt64(source.loadUnaligned(as: UInt32.self))
            last = UInt64(source.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self))
            second = 0
            secondLast = 0
        } else {
            return nil
        }
        self.count = count
    }

    /// Writes the run at `position` and moves it past: every store lies
    /// within the run's `count` bytes there.
    @inlinable @inline(__always)
    func store(to position: inout UnsafeMutablePointer<UInt8>) {
        let target = UnsafeMutableRawPointer(position)
        if count >= 8 {
            if count > 16 {
                target.storeBytes(of: second, toByteOffset: 8, as: UInt64.self)
                target.storeBytes(of: secondLast, toByteOffset: count &- 16, as: UInt64.self)
            }
            target.storeBytes(of: first, as: UInt64.self)
            target.storeBytes(of: last, toByteOffset: count &- 8, as: UInt64.self)
        } else {
            target.storeBytes(of: UInt32(truncatingIfNeeded: first), as: UInt32.self)
            target.storeBytes(of: UInt32(truncatingIfNeeded: last), toByteOffset: count &- 4, as: UInt32.self)
        }
        position += count
    }
}

extension RESPArgumentCursor {
    /// Appends one argument made of `prefix`, `middle` and `suffix` joined,
    /// as ``append(_:_:_:)-(_,UnsafeRawBufferPointer,_)`` does, from a run
    /// read once for several arguments. `prefix` and `suffix` together
    /// must have 6 to 67 bytes (a key's literals do): the argument's length
    /// then always has two digits, written with its head in one pass.
    @inlinable @inline(__always)
    public mutating func append(_ prefix: StaticString, _ middle: RESPRepeatedBytes, _ suffix: StaticString) {
        // Decided where this is inlined, from the literals alone.
        let literals = prefix.utf8CodeUnitCount &+ suffix.utf8CodeUnitCount
        precondition(literals >= 6 && literals <= 67, "a repeated run's literals must make a two-digit length")
        // 10...99: the run has 4...32 bytes.
        let length = literals &+ middle.count
        precondition(end - position >= length &+ RESPArgumentWriter.overhead, "RESP arguments written beyond the room reserved for them")
        written &+= 1
        var next = position
        let tens = UInt8(truncatingIfNeeded: length) / 10
        next[0] = UInt8(ascii: "$")
        next[1] = UInt8(ascii: "0") &+ tens
        next[2] = UInt8(ascii: "0") &+ (UInt8(truncatingIfNeeded: length) &- tens &* 10)
        next[3] = UInt8(ascii: "\r")
        next[4] = UInt8(ascii: "\n")
        next += 5
        RESPArgumentWriter.copy(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), to: &next)
        middle.store(to: &next)
        RESPArgumentWriter.copy(UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount), to: &next)
        RESPArgumentWriter.crlf(&next)
        position = next
    }

    /// Runs `body` with a copy of this cursor made where `body` is inlined,
    /// then continues from where the copy ended: for several arguments
    /// written at once. Through the cursor itself, each argument's stores
    /// might overwrite the cursor (the compiler cannot tell they do not),
    /// so its position and end went back to memory and were read again for
    /// each; a copy no one else can reach stays in registers.
    @inlinable @inline(__always)
    public mutating func batch<Result>(_ body: (inout RESPArgumentCursor) -> Result) -> Result {
        var copy = RESPArgumentCursor(position: position, end: end, written: written)
        let result = body(&copy)
        position = copy.position
        written = copy.written
        return result
    }
}
