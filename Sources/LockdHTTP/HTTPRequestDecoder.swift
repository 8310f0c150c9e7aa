/// The limits a decoder enforces on one request.
struct HTTPRequestLimits: Sendable, Equatable {
    var maxRequestLineLength = 8 * 1024
    var maxHeaderSectionLength = 32 * 1024
    var maxHeaderCount = 100
    var maxBodyLength = 64 * 1024
    /// A chunk-size line (size and extensions); real ones are a few bytes.
    var maxChunkLineLength = 1024
}

/// Decodes HTTP/1.1 requests (RFC 9112) from bytes that arrive in pieces.
///
/// A pure state machine: the caller hands it the bytes it has not consumed
/// yet (the unconsumed tail of the previous call plus whatever arrived since),
/// and it answers how many bytes it consumed and what happened. It never
/// reads a byte twice in one line: `scanned` remembers how far the current,
/// unfinished line was already checked. Every length is bounded, and any
/// framing error is final — the connection answers it and closes.
///
/// ```swift
/// var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
/// var consumed = 0
/// let event = bytes.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
/// ```
///
/// A connection decodes with ``decodeStep(_:consumed:)`` instead, and
/// takes each request's parts into a request it keeps
/// (``moveRequest(into:)``): see ``Step``.
struct HTTPRequestDecoder {
    /// What a call to ``decode(_:consumed:)`` produced.
    enum Event {
        /// Every complete part was consumed; more bytes are needed.
        case needMore
        /// The head asked for `100 Continue` and no body byte has arrived yet.
        case continueExpected
        /// A complete request; `keepAlive` tells whether the client wants the connection kept.
        case request(HTTPRequest, keepAlive: Bool)
        /// The bytes are not acceptable HTTP; answer with the error and close.
        case failure(HTTPError)
    }

    /// What a call to ``decodeStep(_:consumed:)`` produced: an ``Event``
    /// whose request is still in the decoder, for ``moveRequest(into:)``.
    /// A request made here and moved out (into the event, the
    /// connection's action, the responder's argument, then taken apart for
    /// the loop's spare and destroyed) cost ~0.25 k instructions a request
    /// more than its parts swapped into a request the connection keeps and
    /// lends.
    enum Step {
        case needMore
        case continueExpected
        /// A complete request, for ``moveRequest(into:)`` before anything
        /// else is decoded.
        case request(keepAlive: Bool)
        case failure(HTTPError)
    }

    enum State {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        /// Failed with ``failure``: kept apart so that the state is plain
        /// words, stored without a call (a state holding the error was
        /// destroyed through an outlined function at each change, ~80
        /// instructions a request).
        case failed
    }

    let limits: HTTPRequestLimits
    // Internal rather than private so the chunked-body extension can use them.
    var state = State.requestLine
    /// Bytes of the current unfinished line already checked.
    var scanned = 0
    /// Bytes of the header (or trailer) section so far.
    var sectionLength = 0
    var head = PartialHead()
    /// Why decoding failed, once it has (``State/failed``).
    var failure: HTTPError?
    /// Whether the body's storage still holds an earlier request's body
    /// (the spare keeps it as it was), which the first piece of this one
    /// replaces: emptied when kept and appended to here, a body cost ~0.1 k
    /// instructions more.
    var replacesBody = false

    init(limits: HTTPRequestLimits) {
        self.limits = limits
    }

    /// Takes `spare`'s storage of each kind (leaving it none) for the
    /// request being decoded, where that request has none yet.
    mutating func adoptStorage(from spare: inout SpareRequestStorage) {
        if head.headers.storageCapacity == 0 { swap(&head.headers, &spare.headers) }
        // Not while a body is being received: the spare's may still hold
        // an earlier body, which only the head's framing clears or replaces
        // (``replacesBody``); a chunked body would be appended to it.
        if head.body.capacity == 0, !isReceivingBody { swap(&head.body, &spare.body) }
        if head.pathBytes.capacity == 0 { swap(&head.pathBytes, &spare.path) }
    }

    /// Whether the decoder sits between requests with nothing buffered.
    var isIdle: Bool {
        if case .requestLine = state { return scanned == 0 }
        return false
    }

    /// Decodes from `input`, the bytes not consumed by earlier calls
    /// followed by new ones; a request decoded is returned whole (its
    /// storage the decoder's no more).
    /// - Parameter offset: set to how many leading bytes of `input` are consumed.
    /// - Returns: The event.
    mutating func decode(_ input: UnsafeRawBufferPointer, consumed offset: inout Int) -> Event {
        switch decodeStep(input, consumed: &offset) {
        case .needMore: return .needMore
        case .continueExpected: return .continueExpected
        case .failure(let error): return .failure(error)
        case .request(let keepAlive):
            var request = HTTPRequest(method: .get, pathBytes: [], query: nil, version: .http1_1, headers: HTTPHeaders(), body: [])
            moveRequest(into: &request)
            return .request(request, keepAlive: keepAlive)
        }
    }

    /// Decodes from `input`, the bytes not consumed by earlier calls
    /// followed by new ones; a request decoded stays here until
    /// ``moveRequest(into:)`` takes it, which must come before the next call.
    /// - Parameter offset: set to how many leading bytes of `input` are consumed
    ///   (an out-parameter, not a returned tuple: a tuple holding the event was
    ///   destroyed through the runtime's generic `tuple_destroy`, ~60
    ///   instructions a request more than destroying the event alone).
    /// - Returns: What happened.
    mutating func decodeStep(_ input: UnsafeRawBufferPointer, consumed offset: inout Int) -> Step {
        offset = 0
        while true {
            switch state {
            case .failed:
                // Set with the state; the fallback is never used.
                return .failure(failure ?? .invalidRequest("the request could not be read"))
            case .requestLine:
                // The usual line, all here, read in one pass with its end
                // (``PartialHead/parseUsualRequestLine(_:from:limit:)``).
                if scanned == 0, let end = head.parseUsualRequestLine(input, from: offset, limit: limits.maxRequestLineLength) {
                    offset = end &+ 2
                    state = .headers
                    sectionLength = 0
                    continue
                }
                switch nextLine(input, from: offset, limit: limits.maxRequestLineLength) {
                case .incomplete:
                    return .needMore
                case .tooLong:
                    return fail(.uriTooLong("the request line is longer than \(limits.maxRequestLineLength) bytes"))
                case .invalid(let fault):
                    return fail(fault.error)
                case .line(let end):
                    let start = offset
                    offset = end &+ 2
                    // RFC 9112 §2.2: ignore empty lines before a request line.
                    if end == start { continue }
                    if let error = head.parseRequestLine(UnsafeRawBufferPointer(rebasing: input[start..<end])) {
                        return fail(error)
                    }
                    state = .headers
                    sectionLength = 0
                }
            case .headers:
                let remainingSection = limits.maxHeaderSectionLength &- sectionLength
                // A plain field line, all here, in one pass; any other line
                // (the blank one ending the head too) goes the general way.
                // The blank line ending the head, all here: found without
                // ``nextLine(_:from:limit:)``'s call and its result (~60
                // instructions a request), as it would find it (within the
                // section's limit).
                if scanned == 0, offset &+ 1 < input.count, input[offset] == HTTPSyntax.cr, input[offset &+ 1] == HTTPSyntax.lf,
                   remainingSection >= 2 {
                    offset &+= 2
                    sectionLength &+= 2
                    if let event = headEnded(input, consumed: offset) { return event }
                    continue
                }
                if scanned == 0, offset < input.count, input[offset] != HTTPSyntax.cr {
                    // Every plain field line that follows, in one call.
                    var fault: PartialHead.FieldFault?
                    var faultLine = 0
                    let next = head.addPlainFieldLines(
                        input, from: offset, sectionLength: &sectionLength, maxSection: limits.maxHeaderSectionLength,
                        maxCount: limits.maxHeaderCount, fault: &fault, faultLine: &faultLine)
                    if let fault {
                        offset = next
                        return fail(fault.error(line: UnsafeRawBufferPointer(rebasing: input[faultLine..<next - 2]), maxCount: limits.maxHeaderCount))
                    }
                    if next != offset {
                        offset = next
                        continue
                    }
                }
                switch nextLine(input, from: offset, limit: remainingSection &- 2) {
                case .incomplete:
                    return .needMore
                case .tooLong:
                    return fail(.headersTooLarge("the header section is longer than \(limits.maxHeaderSectionLength) bytes"))
                case .invalid(let fault):
                    return fail(fault.error)
                case .line(let end):
                    let start = offset
                    offset = end &+ 2
                    sectionLength &+= end &- start &+ 2
                    if end > start {
                        let line = UnsafeRawBufferPointer(rebasing: input[start..<end])
                        if let fault = head.addField(line, maxCount: limits.maxHeaderCount) {
                            return fail(fault.error(line: line, maxCount: limits.maxHeaderCount))
                        }
                        continue
                    }
                    if let event = headEnded(input, consumed: offset) { return event }
                }
            case .body(let remaining):
                let available = min(remaining, input.count - offset)
                // As typed bytes: a raw buffer is appended byte by byte.
                let piece = UnsafeRawBufferPointer(rebasing: input[offset..<offset + available]).assumingMemoryBound(to: UInt8.self)
                if replacesBody {
                    replacesBody = false
                    head.body.replaceSubrange(0..<head.body.count, with: piece)
                } else {
                    head.body.append(contentsOf: piece)
                }
                offset += available
                if available == remaining { return completeRequest() }
                state = .body(remaining: remaining - available)
                return .needMore
            case .chunkSize, .chunkData, .chunkDataEnd, .trailers:
                switch decodeChunked(input, offset: &offset) {
                case .some(let event): return event
                case .none: continue
                }
            }
        }
    }

    /// Puts the decoder into its final failed state.
    mutating func fail(_ error: HTTPError) -> Step {
        failure = error
        state = .failed
        return .failure(error)
    }

    /// Whether the request decoded last is a `HEAD` request (its response
    /// has no body): told by the method's bytes (``PartialHead/isHead``).
    private(set) var requestIsHead = false

    /// The head is complete (and its body, if any): the request is the
    /// head's until ``moveRequest(into:)``.
    mutating func completeRequest() -> Step {
        requestIsHead = head.isHead
        state = .requestLine
        sectionLength = 0
        return .request(keepAlive: head.keepAlive)
    }

    /// Swaps the request just decoded (``Step/request(keepAlive:)``) into
    /// `request`, whose parts the head takes in exchange for the next
    /// request: they must hold no query, and storage only where the next
    /// request may write over it (see ``SpareRequestStorage/recycle(_:)``).
    /// Swapped, no part is retained or released.
    mutating func moveRequest(into request: inout HTTPRequest) {
        head.swapRequest(with: &request)
        head.reset()
    }

    // MARK: Lines

    enum LineResult {
        /// A complete line whose content ends at this index (where its CR is).
        case line(end: Int)
        case incomplete
        case tooLong
        /// A byte no line may hold. Its `HTTPError` is made only then: an
        /// error in every result made each one a large value returned
        /// through memory.
        case invalid(LineFault)
    }

    /// Why a line is refused.
    enum LineFault {
        case bareLF
        case bareCR
        case control(UInt8)

        var error: HTTPError {
            switch self {
            case .bareLF: .invalidRequest("bare LF: lines must end with CRLF")
            case .bareCR: .invalidRequest("bare CR: CR must be followed by LF")
            case .control(let byte): .invalidRequest("control byte 0x\(String(byte, radix: 16)) in the request head")
            }
        }
    }

    /// The head's blank line was read, and `offset` bytes of `input` are
    /// consumed: decides the framing, and returns the event to answer with,
    /// or nil to go on decoding (the body).
    @inline(__always)
    private mutating func headEnded(_ input: UnsafeRawBufferPointer, consumed offset: Int) -> Step? {
        // Nearly every head's framing told inline (``PartialHead/usualFraming(maxBodyLength:)``);
        // any other's by the full rules.
        let framing: PartialHead.Framing
        if let usual = head.usualFraming(maxBodyLength: limits.maxBodyLength) {
            framing = usual
        } else {
            switch head.framing(limits: limits) {
            case .failure(let error): return fail(error)
            case .success(let decided): framing = decided
            }
        }
        switch framing {
        case .none:
            if !head.body.isEmpty { head.body.removeAll(keepingCapacity: true) }
            return completeRequest()
        case .length(let length):
            replacesBody = !head.body.isEmpty
            if head.body.capacity < length {
                if replacesBody { head.body = [] }
                replacesBody = false
                head.body.reserveCapacity(length)
            }
            state = .body(remaining: length)
        case .chunked:
            if !head.body.isEmpty { head.body.removeAll(keepingCapacity: true) }
            state = .chunkSize
        }
        if head.expectsContinue && offset == input.count {
            return .continueExpected
        }
        return nil
    }

    /// Finds the CRLF ending the line that starts at `start`, checking each
    /// byte once: bare CR, bare LF and control bytes fail at once, which also
    /// turns away a TLS ClientHello on its first byte. (Its offsets are
    /// within the input: added without overflow checks.)
    mutating func nextLine(_ input: UnsafeRawBufferPointer, from start: Int, limit: Int) -> LineResult {
        var index = start &+ scanned
        while index < input.count {
            // Eight bytes at a time while none is a control byte (CR, LF,
            // any other below 0x20, DEL): most of a line is skipped without
            // a test per byte, and the rest up to the first control byte at once.
            if input.count &- index >= 8 {
                let flags = Self.controlBytes(UInt64(littleEndian: input.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
                if flags == 0 {
                    index &+= 8
                    continue
                }
                index &+= flags.trailingZeroBitCount >> 3
            }
            let byte = input[index]
            if byte == HTTPSyntax.lf {
                guard index > start, input[index &- 1] == HTTPSyntax.cr else {
                    return .invalid(.bareLF)
                }
                scanned = 0
                guard index &- 1 &- start <= limit else { return .tooLong }
                return .line(end: index &- 1)
            }
            if byte == HTTPSyntax.cr {
                if index &+ 1 < input.count {
                    guard input[index &+ 1] == HTTPSyntax.lf else { return .invalid(.bareCR) }
                    // The line's end, answered here rather than after one
                    // more turn of the loop to the LF.
                    scanned = 0
                    guard index &- start <= limit else { return .tooLong }
                    return .line(end: index)
                }
            } else if HTTPSyntax.isForbiddenControl(byte) {
                return .invalid(.control(byte))
            }
            index &+= 1
        }
        // Re-check a trailing CR next time, when the byte after it is known.
        scanned = index - start - (index > start && input[index - 1] == HTTPSyntax.cr ? 1 : 0)
        return scanned > limit ? .tooLong : .incomplete
    }

    /// Whether no byte of `word` is below 0x20 or is 0x7F (bytes ≥ 0x80,
    /// UTF-8 in a field value, are plain too).
    static func isPlain(_ word: UInt64) -> Bool {
        controlBytes(word) == 0
    }

    /// The high bit of each byte of `word` (little-endian) that is below
    /// 0x20 or is 0x7F — exact up to the first such byte; a borrow may
    /// also flag bytes after it, so only the lowest flag counts.
    static func controlBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let below0x20 = (word &- ones &* 0x20) & ~word & highBits
        let delete = word ^ (ones &* 0x7F)
        let has0x7F = (delete &- ones) & ~delete & highBits
        return below0x20 | has0x7F
    }
}

extension HTTPRequestDecoder {
    /// Whether the head is complete and body bytes are still expected.
    var isReceivingBody: Bool {
        switch state {
        case .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        case .requestLine, .headers, .failed: false
        }
    }
}
