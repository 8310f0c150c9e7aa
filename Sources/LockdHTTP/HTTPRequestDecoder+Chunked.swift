extension HTTPRequestDecoder {
    /// Decodes chunked framing (RFC 9112 §7.1) from `offset`; returns an event
    /// to hand back, or nil to go on with the next state.
    mutating func decodeChunked(_ input: UnsafeRawBufferPointer, offset: inout Int) -> Step? {
        switch state {
        case .chunkSize:
            switch nextLine(input, from: offset, limit: limits.maxChunkLineLength) {
            case .incomplete:
                return .needMore
            case .tooLong:
                return fail(.invalidRequest("chunk-size line longer than \(limits.maxChunkLineLength) bytes"))
            case .invalid(let fault):
                return fail(fault.error)
            case .line(let end):
                let line = UnsafeRawBufferPointer(rebasing: input[offset..<end])
                offset = end + 2
                guard let size = Self.chunkSize(line) else {
                    return fail(.invalidRequest("malformed chunk-size line"))
                }
                guard size <= limits.maxBodyLength - head.body.count else {
                    return fail(.payloadTooLarge("the body is longer than \(limits.maxBodyLength) bytes"))
                }
                if size == 0 {
                    state = .trailers
                    sectionLength = 0
                } else {
                    state = .chunkData(remaining: size)
                }
                return nil
            }
        case .chunkData(let remaining):
            let available = min(remaining, input.count - offset)
            head.body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<offset + available]))
            offset += available
            if available < remaining {
                state = .chunkData(remaining: remaining - available)
                return .needMore
            }
            state = .chunkDataEnd
            return nil
        case .chunkDataEnd:
            guard input.count - offset >= 2 else {
                if offset < input.count, input[offset] != HTTPSyntax.cr {
                    return fail(.invalidRequest("chunk data longer than its declared size"))
                }
                return .needMore
            }
            guard input[offset] == HTTPSyntax.cr, input[offset + 1] == HTTPSyntax.lf else {
                return fail(.invalidRequest("chunk data longer than its declared size"))
            }
            offset += 2
            state = .chunkSize
            return nil
        case .trailers:
            switch nextLine(input, from: offset, limit: limits.maxHeaderSectionLength - sectionLength - 2) {
            case .incomplete:
                return .needMore
            case .tooLong:
                return fail(.headersTooLarge("the trailer section is longer than \(limits.maxHeaderSectionLength) bytes"))
            case .invalid(let fault):
                return fail(fault.error)
            case .line(let end):
                let line = UnsafeRawBufferPointer(rebasing: input[offset..<end])
                sectionLength += end - offset + 2
                offset = end + 2
                if line.isEmpty { return completeRequest() }
                // Trailers are checked like header fields, then dropped.
                if let error = PartialHead.checkFieldLine(line) { return fail(error) }
                return nil
            }
        default:
            preconditionFailure("decodeChunked called in state \(state)")
        }
    }

    /// Parses `1*HEXDIG [ BWS ";" chunk-ext ]`; nil when malformed or above 2^60.
    static func chunkSize(_ line: UnsafeRawBufferPointer) -> Int? {
        var size = 0
        var index = 0
        while index < line.count, let digit = HTTPSyntax.hexValue(line[index]) {
            guard index < 15 else { return nil }
            size = size << 4 | Int(digit)
            index += 1
        }
        guard index > 0 else { return nil }
        while index < line.count, line[index] == HTTPSyntax.space || line[index] == HTTPSyntax.tab { index += 1 }
        guard index == line.count || line[index] == UInt8(ascii: ";") else { return nil }
        // Extensions are ignored; nextLine already refused control bytes in them.
        return size
    }
}
