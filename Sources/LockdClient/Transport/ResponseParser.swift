/// One HTTP/1.1 response as read off a connection: status, fields, the whole
/// (de-chunked) body, and whether the connection may carry another request.
struct RawResponse: Sendable {
    var status: Int
    var fields: [(name: String, value: String)]
    var body: [UInt8]
    var keepAlive: Bool
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
        try bytes.withUnsafeBufferPointer { buffer throws(MalformedResponse) in try parse(buffer, atEnd: atEnd) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool) throws(MalformedResponse) -> RawResponse? {
        guard let headEnd = endOfHead(bytes) else {
            if bytes.count > maxHeadBytes { throw MalformedResponse(description: "response head too long") }
            return nil
        }
        guard let statusEnd = lineEnd(bytes, from: 0), statusEnd <= headEnd,
              let (status, version11) = statusLine(bytes[..<statusEnd])
        else { throw MalformedResponse(description: "not an HTTP/1.x status line") }
        var response = RawResponse(status: status, fields: [], body: [], keepAlive: version11)
        response.fields.reserveCapacity(8)
        var length: Int?
        var chunked = false
        var lineStart = statusEnd + 2
        while lineStart < headEnd {
            let end = lineEnd(bytes, from: lineStart) ?? headEnd
            defer { lineStart = end + 2 }
            guard end > lineStart else { continue }
            guard let colon = bytes[lineStart..<end].firstIndex(of: UInt8(ascii: ":")) else {
                throw MalformedResponse(description: "header line without a colon")
            }
            var valueStart = colon + 1
            var valueEnd = end
            while valueStart < valueEnd, isSpace(bytes[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isSpace(bytes[valueEnd - 1]) { valueEnd -= 1 }
            let nameBytes = UnsafeBufferPointer(rebasing: bytes[lineStart..<colon])
            guard let name = text(nameBytes), let value = text(UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
            else { throw MalformedResponse(description: "response head is not UTF-8") }
            response.fields.append((name, value))
            if equalIgnoringASCIICase(nameBytes, "content-length") {
                guard let count = Int(value), count >= 0, count <= maxBodyBytes, length == nil || length == count
                else { throw MalformedResponse(description: "bad Content-Length") }
                length = count
            } else if equalIgnoringASCIICase(nameBytes, "transfer-encoding") {
                chunked = value.lowercased().hasSuffix("chunked")
            } else if equalIgnoringASCIICase(nameBytes, "connection") {
                let tokens = value.lowercased()
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

    /// `bytes` as a string, if they are UTF-8 (ASCII, as lockd sends, taken as it is).
    private static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        bytes.allSatisfy { $0 < 0x80 } ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    /// Whether `name` is `lowercase` (lowercase ASCII) in any ASCII case.
    private static func equalIgnoringASCIICase(_ name: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
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
        let prefix = "HTTP/1.".utf8
        guard line.starts(with: prefix), let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let version11 = space - line.startIndex == prefix.count + 1 && line[line.startIndex + prefix.count] == UInt8(ascii: "1")
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
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
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

    private static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
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
