/// The request being decoded: what the request line and header fields said
/// so far, including the fields that decide framing and connection reuse.
struct PartialHead {
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
    }

    var method = HTTPMethod.get
    /// The target's path (see ``HTTPRequest/pathBytes``), written into
    /// storage kept from an earlier request when there is some.
    var pathBytes: [UInt8] = []
    var query: String?
    var version = HTTPVersion.http1_1
    /// Whether the method is `HEAD`, told by its bytes as the request line
    /// is read: asked of the method afterwards, a `String`, it cost a call
    /// and a compare (~20–40 instructions a request).
    var isHead = false
    var headers = HTTPHeaders()
    var body: [UInt8] = []

    private var contentLength: Int?
    private var transferCodings: [Substring] = []
    private var sawTransferEncoding = false
    private var hostCount = 0
    private var connectionClose = false
    private var connectionKeepAlive = false
    private var expectation: String?

    /// Swaps the request the head describes with `request`: the request
    /// gets the head's parts, and the head the request's, for the next
    /// request to write over (they hold no query: see
    /// ``HTTPRequestDecoder/moveRequest(into:)``). Swapped, not moved into
    /// a new request: no part is retained or released, and no request is
    /// made or destroyed.
    @inline(__always)
    mutating func swapRequest(with request: inout HTTPRequest) {
        swap(&method, &request.method)
        swap(&pathBytes, &request.pathBytes)
        swap(&query, &request.query)
        swap(&headers, &request.headers)
        swap(&body, &request.body)
        request.version = version
    }

    /// Makes the head what ``PartialHead()`` is but for the storage of its
    /// parts, after ``swapRequest(with:)`` gave it a used request's: the
    /// next request assigns the method and writes over the path and the
    /// body; fields left there are dropped (their storage kept), and a
    /// query. Assigning a fresh head destroyed this one part by part and
    /// built another (~0.15 k instructions a request).
    mutating func reset() {
        // Neither, from a request the connection recycled (its spare
        // takes the fields, and drops the query): a compare each.
        if headers.count != 0 { headers.removeAllKeepingStorage() }
        if query != nil { query = nil }
        version = .http1_1
        isHead = false
        contentLength = nil
        if !transferCodings.isEmpty { transferCodings = [] }
        sawTransferEncoding = false
        hostCount = 0
        connectionClose = false
        connectionKeepAlive = false
        if expectation != nil { expectation = nil }
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked.
    var keepAlive: Bool {
        !connectionClose && (version.minor >= 1 || connectionKeepAlive)
    }

    var expectsContinue: Bool { expectation != nil && version.minor >= 1 }

    // MARK: Request line

    /// Parses `method SP request-target SP HTTP-version`; returns the error, if any.
    /// Nearly every line is read by ``parseUsualRequestLine(_:)``; any other
    /// by ``parseAnyRequestLine(_:)``.
    mutating func parseRequestLine(_ line: UnsafeRawBufferPointer) -> HTTPError? {
        if parseUsualRequestLine(line) { return nil }
        return parseAnyRequestLine(line)
    }

    /// The request line in the full parse (``parseRequestLine(_:)``'s
    /// rules); the usual line's reading answers as this one does.
    mutating func parseAnyRequestLine(_ line: UnsafeRawBufferPointer) -> HTTPError? {
        guard let firstSpace = HTTPSyntax.firstIndex(of: HTTPSyntax.space, in: line), firstSpace > 0 else {
            return .invalidRequest("the request line must be METHOD SP TARGET SP VERSION")
        }
        let methodBytes = UnsafeRawBufferPointer(rebasing: line[..<firstSpace])
        // A common method is a token: only another is checked byte by byte.
        let commonMethod = HTTPMethod.common(methodBytes)
        guard commonMethod != nil || methodBytes.allSatisfy(HTTPSyntax.isToken) else {
            return .invalidRequest("the method is not a token")
        }
        let rest = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)...])
        guard let secondSpace = HTTPSyntax.firstIndex(of: HTTPSyntax.space, in: rest), secondSpace > 0 else {
            return .invalidRequest("the request line must be METHOD SP TARGET SP VERSION")
        }
        let versionBytes = UnsafeRawBufferPointer(rebasing: rest[(secondSpace + 1)...])
        // `HTTP/1.1`, nearly every request's, in one comparison: the full
        // parse returns a `Result` through memory (~0.1 k instructions).
        if versionBytes.count == 8, UInt64(littleEndian: versionBytes.loadUnaligned(as: UInt64.self)) == Self.http11Word {
            version = .http1_1
        } else {
            switch Self.parseVersion(versionBytes) {
            case .failure(let error): return error
            case .success(let parsed): version = parsed
            }
        }
        method = commonMethod ?? HTTPMethod(rawValue: String(decoding: methodBytes, as: UTF8.self))
        // `HEAD`'s four bytes as one little-endian word (`H` lowest).
        isHead = methodBytes.count == 4 && methodBytes.loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0x4441_4548)
        return parseTarget(UnsafeRawBufferPointer(rebasing: rest[..<secondSpace]))
    }

    /// `HTTP/1.1`'s eight bytes as one little-endian word (`H` lowest);
    /// `HTTPRequestDecoderTests` checks it against the text.
    static let http11Word: UInt64 = 0x312E_312F_5054_5448

    static func parseVersion(_ bytes: UnsafeRawBufferPointer) -> Result<HTTPVersion, HTTPError> {
        guard bytes.count == 8, HTTPSyntax.bytes(UnsafeRawBufferPointer(rebasing: bytes[..<5]), equal: "HTTP/"),
              HTTPSyntax.isDigit(bytes[5]), bytes[6] == UInt8(ascii: "."), HTTPSyntax.isDigit(bytes[7])
        else {
            return .failure(.invalidRequest("the version must be HTTP/1.1 or HTTP/1.0"))
        }
        let major = Int(bytes[5] - UInt8(ascii: "0"))
        let minor = Int(bytes[7] - UInt8(ascii: "0"))
        guard major == 1 else {
            return .failure(.versionNotSupported("HTTP/\(major).\(minor) is not supported; use HTTP/1.1"))
        }
        // RFC 9110 §6.2: a higher 1.x minor is served as 1.1.
        return .success(HTTPVersion(major: 1, minor: min(minor, 1)))
    }

    private mutating func parseTarget(_ target: UnsafeRawBufferPointer) -> HTTPError? {
        // One pass for both checks; a byte that is not visible ASCII is
        // reported before a fragment wherever each is. Visible ASCII other
        // than `#` and `?` is passed eight bytes at a time; the byte loop
        // checks from the first other byte on, and notes the first `?`.
        var index = HTTPSyntax.leadingRun(of: target, stoppingAt: HTTPSyntax.notPlainTargetBytes)
        var hasFragment = false
        var firstQuestionMark: Int?
        while index < target.count {
            let byte = target[index]
            guard HTTPSyntax.isTargetByte(byte) else {
                return .invalidRequest("the request target has a byte that is not visible ASCII; percent-encode it")
            }
            if byte == UInt8(ascii: "#") { hasFragment = true }
            if byte == UInt8(ascii: "?"), firstQuestionMark == nil { firstQuestionMark = index }
            index += 1
        }
        guard !hasFragment else {
            return .invalidRequest("the request target must not have a fragment (#)")
        }
        var pathStart = 0
        if target.first == UInt8(ascii: "*") && target.count == 1 {
            guard method == .options else { return .invalidRequest("the target * is only for OPTIONS") }
        } else if target.first != UInt8(ascii: "/") {
            // absolute-form (RFC 9112 §3.2.2): keep only path and query.
            guard let authorityStart = Self.absoluteFormAuthority(target) else {
                return .invalidRequest("the request target must be a path starting with /")
            }
            pathStart = target[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? target.count
        }
        let afterAuthority = UnsafeRawBufferPointer(rebasing: target[pathStart...])
        // The first `?` is never before `pathStart`: a scheme has none, and
        // an authority ends at the first `/` or `?`.
        var path = afterAuthority
        if let questionMark = firstQuestionMark.map({ $0 - pathStart }) {
            path = UnsafeRawBufferPointer(rebasing: afterAuthority[..<questionMark])
            query = String(decoding: afterAuthority[(questionMark + 1)...], as: UTF8.self)
        }
        // The storage may still hold an earlier request's path (the spare
        // keeps it as it was): replaced in one call, as typed bytes (a raw
        // buffer would go byte by byte). Emptied when kept and appended to
        // here, it cost ~0.1 k instructions more a request.
        if path.isEmpty {
            pathBytes.replaceSubrange(0..<pathBytes.count, with: CollectionOfOne(UInt8(ascii: "/")))
        } else {
            storePath(path)
        }
        return nil
    }

    /// Writes `path` (not empty) over ``pathBytes``, keeping its storage
    /// where it has room.
    @inline(__always)
    mutating func storePath(_ path: UnsafeRawBufferPointer) {
        // A path as long as the one held (the same route again, or a name
        // as long: most requests) written over it in place, where
        // `replaceSubrange` cost ~90 instructions a request.
        if pathBytes.count == path.count, let source = path.baseAddress {
            pathBytes.withUnsafeMutableBytes { held in
                if let target = held.baseAddress { HTTPHeaders.copy(source, to: target, count: path.count) }
            }
            return
        }
        // Room for most paths at once, so storage that goes round is seldom grown.
        if pathBytes.capacity < path.count {
            pathBytes = []
            pathBytes.reserveCapacity(Swift.max(64, path.count))
        }
        pathBytes.replaceSubrange(0..<pathBytes.count, with: path.assumingMemoryBound(to: UInt8.self))
    }

    private static func absoluteFormAuthority(_ target: UnsafeRawBufferPointer) -> Int? {
        for scheme in ["http://", "https://"] where target.count >= scheme.utf8.count {
            if zip(target, scheme.utf8).allSatisfy({ HTTPSyntax.lowercased($0) == $1 }) { return scheme.utf8.count }
        }
        return nil
    }

    // MARK: Header fields

    /// Checks `field-name ":" OWS field-value OWS`; returns the error, if any.
    static func checkFieldLine(_ line: UnsafeRawBufferPointer) -> HTTPError? {
        fieldColon(line) == nil ? fieldLineError(line) : nil
    }

    /// Where the colon ending a valid field name is; nil when there is
    /// none (``fieldLineError(_:)`` says why). Only an index or nil: a
    /// `Result` holding an `HTTPError` was a large value returned through
    /// memory for every field.
    @inline(__always)
    static func fieldColon(_ line: UnsafeRawBufferPointer) -> Int? {
        // The name's bytes are checked as the colon is sought: one pass to
        // the first byte that is not a token's (a leading SP or HTAB, an
        // obs-fold, is not one either). Letters and `-`, tokens all, are
        // passed eight at a time; the byte loop takes over at the first
        // other byte (a digit, another mark, the colon, anything refused).
        var index = HTTPSyntax.leadingRun(of: line, stoppingAt: HTTPSyntax.notLetterOrHyphen)
        while index < line.count, HTTPSyntax.isToken(line[index]) { index += 1 }
        return index > 0 && index < line.count && line[index] == HTTPSyntax.colon ? index : nil
    }

    /// Why a field line has no valid name followed by ':' (``fieldColon(_:)`` found none).
    static func fieldLineError(_ line: UnsafeRawBufferPointer) -> HTTPError {
        if line[0] == HTTPSyntax.space || line[0] == HTTPSyntax.tab {
            return .invalidRequest("obsolete line folding (a field line starting with whitespace) is not accepted")
        }
        var index = 0
        while index < line.count, HTTPSyntax.isToken(line[index]) { index += 1 }
        if index < line.count, line[index] != HTTPSyntax.colon, line[index...].contains(HTTPSyntax.colon) {
            let byte = line[index]
            return .invalidRequest(byte == HTTPSyntax.space || byte == HTTPSyntax.tab
                ? "whitespace between a field name and ':' is not allowed"
                : "a field name has a byte that is not a token character")
        }
        return .invalidRequest("a header field line has no name followed by ':'")
    }

    /// Why a field line is refused (``addField(_:maxCount:)``): its
    /// `HTTPError` is made only then, by ``error(line:maxCount:)`` — an
    /// optional error returned for every field was a large value written
    /// through memory, twice a field.
    enum FieldFault: Error {
        /// No valid name followed by `:` (``fieldLineError(_:)`` says why).
        case malformed
        case tooManyFields
        case conflictingContentLengths
        case emptyContentLength
        case invalidContentLength

        /// The error answered for the field `line`, refused for this fault.
        func error(line: UnsafeRawBufferPointer, maxCount: Int) -> HTTPError {
            switch self {
            case .malformed: PartialHead.fieldLineError(line)
            case .tooManyFields: .headersTooLarge("more than \(maxCount) header fields")
            case .conflictingContentLengths: .invalidRequest("Content-Length is given more than once with different values")
            case .emptyContentLength: .invalidRequest("Content-Length is empty")
            case .invalidContentLength: .invalidRequest("Content-Length must be a decimal number of at most 18 digits")
            }
        }
    }

    /// Adds one header field line, tracking the fields that decide framing;
    /// `maxCount`: the most fields a request may have.
    mutating func addField(_ line: UnsafeRawBufferPointer, maxCount: Int) -> FieldFault? {
        guard let colon = Self.fieldColon(line) else { return .malformed }
        guard headers.count < maxCount else { return .tooManyFields }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, line[valueStart] == HTTPSyntax.space || line[valueStart] == HTTPSyntax.tab { valueStart += 1 }
        while valueEnd > valueStart, line[valueEnd - 1] == HTTPSyntax.space || line[valueEnd - 1] == HTTPSyntax.tab { valueEnd -= 1 }
        headers.appendField(line: line, nameLength: colon, valueStart: valueStart, valueEnd: valueEnd)
        // Only a name as long as a tracked one is compared (most fields,
        // such as `Content-Type` and `Accept-Encoding`, are not).
        switch colon {
        case 4, 6, 10, 14, 17:
            return track(UnsafeRawBufferPointer(rebasing: line[..<colon]), UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]))
        default:
            return nil
        }
    }

    /// Adds the field line starting at `start` in `input` when it is a
    /// plain one — a token name, `:`, optional SP or HTAB, then a value
    /// without control bytes (HTAB included) ending in CRLF, at most
    /// `limit` bytes before its CR — and there is room for it (`maxCount`);
    /// returns where its CR is. Any other line, or one not all in `input`
    /// yet, is left to ``HTTPRequestDecoder/nextLine(_:from:limit:)`` and
    /// ``addField(_:maxCount:)`` (nil, and nothing done): they accept this
    /// line alike, and refuse the others. One pass where they made three
    /// (the line's end found over its name too, then the name scanned again
    /// for its colon, then the result returned through the decoder's loop):
    /// ~0.1 k instructions a field. `fault`: why the field was refused, once added.
    /// Out of line: ``usualFieldLine(_:from:limit:)`` reads nearly every line first.
    @inline(never)
    mutating func addPlainFieldLine(
        _ input: UnsafeRawBufferPointer, from start: Int, limit: Int, maxCount: Int, fault: inout FieldFault?
    ) -> Int? {
        let rest = UnsafeRawBufferPointer(rebasing: input[start...])
        // The name, as ``fieldColon(_:)`` reads it (its bytes are no control bytes).
        // (Sixteen bytes at a time: see ``HTTPSyntax/leadingRun(of:from:stoppingAt:inWords:)``.)
        var colon = HTTPSyntax.leadingRun(
            of: rest, from: 0, stoppingAt: HTTPSyntax.notLetterOrHyphen(lanes:), inWords: HTTPSyntax.notLetterOrHyphen)
        while colon < rest.count, HTTPSyntax.isToken(rest[colon]) { colon &+= 1 }
        guard colon > 0, colon < rest.count, rest[colon] == HTTPSyntax.colon, headers.count < maxCount else { return nil }
        var valueStart = colon &+ 1
        while valueStart < rest.count, rest[valueStart] == HTTPSyntax.space || rest[valueStart] == HTTPSyntax.tab { valueStart &+= 1 }
        // The value up to its first control byte, sixteen (or eight) bytes
        // at a time: it must be the line's CR, followed by its LF.
        var end = HTTPSyntax.leadingRun(
            of: rest, from: valueStart, stoppingAt: HTTPSyntax.controlBytes(lanes:), inWords: HTTPRequestDecoder.controlBytes)
        while end < rest.count, !HTTPSyntax.isControl(rest[end]) { end &+= 1 }
        guard end &+ 1 < rest.count, rest[end] == HTTPSyntax.cr, rest[end &+ 1] == HTTPSyntax.lf, end <= limit else { return nil }
        // Trailing whitespace is SP only: an HTAB would have ended the scan.
        var valueEnd = end
        while valueEnd > valueStart, rest[valueEnd &- 1] == HTTPSyntax.space { valueEnd &-= 1 }
        fault = recordField(UnsafeRawBufferPointer(rebasing: rest[..<end]), colon: colon, valueStart: valueStart, valueEnd: valueEnd)
        return start &+ end
    }

    /// Adds the field of a plain line (`line`, its CRLF left out; its name
    /// ends at `colon`, its value is `line[valueStart..<valueEnd]`),
    /// tracking the fields that decide framing; returns why it is refused, if it is.
    @inline(__always)
    private mutating func recordField(_ line: UnsafeRawBufferPointer, colon: Int, valueStart: Int, valueEnd: Int) -> FieldFault? {
        headers.appendField(line: line, nameLength: colon, valueStart: valueStart, valueEnd: valueEnd)
        switch colon {
        case 4:
            // `Host`, which every request has, told here by one word (the
            // name is a token: see ``HTTPSyntax/tokenEqualsIgnoringCase(_:_:)``):
            // through ``track(_:_:)`` it cost ~70 instructions a request.
            // No other name of four bytes is tracked.
            if line.loadUnaligned(as: UInt32.self) | 0x2020_2020 == Self.hostWord { hostCount += 1 }
        case 14 where Self.isContentLength(line):
            // The usual single number, as ``track(_:_:)`` reads it, without its call (~60 instructions).
            if let length = Self.decimal(UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])) {
                if let contentLength, contentLength != length { return .conflictingContentLengths }
                contentLength = length
            } else {
                return track(UnsafeRawBufferPointer(rebasing: line[..<colon]), UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]))
            }
        case 10 where !Self.isConnection(line):
            // Another name of ten bytes, such as `Lock-Token` (every
            // release's): not tracked, told without ``track(_:_:)``'s call
            // (~37 instructions a `DELETE`).
            break
        case 6, 10, 17:
            return track(UnsafeRawBufferPointer(rebasing: line[..<colon]), UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]))
        default:
            break
        }
        return nil
    }

    /// Adds the plain field lines (``addPlainFieldLine(_:from:limit:maxCount:fault:)``)
    /// that follow one another from `start` in `input`, each within what is
    /// left of the header section (`maxSection` bytes, of which
    /// `sectionLength` are taken; counted here as lines are added); returns
    /// where the first line not added starts — the blank line, a line left
    /// to the general path, or the input's end. Stops after a line refused
    /// for `fault`, returning where that line starts in `faultLine`. One call
    /// a head, where one a field went round the decoder's loop (its state's
    /// dispatch, the section's checks, the call and its return: ~70
    /// instructions a field).
    mutating func addPlainFieldLines(
        _ input: UnsafeRawBufferPointer, from start: Int, sectionLength: inout Int, maxSection: Int, maxCount: Int,
        fault: inout FieldFault?, faultLine: inout Int
    ) -> Int {
        var offset = start
        while true {
            // The room for the line's content, its CRLF left out, as the
            // decoder's general path bounds it.
            let limit = maxSection &- sectionLength &- 2
            let end: Int
            // The usual line first: its name's block also tells a line
            // starting with CR (the blank one), which is no usual line.
            // (Asked first, the line's first byte was loaded on its own, and
            // swiftc built the block from it and seven more loads: ~30
            // instructions a line.)
            if headers.count < maxCount, let usual = Self.usualFieldLine(input, from: offset, limit: limit) {
                end = offset &+ usual.end
                // The line from where the blocks read it: no range of the input made and checked again.
                if let refused = recordField(
                    UnsafeRawBufferPointer(start: usual.start, count: usual.end), colon: usual.colon, valueStart: usual.valueStart,
                    valueEnd: usual.valueEnd) {
                    sectionLength &+= end &- offset &+ 2
                    fault = refused
                    faultLine = offset
                    return end &+ 2
                }
            } else {
                // As the decoder asked before each line: a line starting
                // with CR (the blank one) is never plain, nor one not yet begun.
                guard offset < input.count, input[offset] != HTTPSyntax.cr,
                      let plainEnd = addPlainFieldLine(input, from: offset, limit: limit, maxCount: maxCount, fault: &fault)
                else { break }
                end = plainEnd
                if fault != nil {
                    sectionLength &+= end &- offset &+ 2
                    faultLine = offset
                    return end &+ 2
                }
            }
            sectionLength &+= end &- offset &+ 2
            offset = end &+ 2
        }
        return offset
    }

    /// `host` as one little-endian word (`h` lowest); `PlainFieldLineTests` checks it against the text.
    static let hostWord = UInt32(littleEndian: 0x7473_6F68)

    /// Whether the 14-byte token starting `line` is `Content-Length` in
    /// any case: two words (the second overlapping the first), compared as
    /// ``HTTPSyntax/tokenEqualsIgnoringCase(_:_:)`` compares them.
    @inline(__always)
    private static func isContentLength(_ line: UnsafeRawBufferPointer) -> Bool {
        let caseBits: UInt64 = 0x2020_2020_2020_2020
        return line.loadUnaligned(as: UInt64.self) | caseBits == contentLengthWords.0
            && line.loadUnaligned(fromByteOffset: 6, as: UInt64.self) | caseBits == contentLengthWords.1
    }

    /// Whether the 10-byte token starting `line` is `Connection` in any
    /// case, as ``isContentLength(_:)`` tells its name.
    @inline(__always)
    private static func isConnection(_ line: UnsafeRawBufferPointer) -> Bool {
        let caseBits: UInt64 = 0x2020_2020_2020_2020
        return line.loadUnaligned(as: UInt64.self) | caseBits == connectionWords.0
            && line.loadUnaligned(fromByteOffset: 2, as: UInt64.self) | caseBits == connectionWords.1
    }

    /// `connection`'s bytes 0–7 and 2–9 as little-endian words.
    static let connectionWords: (UInt64, UInt64) = (
        UInt64(littleEndian: 0x6974_6365_6E6E_6F63),  // "connecti"
        UInt64(littleEndian: 0x6E6F_6974_6365_6E6E)   // "nnection"
    )

    /// `content-length`'s bytes 0–7 and 6–13 as little-endian words.
    static let contentLengthWords: (UInt64, UInt64) = (
        UInt64(littleEndian: 0x2D74_6E65_746E_6F63),  // "content-"
        UInt64(littleEndian: 0x6874_676E_656C_2D74)   // "t-length"
    )

    /// Notes a field that decides framing or reuse. Its value becomes a
    /// string only for the rare fields that are lists or kept. `name` is
    /// a token (``fieldColon(_:)`` checked it), so it is compared a word at a time.
    private mutating func track(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> FieldFault? {
        switch name.count {
        case 4 where HTTPSyntax.tokenEqualsIgnoringCase(name, "host"):
            hostCount += 1
        case 6 where HTTPSyntax.tokenEqualsIgnoringCase(name, "expect"):
            expectation = String(decoding: value, as: UTF8.self)
        case 10 where HTTPSyntax.tokenEqualsIgnoringCase(name, "connection"):
            for option in HTTPSyntax.listElements(String(decoding: value, as: UTF8.self)) {
                if HTTPSyntax.equalsIgnoringCase(option.utf8, "close") { connectionClose = true }
                if HTTPSyntax.equalsIgnoringCase(option.utf8, "keep-alive") { connectionKeepAlive = true }
            }
        case 14 where HTTPSyntax.tokenEqualsIgnoringCase(name, "content-length"):
            // The usual single number, without splitting a list.
            if let length = Self.decimal(value) {
                if let contentLength, contentLength != length { return .conflictingContentLengths }
                contentLength = length
                return nil
            }
            let elements = HTTPSyntax.listElements(String(decoding: value, as: UTF8.self))
            guard !elements.isEmpty else { return .emptyContentLength }
            for element in elements {
                // At most 18 digits, so the value never overflows.
                guard element.utf8.count <= 18, element.utf8.allSatisfy(HTTPSyntax.isDigit), let length = Int(element) else {
                    return .invalidContentLength
                }
                if let contentLength, contentLength != length { return .conflictingContentLengths }
                contentLength = length
            }
        case 17 where HTTPSyntax.tokenEqualsIgnoringCase(name, "transfer-encoding"):
            sawTransferEncoding = true
            transferCodings += HTTPSyntax.listElements(String(decoding: value, as: UTF8.self))
        default:
            break
        }
        return nil
    }

    /// The value of 1–18 decimal digits (so it never overflows); nil for anything else.
    private static func decimal(_ digits: UnsafeRawBufferPointer) -> Int? {
        guard (1...18).contains(digits.count) else { return nil }
        var value = 0
        for byte in digits {
            guard HTTPSyntax.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The framing of a head as nearly every request's is — HTTP/1.1, one
    /// `Host`, no `Expect`, no `Transfer-Encoding`, a body within
    /// `maxBodyLength` if any — as ``framing(limits:)`` decides it; nil for
    /// any other head, left to ``framing(limits:)``. Inline, and a plain
    /// value: through ``framing(limits:)`` the whole head was copied for the
    /// call and its `Result` returned through memory (~90 instructions a
    /// request).
    @inline(__always)
    func usualFraming(maxBodyLength: Int) -> Framing? {
        guard hostCount == 1, version.minor >= 1, expectation == nil, !sawTransferEncoding else { return nil }
        guard let contentLength, contentLength > 0 else { return Framing.none }
        return contentLength <= maxBodyLength ? .length(contentLength) : nil
    }

    /// Decides how the body is framed once the head is complete (RFC 9112 §6.3).
    func framing(limits: HTTPRequestLimits) -> Result<Framing, HTTPError> {
        if version.minor >= 1 && hostCount == 0 {
            return .failure(.invalidRequest("HTTP/1.1 requests must have a Host header"))
        }
        if hostCount > 1 {
            return .failure(.invalidRequest("more than one Host header"))
        }
        if let expectation, version.minor >= 1, !HTTPSyntax.equalsIgnoringCase(expectation.utf8, "100-continue") {
            return .failure(.expectationFailed("only Expect: 100-continue is supported"))
        }
        if sawTransferEncoding {
            if contentLength != nil {
                return .failure(.invalidRequest("Content-Length and Transfer-Encoding must not both be sent"))
            }
            guard !transferCodings.isEmpty, transferCodings.allSatisfy({ $0.utf8.allSatisfy(HTTPSyntax.isToken) }) else {
                return .failure(.invalidRequest("Transfer-Encoding is not a list of codings"))
            }
            guard transferCodings.allSatisfy({ HTTPSyntax.equalsIgnoringCase($0.utf8, "chunked") }) else {
                return .failure(.notImplemented("only the chunked transfer coding is supported"))
            }
            guard transferCodings.count == 1 else {
                return .failure(.invalidRequest("chunked must be applied exactly once"))
            }
            return .success(.chunked)
        }
        guard let contentLength, contentLength > 0 else { return .success(.none) }
        guard contentLength <= limits.maxBodyLength else {
            return .failure(.payloadTooLarge("the body is \(contentLength) bytes; at most \(limits.maxBodyLength) are accepted"))
        }
        return .success(.length(contentLength))
    }
}
