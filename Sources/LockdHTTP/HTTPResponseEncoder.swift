/// Writes responses as HTTP/1.1 bytes, appending to a buffer so that all
/// responses produced by one read go out in one `send`.
enum HTTPResponseEncoder {
    /// Appends `response` to `buffer`.
    ///
    /// - Parameters:
    ///   - headOnly: The request was `HEAD`: keep `Content-Length`, drop the body.
    ///   - keepAlive: Whether the connection stays open after this response.
    ///   - requestVersion: The request's version; HTTP/1.0 keep-alive is confirmed explicitly.
    ///   - date: The `Date` value (IMF-fixdate).
    ///   - requestID: Sent back as `X-Request-Id`.
    static func encode(
        _ response: HTTPResponse,
        headOnly: Bool,
        keepAlive: Bool,
        requestVersion: HTTPVersion,
        date: [UInt8],
        requestID: HTTPRequestID?,
        into buffer: inout [UInt8]
    ) {
        encodeHead(
            response, length: response.body.count, keepAlive: keepAlive, requestVersion: requestVersion, date: date,
            requestID: requestID, into: &buffer)
        if !headOnly && !response.status.forbidsContent {
            buffer.append(contentsOf: response.body)
        }
    }

    /// Appends the head of a response whose body is streamed: chunked when
    /// `chunked`, else delimited by the close (`keepAlive` must then be false);
    /// `requestID` is sent back as `X-Request-Id`.
    static func encodeStreamHead(
        _ response: HTTPResponse,
        chunked: Bool,
        keepAlive: Bool,
        requestVersion: HTTPVersion,
        date: [UInt8],
        requestID: HTTPRequestID?,
        into buffer: inout [UInt8]
    ) {
        encodeHead(
            response, length: nil, chunked: chunked, keepAlive: keepAlive, requestVersion: requestVersion, date: date,
            requestID: requestID, into: &buffer)
    }

    /// Appends one chunk of a chunked body (RFC 9112 §7.1); empty `bytes` append nothing.
    static func appendChunk(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let hex = String(bytes.count, radix: 16)
        buffer.append(contentsOf: hex.utf8)
        appendCRLF(to: &buffer)
        buffer.append(contentsOf: bytes)
        appendCRLF(to: &buffer)
    }

    /// The end of a chunked body: a zero-length chunk and no trailers.
    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// The most bytes ``encode(_:headOnly:keepAlive:requestVersion:date:requestID:at:)``
    /// writes for these arguments: a bound found from counts the parts
    /// already hold, with no pass over the head.
    static func maxEncodedCount(_ response: HTTPResponse, headOnly: Bool, date: UnsafeRawBufferPointer, requestID: HTTPRequestID?) -> Int {
        // The status line ("HTTP/1.1 ", up to 20 digits, a space, the
        // reason, CRLF); each field as written ("name: value" CRLF) is no
        // longer than it is held (``HTTPHeaders/heldByteCount``); `Date`;
        // `X-Request-Id`; `Content-Length` with up to 20 digits (or
        // `Transfer-Encoding`); `Connection: keep-alive`; the blank line;
        // and eight bytes of slack, so that a packed write may store a whole word.
        // (Counts of bytes held in memory: added without overflow checks,
        // ~15 instructions a response.)
        let head = 32 &+ response.status.reason.utf8.count &+ response.headers.heldByteCount &+ 8 &+ date.count
            &+ 16 &+ (requestID?.maxWrittenCount ?? 0) &+ 38 &+ 24 &+ 2 &+ HeadRoomWriter.slack
        return headOnly || response.status.forbidsContent ? head : head &+ response.body.count
    }

    /// Writes `response` at `start`, where there is room for
    /// ``maxEncodedCount(_:headOnly:date:requestID:)`` bytes (the arguments
    /// as described for ``encode(_:headOnly:keepAlive:requestVersion:date:requestID:into:)``);
    /// returns how many bytes it wrote. Written in place (into a stream's
    /// output queue), with no check per piece: the room is known to suffice.
    /// Out of line, as swiftc left it before the date's copy (inlined into
    /// the connection, the request id's writing went out of line, with
    /// copies of the id through its value witnesses: ~0.1 k instructions).
    @inline(never)
    static func encode(
        _ response: HTTPResponse,
        headOnly: Bool,
        keepAlive: Bool,
        requestVersion: HTTPVersion,
        date: UnsafeRawBufferPointer,
        requestID: HTTPRequestID?,
        at start: UnsafeMutableRawPointer
    ) -> Int {
        var writer = HeadRoomWriter(next: start)
        writeHead(response, length: response.body.count, chunked: false, keepAlive: keepAlive, requestVersion: requestVersion,
                  date: date, requestID: requestID, to: &writer)
        if !headOnly && !response.status.forbidsContent {
            response.body.withUnsafeBytes { writer.write($0) }
        }
        return writer.next - start
    }

    /// The status line and header fields; `length` nil for a streamed body.
    ///
    /// Written through ``HeadSink`` into stack space, which is appended in
    /// one piece (fifteen-odd appends, each checking uniqueness and
    /// capacity, cost ~1.5 k instructions a response): once into a fixed
    /// 1 KiB, which holds almost every head; a head that does not fit is
    /// counted first, then written into space of its size.
    private static func encodeHead(
        _ response: HTTPResponse,
        length: Int?,
        chunked: Bool = false,
        keepAlive: Bool,
        requestVersion: HTTPVersion,
        date: [UInt8],
        requestID: HTTPRequestID?,
        into buffer: inout [UInt8]
    ) {
        func write(_ sink: inout some HeadSink) {
            date.withUnsafeBytes { date in
                writeHead(response, length: length, chunked: chunked, keepAlive: keepAlive, requestVersion: requestVersion,
                          date: date, requestID: requestID, to: &sink)
            }
        }
        let fitted = withUnsafeTemporaryAllocation(byteCount: Self.usualHeadSpace, alignment: 1) { space -> Bool in
            guard let base = space.baseAddress else { return false }
            var writer = BoundedWriter(start: base.assumingMemoryBound(to: UInt8.self), capacity: space.count)
            write(&writer)
            guard !writer.overflowed else { return false }
            buffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: writer.count))
            return true
        }
        if fitted { return }
        var counter = ByteCounter()
        write(&counter)
        withUnsafeTemporaryAllocation(byteCount: counter.count, alignment: 1) { space in
            guard let base = space.baseAddress else { return }  // never: a head has at least its status line
            var writer = PointerWriter(next: base.assumingMemoryBound(to: UInt8.self))
            write(&writer)
            buffer.append(contentsOf: UnsafeRawBufferPointer(space))
        }
    }

    /// Writes the status line and header fields to `sink`. Inline: swiftc
    /// otherwise left it, or the request id's writing in it, out of line
    /// as either changed (~30–80 instructions a response each time).
    @inline(__always)
    private static func writeHead(
        _ response: HTTPResponse,
        length: Int?,
        chunked: Bool,
        keepAlive: Bool,
        requestVersion: HTTPVersion,
        date: UnsafeRawBufferPointer,
        requestID: HTTPRequestID?,
        to sink: inout some HeadSink
    ) {
        // Literals as `StaticString`s: a literal is otherwise a `String`,
        // written through its UTF-8 view (~45 instructions for a long one).
        let status = response.status
        if let line = statusLine(status) {
            sink.write(line)
        } else {
            sink.write("HTTP/1.1 " as StaticString)
            sink.decimal(UInt64(max(0, status.code)))
            sink.byte(HTTPSyntax.space)
            sink.write(status.reason)
            sink.crlf()
        }
        response.headers.forEachField { name, value in
            if !isServerField(name) {
                sink.write(short: name)
                // A literal here is a `String`: written through its UTF-8 view.
                sink.write(packed: 0x20_3A, count: 2)  // ": "
                sink.write(short: value)
                sink.crlf()
            }
            return true
        }
        sink.write("Date: " as StaticString)
        sink.write(short: date)
        sink.crlf()
        if let requestID {
            sink.write("X-Request-Id: " as StaticString)
            requestID.write(to: &sink)
            sink.crlf()
        }
        if !status.forbidsContent {
            if let length {
                sink.write("Content-Length: " as StaticString)
                sink.decimal(UInt64(max(0, length)))
                sink.crlf()
            } else if chunked {
                sink.write("Transfer-Encoding: chunked\r\n" as StaticString)
            }
        }
        if !keepAlive {
            sink.write("Connection: close\r\n" as StaticString)
        } else if requestVersion.minor == 0 {
            sink.write("Connection: keep-alive\r\n" as StaticString)
        }
        sink.crlf()
    }

    /// The whole status line of the statuses lockd answers most, when
    /// `status` has its standard reason; nil for others. Written in one
    /// piece: the code's digits and the reason written as a `String` cost
    /// ~0.12 k instructions a response.
    @inline(__always)
    private static func statusLine(_ status: HTTPStatus) -> StaticString? {
        // A reason compares equal to its literal by its bits (short
        // strings are held inline), so the check is cheap.
        switch status.code {
        case 200: status.reason == "OK" ? "HTTP/1.1 200 OK\r\n" : nil
        case 201: status.reason == "Created" ? "HTTP/1.1 201 Created\r\n" : nil
        case 204: status.reason == "No Content" ? "HTTP/1.1 204 No Content\r\n" : nil
        case 400: status.reason == "Bad Request" ? "HTTP/1.1 400 Bad Request\r\n" : nil
        case 404: status.reason == "Not Found" ? "HTTP/1.1 404 Not Found\r\n" : nil
        case 409: status.reason == "Conflict" ? "HTTP/1.1 409 Conflict\r\n" : nil
        default: nil
        }
    }

    /// The stack space a head is first written into.
    static let usualHeadSpace = 1_024

    /// The interim response sent when a client waits with `Expect: 100-continue`.
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Fields the server sets itself; the responder's versions are dropped.
    private static func isServerField(_ name: UnsafeRawBufferPointer) -> Bool {
        // The first letter first: it tells most other fields apart, such as
        // Content-Type from X-Request-Id (as long), without a full compare.
        guard let first = name.first.map(HTTPSyntax.lowercased) else { return false }
        switch name.count {
        case 4: return first == UInt8(ascii: "d") && HTTPHeaders.namesEqual(name, "date")
        case 10: return first == UInt8(ascii: "c") && HTTPHeaders.namesEqual(name, "connection")
        case 12: return first == UInt8(ascii: "x") && HTTPHeaders.namesEqual(name, "x-request-id")
        case 14: return first == UInt8(ascii: "c") && HTTPHeaders.namesEqual(name, "content-length")
        case 17: return first == UInt8(ascii: "t") && HTTPHeaders.namesEqual(name, "transfer-encoding")
        default: return false
        }
    }

    private static func appendCRLF(to buffer: inout [UInt8]) {
        buffer.append(HTTPSyntax.cr)
        buffer.append(HTTPSyntax.lf)
    }
}
