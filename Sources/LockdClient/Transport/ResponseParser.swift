#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP/1.1 response as read off a connection: status, fields, the whole
/// (de-chunked) body, and whether the connection may carry another request.
///
/// The fields stay bytes until asked for: making a string of every name and
/// value cost more than the rest of reading a lease's answer.
struct RawResponse: Sendable {
    var status: Int
    /// The bytes received, shared with the connection's buffer (not copied);
    /// the fields are `head[fieldLines]`, UTF-8 (checked when read).
    private var head: [UInt8]
    /// The field lines: from after the status line's CRLF to the CRLF that ends the last field.
    private var fieldLines: Range<Int>
    var body: [UInt8]
    var keepAlive: Bool

    init(status: Int, head: [UInt8], fieldLines: Range<Int>, body: [UInt8] = [], keepAlive: Bool) {
        self.status = status
        self.head = head
        self.fieldLines = fieldLines
        self.body = body
        self.keepAlive = keepAlive
    }

    /// The fields in the order they came, names as sent, values without surrounding spaces.
    var fields: [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        forEachField { name, value in
            fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            return true
        }
        return fields
    }

    /// Calls `body` with the value of the first field named `lowercaseName`
    /// (lowercase ASCII) in any case, or with nil when there is none.
    func withValue<Result>(of lowercaseName: StaticString, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        var result: Result?
        forEachField { name, value in
            guard ResponseParser.equalIgnoringASCIICase(name, lowercaseName) else { return true }
            result = body(value)
            return false
        }
        return result ?? body(nil)
    }

    /// Calls `body` with each field's name and trimmed value until it returns false.
    private func forEachField(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool) {
        head.withUnsafeBufferPointer { bytes in
            var lineStart = fieldLines.lowerBound
            while lineStart < fieldLines.upperBound {
                let end = ResponseParser.lineEnd(bytes, from: lineStart, before: fieldLines.upperBound) ?? fieldLines.upperBound
                defer { lineStart = end + 2 }
                // The parser refused lines without a colon.
                guard end > lineStart, let (name, value) = ResponseParser.field(bytes, lineStart..<end) else { continue }
                guard body(name, value) else { return }
            }
        }
    }
}

/// A response that is not HTTP/1.x, or is larger than the SDK ever expects.
struct MalformedResponse: Error, CustomStringConvertible {
    let description: String
}

/// Reads a response from the bytes received so far on a connection.
///
/// lockd's answers are small and arrive whole, so the parser rescans the
/// buffer on every call instead of keeping state between calls.
enum ResponseParser {
    /// Heads longer than this are not lockd's.
    static let maxHeadBytes = 64 << 10
    /// Bodies longer than this are not lockd's (a list page is far smaller).
    static let maxBodyBytes = 32 << 20

    /// The response at the start of `bytes`, or nil while it is incomplete.
    /// - Parameter atEnd: The peer has closed: a body without a length ends here.
    static func parse(_ bytes: [UInt8], atEnd: Bool = false) throws(MalformedResponse) -> RawResponse? {
        // Read through a buffer pointer: indexing the array and its slices cost
        // some 6k instructions a response (benchmarks/sdk/instructions.sh).
        try bytes.withUnsafeBufferPointer { buffer throws(MalformedResponse) in try parse(buffer, whole: bytes, atEnd: atEnd) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, whole: [UInt8], atEnd: Bool) throws(MalformedResponse) -> RawResponse? {
        guard let headEnd = endOfHead(bytes) else {
            if bytes.count > maxHeadBytes { throw MalformedResponse(description: "response head too long") }
            return nil
        }
        guard let statusEnd = lineEnd(bytes, from: 0, before: headEnd + 2), let (status, version11) = statusLine(bytes[..<statusEnd])
        else { throw MalformedResponse(description: "not an HTTP/1.x status line") }
        // One pass for the whole head: ASCII (all lockd sends) is UTF-8 as it is.
        var high: UInt8 = 0
        for index in 0..<headEnd { high |= bytes[index] }
        let ascii = high < 0x80
        var response = RawResponse(status: status, head: whole, fieldLines: min(statusEnd + 2, headEnd)..<headEnd, keepAlive: version11)
        var length: Int?
        var chunked = false
        var lineStart = statusEnd + 2
        while lineStart < headEnd {
            let end = lineEnd(bytes, from: lineStart, before: headEnd) ?? headEnd
            defer { lineStart = end + 2 }
            guard end > lineStart else { continue }
            guard let (name, value) = field(bytes, lineStart..<end) else {
                throw MalformedResponse(description: "header line without a colon")
            }
            guard ascii || (String(validating: name, as: UTF8.self) != nil && String(validating: value, as: UTF8.self) != nil)
            else { throw MalformedResponse(description: "response head is not UTF-8") }
            if equalIgnoringASCIICase(name, "content-length") {
                guard let count = Int(String(decoding: value, as: UTF8.self)), count >= 0, count <= maxBodyBytes, length == nil || length == count
                else { throw MalformedResponse(description: "bad Content-Length") }
                length = count
            } else if equalIgnoringASCIICase(name, "transfer-encoding") {
                chunked = String(decoding: value, as: UTF8.self).lowercased().hasSuffix("chunked")
            } else if equalIgnoringASCIICase(name, "connection") {
                let tokens = String(decoding: value, as: UTF8.self).lowercased()
                if tokens.contains("close") { response.keepAlive = false }
                if tokens.contains("keep-alive") { response.keepAlive = true }
            }
        }
        let bodyStart = headEnd + 4
        if status < 200 || status == 204 || status == 304 {
            return response
        } else if chunked {
            guard let body = try dechunk(bytes, from: bodyStart) else { return nil }
            response.body = body
        } else if let length {
            guard bytes.count - bodyStart >= length else { return nil }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
        } else {
            // No length: the body runs to the end of the connection.
            guard atEnd else {
                if bytes.count - bodyStart > maxBodyBytes { throw MalformedResponse(description: "response body too long") }
                return nil
            }
            response.body = Array(bytes[bodyStart...])
            response.keepAlive = false
        }
        return response
    }

    /// A field line's name and value (without the spaces around it); nil without a colon.
    static func field(
        _ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>
    ) -> (name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>)? {
        guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var valueStart = colon + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd, isSpace(bytes[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, isSpace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        return (UnsafeBufferPointer(rebasing: bytes[line.lowerBound..<colon]), UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
    }

    /// Whether `name` is `lowercase` (lowercase ASCII) in any ASCII case.
    static func equalIgnoringASCIICase(_ name: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard name.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for index in 0..<name.count {
            let byte = name[index]
            guard (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == expected[index] else { return false }
        }
        return true
    }

    /// The status code of `HTTP/1.x CODE REASON`, and whether x is 1; nil for anything else.
    private static func statusLine(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> (status: Int, version11: Bool)? {
        let prefix: StaticString = "HTTP/1."
        // memcmp: `starts(with:)` took a generic path (~300 instructions a response).
        guard line.count >= prefix.utf8CodeUnitCount, let start = line.base.baseAddress,
            memcmp(start + line.startIndex, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0,
            let space = line.firstIndex(of: UInt8(ascii: " "))
        else { return nil }
        let version11 = space - line.startIndex == prefix.utf8CodeUnitCount + 1 && line[line.startIndex + prefix.utf8CodeUnitCount] == UInt8(ascii: "1")
        let codeEnd = line[(space + 1)...].firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
        var status = 0
        for byte in line[(space + 1)..<codeEnd] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), status < 1000 else { return nil }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard (100...999).contains(status) else { return nil }
        return (status, version11)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// Index of the `\r\n\r\n` that ends the head.
    private static func endOfHead(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        find("\r\n\r\n", in: bytes, from: 0, before: bytes.count)
    }

    /// The body of a chunked message starting at `start`, or nil while incomplete.
    private static func dechunk(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(MalformedResponse) -> [UInt8]? {
        var body: [UInt8] = []
        var offset = start
        while true {
            guard let sizeEnd = Self.lineEnd(bytes, from: offset) else { return nil }
            let sizeText = String(decoding: bytes[offset..<sizeEnd], as: UTF8.self).prefix { $0 != ";" }
            guard let size = Int(sizeText.trimmingSpaces, radix: 16), size >= 0, body.count + size <= maxBodyBytes
            else { throw MalformedResponse(description: "bad chunk size") }
            offset = sizeEnd + 2
            if size == 0 {
                // Trailer fields, if any, end with an empty line.
                while true {
                    guard let end = Self.lineEnd(bytes, from: offset) else { return nil }
                    let isEmpty = end == offset
                    offset = end + 2
                    if isEmpty { return body }
                }
            }
            guard bytes.count >= offset + size + 2 else { return nil }
            body += bytes[offset..<(offset + size)]
            offset += size + 2
        }
    }

    /// Index of the first `\r\n` at or after `start` that ends before `end`.
    static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int? = nil) -> Int? {
        find("\r\n", in: bytes, from: start, before: end ?? bytes.count)
    }

    /// Index of the first `pattern` (which starts with `\r`) in `bytes[start..<end]`:
    /// `memchr` finds each `\r` (indexing byte by byte cost ~1k instructions a response).
    private static func find(_ pattern: StaticString, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int? {
        guard let base = bytes.baseAddress, end <= bytes.count else { return nil }
        let count = pattern.utf8CodeUnitCount
        var offset = start
        while end - offset >= count {
            guard let found = memchr(base + offset, Int32(UInt8(ascii: "\r")), end - offset - count + 1) else { return nil }
            let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + index, pattern.utf8Start, count) == 0 { return index }
            offset = index + 1
        }
        return nil
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
