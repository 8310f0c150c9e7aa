import CZlib

/// Compresses a whole body into one gzip member (RFC 1952) with the system's
/// zlib, in one `deflate` call.
///
/// zlib's window and hash table are sized to the input the way nginx's gzip
/// filter sizes them: a 9 KB body gets a 16 KB window and ~128 KB of state
/// instead of the 256 KB a full window takes, which is also less memory for
/// zlib to clear.
///
/// ```swift
/// let compressor = GzipCompressor(level: 1)
/// if let gzip = compressor.compress(body), gzip.count < body.count { … }
/// ```
public struct GzipCompressor: Sendable {
    /// zlib's compression level, 1 (fastest) to 9 (smallest).
    public let level: Int32

    /// The level for bodies compressed on every request, nginx's default
    /// too: on `/metrics` and a 100-lock page it sends 10–20% more bytes than
    /// level 6 in a third to two thirds of the time (benchmarks/gzip), and
    /// the event loop is busy for that time.
    public static let defaultLevel: Int32 = 1

    /// Creates a compressor.
    /// - Parameter level: 1…9; values outside are clamped.
    public init(level: Int32 = GzipCompressor.defaultLevel) {
        self.level = min(max(level, 1), 9)
    }

    /// `input` as a gzip member, or nil when zlib cannot allocate its state.
    public func compress(_ input: [UInt8]) -> [UInt8]? {
        guard input.count <= Int(UInt32.max) else { return nil }
        let (windowBits, memoryLevel) = Self.windowAndMemory(for: input.count)
        var stream = z_stream()
        // +16 asks zlib for the gzip wrapper instead of zlib's own.
        guard lockd_deflate_init2(&stream, level, windowBits + 16, memoryLevel) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        // Enough for one deflate(Z_FINISH) to finish, whatever the input (zlib's guarantee).
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var finished = false
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            input.withUnsafeBufferPointer { source in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                finished = deflate(&stream, Z_FINISH) == Z_STREAM_END
                count = finished ? Int(stream.total_out) : 0
            }
        }
        return finished ? output : nil
    }

    /// zlib's `windowBits` (9…15) and `memLevel` (1…8) for an input of `count`
    /// bytes: the smallest window that still sees the whole input.
    static func windowAndMemory(for count: Int) -> (windowBits: Int32, memoryLevel: Int32) {
        var windowBits: Int32 = 15
        var memoryLevel: Int32 = 8
        // 262 is zlib's MIN_LOOKAHEAD: the window must hold the input plus that.
        while windowBits > 9, count < (1 << (windowBits - 1)) - 262 {
            windowBits -= 1
            memoryLevel -= 1
        }
        return (windowBits, max(memoryLevel, 1))
    }
}
