// libFuzzer entry point for LockdHTTP's request decoder; built by Fuzz/run.sh,
// not part of `swift test` (which runs a bounded random test instead).
//
// Each input is decoded twice — whole, and cut in two at a point taken from
// its first byte — and the outcomes must agree; a crash, a hang or a
// disagreement is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = HTTPRequestLimits(maxRequestLineLength: 512, maxHeaderSectionLength: 1024, maxHeaderCount: 16, maxBodyLength: 1024)
    let whole = decode(bytes, cut: nil, limits: limits)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let split = decode(bytes, cut: cut, limits: limits)
    precondition(whole == split, "cutting at \(cut) changed the outcome: \(whole) vs \(split)")
    return 0
}

/// Decodes like a connection does; returns a summary of every event.
private func decode(_ bytes: [UInt8], cut: Int?, limits: HTTPRequestLimits) -> [String] {
    var decoder = HTTPRequestDecoder(limits: limits)
    var pending: [UInt8] = []
    var events: [String] = []
    let pieces = cut.map { [bytes[..<$0], bytes[$0...]] } ?? [bytes[...]]
    for piece in pieces {
        pending.append(contentsOf: piece)
        precondition(pending.count <= limits.maxRequestLineLength + limits.maxHeaderSectionLength + limits.maxChunkLineLength + bytes.count)
        decoding: while true {
            let (consumed, event) = pending.withUnsafeBytes { decoder.decode($0) }
            pending.removeFirst(consumed)
            switch event {
            case .needMore: break decoding
            case .continueExpected: continue
            case .request(let request, let keepAlive):
                events.append("\(request.method) \(request.path) \(request.query ?? "") \(request.headers.count) \(request.body) \(keepAlive)")
            case .failure(let error):
                events.append("\(error.status.code)")
                return events
            }
        }
    }
    return events
}
