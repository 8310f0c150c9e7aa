import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Acquire, renew and release — the calls a lock cycle makes — sent straight
/// over ``SocketTransport``, as the very requests the generated client sends,
/// without swift-openapi-runtime's per-request work (path and header encoding
/// through its URI coder, `HTTPRequest` and `HTTPBody` values, middlewares),
/// which cost most of a cycle's client CPU (benchmarks/sdk).
///
/// Only the expected success is read here (201/200 with a JSON lease, 204);
/// any other answer — a problem, another status or content type, a body that
/// does not decode — goes to the generated client's own deserializer
/// (``ReplayTransport``), so it is read exactly as the generated client reads
/// it. `DirectLeaseCallsTests` checks that the requests are byte for byte the
/// generated client's.
final class DirectLeaseCalls: Sendable {
    let transport: SocketTransport
    let target: SocketTransport.Target
    let serverURL: URL
    let configuration: Configuration
    /// The request line's end and the `Host` field: ` HTTP/1.1\r\nHost: …\r\n`.
    private let fixedFields: [UInt8]
    /// The base URL's path, put before every request's path.
    private let basePath: [UInt8]
    /// `Authorization: Bearer SECRET\r\n` as ``BearerToken`` sets it, or nothing.
    private let authorizationField: [UInt8]
    private let coder: JSONCoder
    /// The target's connection pool, once looked up (a lookup hashes the host on every request).
    private let pool = Mutex<ConnectionPool?>(nil)

    /// Direct calls over `transport` to `serverURL`, or nil when the URL is not one it can serve
    /// (the generated client then reports that).
    init?(transport: SocketTransport, serverURL: URL, configuration: Configuration, bearerToken: String?) {
        guard let target = try? SocketTransport.Target(serverURL) else { return nil }
        self.transport = transport
        self.target = target
        self.serverURL = serverURL
        self.configuration = configuration
        self.fixedFields = Array(" HTTP/1.1\r\nHost: \(target.hostField)\r\n".utf8)
        self.basePath = Array(target.basePath.utf8)
        self.authorizationField = bearerToken.map { Array("Authorization: Bearer \($0)\r\n".utf8) } ?? []
        self.coder = JSONCoder(configuration)
    }

    /// `deadline` bounds each call's exchange (the generated client's calls take it from ``RequestDeadline``).
    nonisolated(nonsending) func acquireLock(
        _ name: String, _ request: Components.Schemas.AcquireRequest, until deadline: ContinuousClock.Instant
    ) async throws -> Operations.AcquireLock.Output {
        // Made only when needed: its default `Accept` values cost a few µs per request.
        func input() -> Operations.AcquireLock.Input { .init(path: .init(name: name), body: .json(request)) }
        let raw = try await send(input, Operations.AcquireLock.id, until: deadline) { try acquireMessage(name, request) }
        switch raw.status {
        case 201: if let lease = lease(raw) { return .created(.init(body: .json(lease))) }
        case 200: if let lease = lease(raw) { return .ok(.init(body: .json(lease))) }
        default: break
        }
        return try await replay(raw).acquireLock(input())
    }

    nonisolated(nonsending) func renewLock(
        _ name: String, token: String, _ request: Components.Schemas.RenewRequest, until deadline: ContinuousClock.Instant
    ) async throws -> Operations.RenewLock.Output {
        func input() -> Operations.RenewLock.Input { .init(path: .init(name: name), headers: .init(lockToken: token), body: .json(request)) }
        let raw = try await send(input, Operations.RenewLock.id, until: deadline) { try renewMessage(name, token: token, request) }
        if raw.status == 200, let lease = lease(raw) { return .ok(.init(body: .json(lease))) }
        return try await replay(raw).renewLock(input())
    }

    nonisolated(nonsending) func releaseLock(
        _ name: String, token: String, until deadline: ContinuousClock.Instant
    ) async throws -> Operations.ReleaseLock.Output {
        func input() -> Operations.ReleaseLock.Input { .init(path: .init(name: name), headers: .init(lockToken: token)) }
        // Not cancellable: a cancelled caller still gives the lock back (withLock
        // releases in the cancelled task itself), and a release cut off half-way
        // could have gone through unseen.
        let raw = try await send(input, Operations.ReleaseLock.id, until: deadline, cancellable: false) { releaseMessage(name, token: token) }
        if raw.status == 204 { return .noContent(.init()) }
        return try await replay(raw).releaseLock(input())
    }

    // MARK: Requests

    /// The generated client's `Accept` fields (its defaults), made once.
    private static let acceptAcquire = acceptField(Operations.AcquireLock.Input.Headers().accept.map(\.rawValue))
    private static let acceptRenew = acceptField(Operations.RenewLock.Input.Headers(lockToken: "").accept.map(\.rawValue))
    private static let acceptRelease = acceptField(Operations.ReleaseLock.Input.Headers(lockToken: "").accept.map(\.rawValue))

    private static func acceptField(_ values: [String]) -> [UInt8] {
        Array("Accept: \(values.joined(separator: ", "))\r\n".utf8)
    }

    func acquireMessage(_ name: String, _ request: Components.Schemas.AcquireRequest) throws -> [UInt8] {
        let body = try LeaseCallJSON.body(request, options: configuration.jsonEncodingOptions) ?? coder.encode(request)
        return message("POST ", name, "", token: nil, accept: Self.acceptAcquire, body: body)
    }

    func renewMessage(_ name: String, token: String, _ request: Components.Schemas.RenewRequest) throws -> [UInt8] {
        message("POST ", name, "/renew", token: token, accept: Self.acceptRenew, body: try coder.encode(request))
    }

    func releaseMessage(_ name: String, token: String) -> [UInt8] {
        message("DELETE ", name, "", token: token, accept: Self.acceptRelease, body: nil)
    }

    /// A request's bytes, fields in the generated client's order (`Lock-Token`, `Accept`,
    /// `Content-Type`, then the bearer middleware's `Authorization`), laid out as
    /// ``SocketTransport`` lays out any request. Written as bytes: string
    /// interpolation cost a fifth of a cycle's instructions.
    private func message(
        _ method: StaticString, _ name: String, _ suffix: StaticString, token: String?, accept: [UInt8], body: [UInt8]?
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(200 + fixedFields.count + name.utf8.count + (token?.utf8.count ?? 0) + (body?.count ?? 0))
        bytes.append(method)
        bytes += basePath
        bytes.append("/locks/")
        Self.appendEscaped(name, to: &bytes)
        bytes.append(suffix)
        bytes += fixedFields
        if let token {
            bytes.append("Lock-Token: ")
            Self.appendEscaped(token, to: &bytes)
            bytes.append("\r\n")
        }
        bytes += accept
        if body != nil { bytes.append("Content-Type: application/json; charset=utf-8\r\n") }
        bytes += authorizationField
        // SocketTransport gives every POST a length, and a DELETE one only with a body.
        if let body {
            bytes.append("Content-Length: ")
            bytes += String(body.count).utf8
            bytes.append("\r\n\r\n")
            bytes += body
        } else {
            bytes.append("\r\n")
        }
        return bytes
    }

    /// Sends the request `message` makes; failures are reported as the generated client reports them.
    private nonisolated(nonsending) func send(
        _ input: () -> some Sendable, _ operationID: String, until deadline: ContinuousClock.Instant, cancellable: Bool = true,
        _ message: () throws -> [UInt8]
    ) async throws -> RawResponse {
        let bytes: [UInt8]
        do {
            bytes = try message()
        } catch {
            throw ClientError(operationID: operationID, operationInput: input(), causeDescription: "Unknown", underlyingError: error)
        }
        do {
            return try await transport.exchange(bytes, on: try connectionPool(), deadline: deadline, cancellable: cancellable)
        } catch {
            throw ClientError(
                operationID: operationID, operationInput: input(), baseURL: serverURL,
                causeDescription: "Transport threw an error.", underlyingError: error
            )
        }
    }

    /// The target's pool, looked up once.
    private func connectionPool() throws -> ConnectionPool {
        if let pool = pool.withLock({ $0 }) { return pool }
        let found = try transport.pool(for: target)
        pool.withLock { $0 = found }
        return found
    }

    /// A path parameter or header value as the generated client's URI coder writes it
    /// (simple style): RFC 3986 unreserved bytes as they are, every other byte `%XX`.
    static func escaped(_ text: String) -> String {
        var bytes: [UInt8] = []
        appendEscaped(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `text` as ``escaped(_:)`` writes it.
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        // Sized first and written through a pointer: appended byte by byte, this
        // cost ~4k instructions a cycle (names with `:` need escaping).
        var text = text
        text.withUTF8 { utf8 in
            var escapes = 0
            for byte in utf8 where !isUnreserved(byte) { escapes += 1 }
            guard escapes > 0 else { return bytes.append(contentsOf: utf8) }
            var offset = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: utf8.count + 2 * escapes))
            let hex: StaticString = "0123456789ABCDEF"
            hex.withUTF8Buffer { hex in
                bytes.withUnsafeMutableBufferPointer { output in
                    for byte in utf8 {
                        if isUnreserved(byte) {
                            output[offset] = byte
                            offset += 1
                        } else {
                            output[offset] = UInt8(ascii: "%")
                            output[offset + 1] = hex[Int(byte >> 4)]
                            output[offset + 2] = hex[Int(byte & 0xF)]
                            offset += 3
                        }
                    }
                }
            }
        }
    }

    /// Whether RFC 3986 leaves `byte` as it is in a path or header value.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    // MARK: Answers

    /// The lease in a success answer, when it is JSON (as the generated client
    /// requires: no `Content-Type`, or `application/json`) and decodes; else nil.
    private func lease(_ raw: RawResponse) -> Components.Schemas.Lease? {
        // Compared byte by byte: lowercasing and walking Characters cost more than reading the lease.
        let json = raw.withValue(of: "content-type") { value in
            guard let value else { return true }
            var mediaType = value.prefix { $0 != UInt8(ascii: ";") }
            while let last = mediaType.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { mediaType = mediaType.dropLast() }
            return Self.equalIgnoringASCIICase(mediaType, "application/json")
        }
        guard json else { return nil }
        return LeaseCallJSON.lease(raw.body, dates: configuration.dateTranscoder)
            ?? (try? coder.decode(Components.Schemas.Lease.self, from: raw.body))
    }

    /// Whether `text` is `lowercase` in any ASCII case (`lowercase` is lowercase ASCII).
    private static func equalIgnoringASCIICase(_ text: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            text.count == expected.count && zip(text, expected).allSatisfy { byte, wanted in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == wanted : byte == wanted
            }
        }
    }

    /// A generated client that reads `raw` as if it had just arrived.
    private func replay(_ raw: RawResponse) -> Client {
        Client(serverURL: serverURL, configuration: configuration, transport: ReplayTransport(response: raw))
    }
}

/// Hands the generated client an answer that already arrived, sending nothing.
struct ReplayTransport: ClientTransport {
    let response: RawResponse

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        SocketTransport.decode(response)
    }
}

/// JSON as the generated client's converter writes and reads it: the same
/// output formatting, dates through the configuration's transcoder.
///
/// `JSONEncoder` and `JSONDecoder` are reused rather than made per request;
/// both are safe to use from several threads at once once configured.
private struct JSONCoder: Sendable {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    init(_ configuration: Configuration) {
        let transcoder = configuration.dateTranscoder
        encoder = JSONEncoder()
        var formatting = JSONEncoder.OutputFormatting()
        if configuration.jsonEncodingOptions.contains(.prettyPrinted) { formatting.formUnion(.prettyPrinted) }
        if configuration.jsonEncodingOptions.contains(.sortedKeys) { formatting.formUnion(.sortedKeys) }
        if configuration.jsonEncodingOptions.contains(.withoutEscapingSlashes) { formatting.formUnion(.withoutEscapingSlashes) }
        encoder.outputFormatting = formatting
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try transcoder.decode(try decoder.singleValueContainer().decode(String.self))
        }
    }

    func encode(_ value: some Encodable) throws -> [UInt8] { [UInt8](try encoder.encode(value)) }

    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T { try decoder.decode(type, from: Data(bytes)) }
}

extension [UInt8] {
    /// Appends `text`'s UTF-8 bytes.
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { self += $0 }
    }
}
