import Foundation
import HTTPTypes
import OpenAPIRuntime

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
struct DirectLeaseCalls: Sendable {
    let transport: SocketTransport
    let target: SocketTransport.Target
    let serverURL: URL
    let configuration: Configuration
    /// `Authorization: Bearer SECRET` as ``BearerToken`` sets it, or nil.
    let authorization: String?
    private let coder: JSONCoder

    /// Direct calls over `transport` to `serverURL`, or nil when the URL is not one it can serve
    /// (the generated client then reports that).
    init?(transport: SocketTransport, serverURL: URL, configuration: Configuration, bearerToken: String?) {
        guard let target = try? SocketTransport.Target(serverURL) else { return nil }
        self.transport = transport
        self.target = target
        self.serverURL = serverURL
        self.configuration = configuration
        self.authorization = bearerToken.map { "Bearer \($0)" }
        self.coder = JSONCoder(configuration)
    }

    func acquireLock(_ name: String, _ request: Components.Schemas.AcquireRequest) async throws -> Operations.AcquireLock.Output {
        // Made only when needed: its default `Accept` values cost a few µs per request.
        func input() -> Operations.AcquireLock.Input { .init(path: .init(name: name), body: .json(request)) }
        let raw = try await send(input, Operations.AcquireLock.id) { try acquireMessage(name, request) }
        switch raw.status {
        case 201: if let lease = lease(raw) { return .created(.init(body: .json(lease))) }
        case 200: if let lease = lease(raw) { return .ok(.init(body: .json(lease))) }
        default: break
        }
        return try await replay(raw).acquireLock(input())
    }

    func renewLock(_ name: String, token: String, _ request: Components.Schemas.RenewRequest) async throws -> Operations.RenewLock.Output {
        func input() -> Operations.RenewLock.Input { .init(path: .init(name: name), headers: .init(lockToken: token), body: .json(request)) }
        let raw = try await send(input, Operations.RenewLock.id) { try renewMessage(name, token: token, request) }
        if raw.status == 200, let lease = lease(raw) { return .ok(.init(body: .json(lease))) }
        return try await replay(raw).renewLock(input())
    }

    func releaseLock(_ name: String, token: String) async throws -> Operations.ReleaseLock.Output {
        func input() -> Operations.ReleaseLock.Input { .init(path: .init(name: name), headers: .init(lockToken: token)) }
        let raw = try await send(input, Operations.ReleaseLock.id) { releaseMessage(name, token: token) }
        if raw.status == 204 { return .noContent(.init()) }
        return try await replay(raw).releaseLock(input())
    }

    // MARK: Requests

    /// The generated client's `Accept` values (its defaults), made once.
    private static let acceptAcquire = Operations.AcquireLock.Input.Headers().accept.map(\.rawValue).joined(separator: ", ")
    private static let acceptRenew = Operations.RenewLock.Input.Headers(lockToken: "").accept.map(\.rawValue).joined(separator: ", ")
    private static let acceptRelease = Operations.ReleaseLock.Input.Headers(lockToken: "").accept.map(\.rawValue).joined(separator: ", ")

    func acquireMessage(_ name: String, _ request: Components.Schemas.AcquireRequest) throws -> [UInt8] {
        let body = try LeaseCallJSON.body(request, options: configuration.jsonEncodingOptions) ?? coder.encode(request)
        return message("POST", "/locks/\(Self.escaped(name))", token: nil, accept: Self.acceptAcquire, body: body)
    }

    func renewMessage(_ name: String, token: String, _ request: Components.Schemas.RenewRequest) throws -> [UInt8] {
        message("POST", "/locks/\(Self.escaped(name))/renew", token: token, accept: Self.acceptRenew, body: try coder.encode(request))
    }

    func releaseMessage(_ name: String, token: String) -> [UInt8] {
        message("DELETE", "/locks/\(Self.escaped(name))", token: token, accept: Self.acceptRelease, body: nil)
    }

    /// A request's bytes, fields in the generated client's order (`Lock-Token`, `Accept`,
    /// `Content-Type`, then the bearer middleware's `Authorization`), laid out as
    /// ``SocketTransport`` lays out any request.
    private func message(_ method: String, _ path: String, token: String?, accept: String, body: [UInt8]?) -> [UInt8] {
        var head = "\(method) \(target.basePath)\(path) HTTP/1.1\r\nHost: \(target.hostField)\r\n"
        if let token { head += "Lock-Token: \(Self.escaped(token))\r\n" }
        head += "Accept: \(accept)\r\n"
        if body != nil { head += "Content-Type: application/json; charset=utf-8\r\n" }
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        // SocketTransport gives every POST a length, and a DELETE one only with a body.
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if let body { bytes += body }
        return bytes
    }

    /// Sends the request `message` makes; failures are reported as the generated client reports them.
    private func send(_ input: () -> some Sendable, _ operationID: String, _ message: () throws -> [UInt8]) async throws -> RawResponse {
        let bytes: [UInt8]
        do {
            bytes = try message()
        } catch {
            throw ClientError(operationID: operationID, operationInput: input(), causeDescription: "Unknown", underlyingError: error)
        }
        do {
            return try await transport.exchange(bytes, with: target, deadline: RequestDeadline.current)
        } catch {
            throw ClientError(
                operationID: operationID, operationInput: input(), baseURL: serverURL,
                causeDescription: "Transport threw an error.", underlyingError: error
            )
        }
    }

    /// A path parameter or header value as the generated client's URI coder writes it
    /// (simple style): RFC 3986 unreserved bytes as they are, every other byte `%XX`.
    static func escaped(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Answers

    /// The lease in a success answer, when it is JSON (as the generated client
    /// requires: no `Content-Type`, or `application/json`) and decodes; else nil.
    private func lease(_ raw: RawResponse) -> Components.Schemas.Lease? {
        if let field = raw.fields.first(where: { $0.name.lowercased() == "content-type" }) {
            var mediaType = field.value.prefix { $0 != ";" }
            while mediaType.last == " " || mediaType.last == "\t" { mediaType = mediaType.dropLast() }
            guard mediaType.lowercased() == "application/json" else { return nil }
        }
        return LeaseCallJSON.lease(raw.body, dates: configuration.dateTranscoder)
            ?? (try? coder.decode(Components.Schemas.Lease.self, from: raw.body))
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
