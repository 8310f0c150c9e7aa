@testable import LockdHTTP

/// What a decoder produced, in a form tests can compare.
enum DecodedEvent: Equatable, CustomStringConvertible {
    case request(method: String, path: String, query: String?, version: String, headers: [String], body: [UInt8], keepAlive: Bool)
    case continueExpected
    case failure(status: Int, type: String)

    var description: String {
        switch self {
        case .request(let method, let path, let query, let version, let headers, let body, let keepAlive):
            "\(method) \(path)\(query.map { "?\($0)" } ?? "") \(version) \(headers) body=\(body.count) keepAlive=\(keepAlive)"
        case .continueExpected: "100-continue"
        case .failure(let status, let type): "failure \(status) \(type)"
        }
    }

    var status: Int? {
        if case .failure(let status, _) = self { return status }
        return nil
    }
}

/// Feeds a decoder the way a connection does: pieces appended to the
/// unconsumed tail, decoded until it needs more.
struct DecodingHarness {
    var decoder: HTTPRequestDecoder
    var pending: [UInt8] = []
    var events: [DecodedEvent] = []
    var failed = false
    /// The most bytes ever held unconsumed, to check that memory stays bounded.
    var maxPending = 0

    init(limits: HTTPRequestLimits = HTTPRequestLimits()) {
        decoder = HTTPRequestDecoder(limits: limits)
    }

    mutating func feed(_ chunk: some Collection<UInt8>) {
        guard !failed else { return }
        pending.append(contentsOf: chunk)
        maxPending = max(maxPending, pending.count)
        while true {
            var consumed = 0
            let event = pending.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
            precondition(consumed <= pending.count)
            pending.removeFirst(consumed)
            switch event {
            case .needMore:
                return
            case .continueExpected:
                events.append(.continueExpected)
            case .request(let request, let keepAlive):
                events.append(.request(
                    method: request.method.rawValue, path: request.path, query: request.query,
                    version: request.version.description,
                    headers: request.headers.map { "\($0.name): \($0.value)" },
                    body: request.body, keepAlive: keepAlive))
            case .failure(let error):
                events.append(.failure(status: error.status.code, type: error.type))
                failed = true
                return
            }
        }
    }

    /// Decodes `bytes` cut at `splits` (ascending offsets).
    static func decode(_ bytes: [UInt8], splits: [Int] = [], limits: HTTPRequestLimits = HTTPRequestLimits()) -> [DecodedEvent] {
        var harness = DecodingHarness(limits: limits)
        var start = 0
        for split in splits + [bytes.count] where split >= start {
            harness.feed(bytes[start..<split])
            start = split
        }
        // A 100-continue depends on where the body's first byte falls; compare the rest.
        return harness.events.filter { $0 != .continueExpected }
    }

    static func decode(_ text: String, splits: [Int] = [], limits: HTTPRequestLimits = HTTPRequestLimits()) -> [DecodedEvent] {
        decode(Array(text.utf8), splits: splits, limits: limits)
    }
}
