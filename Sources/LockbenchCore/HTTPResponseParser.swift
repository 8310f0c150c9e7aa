/// One HTTP/1.x response as lockbench needs it: status, whether the
/// connection stays open, and the (de-chunked) body.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code, such as 201.
    public var status: Int
    /// False when the server said `Connection: close` (or spoke HTTP/1.0
    /// without keep-alive): the connection must be dropped after this response.
    public var keepAlive: Bool
    /// The body bytes, chunked transfer coding removed.
    public var body: [UInt8]

    /// Creates a response value.
    public init(status: Int, keepAlive: Bool = true, body: [UInt8] = []) {
        self.status = status
        self.keepAlive = keepAlive
        self.body = body
    }
}

/// Why bytes from the server are not a response lockbench can read.
public struct HTTPResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, for the error summary.
    public let reason: String

    /// Creates an error with `reason`.
    public init(_ reason: String) { self.reason = reason }

    /// The error as shown in lockbench's output.
    public var description: String { "malformed HTTP response: \(reason)" }
}

/// Parses HTTP/1.x responses from a byte buffer that may hold a partial one.
///
/// `parse` returns nil for "need more bytes", so the caller can read again
/// and retry with the longer buffer; it never reads past `bytes.count`.
///
/// ```swift
/// if let (response, used) = try HTTPResponseParser.parse(buffer) { … }
/// ```
public enum HTTPResponseParser {
    /// The longest status line plus header section accepted.
    public static let maxHeadBytes = 64 * 1024
    /// The longest body accepted.
    public static let maxBodyBytes = 1024 * 1024

    /// Parses the first complete response in `bytes`, skipping interim (1xx) ones.
    /// - Returns: the response and how many bytes it used, or nil when `bytes`
    ///   holds only part of it.
    /// - Throws: ``HTTPResponseError`` when the bytes cannot be a response.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPResponseError) -> (HTTPResponse, Int)? {
        var start = 0
        while true {
            guard let headEnd = find(crlfcrlf, in: bytes, from: start) else {
                if bytes.count - start > maxHeadBytes { throw HTTPResponseError("header section longer than \(maxHeadBytes) bytes") }
                return nil
            }
            let head = try parseHead(bytes, from: start, to: headEnd)
            let bodyStart = headEnd + 4
            if (100..<200).contains(head.status) && head.status != 101 {
                start = bodyStart  // 100 Continue and friends precede the real answer
                continue
            }
            var response = HTTPResponse(status: head.status, keepAlive: head.keepAlive)
            if head.status == 204 || head.status == 304 || head.status == 101 {
                return (response, bodyStart)
            }
            if head.chunked {
                guard let (body, end) = try parseChunked(bytes, from: bodyStart) else { return nil }
                response.body = body
                return (response, end)
            }
            guard let length = head.contentLength else {
                throw HTTPResponseError("status \(head.status) without Content-Length or chunked encoding")
            }
            guard length <= maxBodyBytes else { throw HTTPResponseError("body longer than \(maxBodyBytes) bytes") }
            guard bytes.count - bodyStart >= length else { return nil }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            return (response, bodyStart + length)
        }
    }

    private struct Head {
        var status: Int
        var keepAlive: Bool
        var contentLength: Int?
        var chunked = false
    }

    private static let crlfcrlf: [UInt8] = Array("\r\n\r\n".utf8)
    private static let crlf: [UInt8] = Array("\r\n".utf8)

    private static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) throws(HTTPResponseError) -> Head {
        // "HTTP/1.1 201 Created" — the reason phrase is optional.
        let prefix = Array("HTTP/1.".utf8)
        guard end - start >= 12, bytes[start..<(start + 7)].elementsEqual(prefix),
              bytes[start + 8] == UInt8(ascii: " ") else { throw HTTPResponseError("bad status line") }
        var status = 0
        for index in (start + 9)..<(start + 12) {
            let digit = Int(bytes[index]) - 48
            guard (0...9).contains(digit) else { throw HTTPResponseError("bad status code") }
            status = status * 10 + digit
        }
        guard status >= 100 else { throw HTTPResponseError("bad status code") }
        var head = Head(status: status, keepAlive: bytes[start + 7] == UInt8(ascii: "1"))
        var lineStart = (find(crlf, in: bytes, from: start) ?? end) + 2
        while lineStart < end {
            let lineEnd = find(crlf, in: bytes, from: lineStart) ?? end
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPResponseError("header line without ':'") }
            let name = line[..<colon]
            let value = trimmed(line[(colon + 1)...])
            if equalsIgnoringCase(name, "content-length") {
                guard let length = decimal(value) else { throw HTTPResponseError("bad Content-Length") }
                head.contentLength = length
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                head.chunked = containsIgnoringCase(value, "chunked")
            } else if equalsIgnoringCase(name, "connection") {
                if containsIgnoringCase(value, "close") { head.keepAlive = false }
                if containsIgnoringCase(value, "keep-alive") { head.keepAlive = true }
            }
            lineStart = lineEnd + 2
        }
        return head
    }

    /// Decodes a chunked body starting at `start`; nil when incomplete.
    private static func parseChunked(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(HTTPResponseError) -> ([UInt8], Int)? {
        var body: [UInt8] = []
        var cursor = start
        while true {
            guard let lineEnd = find(crlf, in: bytes, from: cursor) else { return nil }
            var size = 0
            var sawDigit = false
            for byte in bytes[cursor..<lineEnd] {
                guard let digit = hexValue(byte) else { break }  // ";extension" ends the size
                size = size * 16 + digit
                sawDigit = true
                guard body.count + size <= maxBodyBytes else { throw HTTPResponseError("body longer than \(maxBodyBytes) bytes") }
            }
            guard sawDigit else { throw HTTPResponseError("bad chunk size") }
            cursor = lineEnd + 2
            if size == 0 {
                // Trailer fields, then an empty line.
                while true {
                    guard let trailerEnd = find(crlf, in: bytes, from: cursor) else { return nil }
                    let empty = trailerEnd == cursor
                    cursor = trailerEnd + 2
                    if empty { return (body, cursor) }
                }
            }
            guard bytes.count - cursor >= size + 2 else { return nil }
            body.append(contentsOf: bytes[cursor..<(cursor + size)])
            guard bytes[cursor + size] == UInt8(ascii: "\r"), bytes[cursor + size + 1] == UInt8(ascii: "\n") else {
                throw HTTPResponseError("chunk not followed by CRLF")
            }
            cursor += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (65...90).contains(byte) ? byte + 32 : byte
    }

    private static func equalsIgnoringCase(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ text: StaticString) -> Bool {
        let target = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        return bytes.count == target.count && zip(bytes, target).allSatisfy { lowercased($0) == $1 }
    }

    private static func containsIgnoringCase(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ text: StaticString) -> Bool {
        let target = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard bytes.count >= target.count else { return false }
        let base = bytes.startIndex
        return (0...(bytes.count - target.count)).contains { offset in
            (0..<target.count).allSatisfy { lowercased(bytes[base + offset + $0]) == target[$0] }
        }
    }

    private static func decimal(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            let digit = Int(byte) - 48
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte) - 48
        case 65...70: Int(byte) - 55
        case 97...102: Int(byte) - 87
        default: nil
        }
    }
}
