#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), formatted at most
/// once per second. Each event loop owns one, so no lock is needed.
struct HTTPDateCache {
    private var second: time_t = -1
    private var formatted: [UInt8] = []
    /// `formatted`'s bytes held in place (see ``InlineDate``).
    private var inline = InlineDate()

    /// The current time as `Sun, 06 Nov 1994 08:49:37 GMT`.
    mutating func current() -> [UInt8] {
        refresh()
        return formatted
    }

    /// ``current()``, held in place: a value with no reference to retain
    /// and release as a response is written (~40 instructions).
    mutating func currentInline() -> InlineDate {
        refresh()
        return inline
    }

    private mutating func refresh() {
        let now = time(nil)
        if now != second {
            second = now
            formatted = Self.format(now)
            inline = InlineDate(formatted)
        }
    }

    /// A formatted date (IMF-fixdate: always 29 bytes) in four words.
    struct InlineDate {
        private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        /// How many leading bytes of the words are the date's.
        private(set) var count = 0

        init() {}

        /// The first 32 bytes of `bytes` (a formatted date has 29).
        init(_ bytes: [UInt8]) {
            count = min(bytes.count, MemoryLayout.size(ofValue: words))
            let count = count
            withUnsafeMutableBytes(of: &words) { words in
                bytes.withUnsafeBytes { words.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            }
        }

        /// Calls `body` with the date's bytes.
        func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            var words = words
            let count = count
            return withUnsafeBytes(of: &words) { body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    static func format(_ seconds: time_t) -> [UInt8] {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text = "\(days[Int(parts.tm_wday)]), \(twoDigits(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec)) GMT"
        return Array(text.utf8)
    }
}
