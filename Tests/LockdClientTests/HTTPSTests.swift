import Foundation
import HTTPTypes
import LockdClient
import LockdTLS
import LockdTestSupport
import OpenAPIRuntime
import Testing

/// The SDK against lockd over `https://` with a private CA, through a
/// caller's own `ClientTransport` (here one over LockdTLS) given to
/// `LockClient(serverURL:transport:)`. (`SocketTransport(caFile:)` is the
/// SDK's own way: SocketTransportTests.) URLSession on Linux verifies against
/// the system's CA bundle only.
@Suite struct HTTPSTests {
    static func tlsLockd<Result>(_ body: (TestLockd) async throws -> Result) async throws -> Result {
        let certificates = try TestCertificates.shared()
        return try await StoreKind.memory.withLockd(configure: {
            $0.http.tls = TLSServerConfiguration(certificateFile: certificates.serverCertificateFile, privateKeyFile: certificates.serverKeyFile)
        }, body)
    }

    @Test func acquireRenewReleaseAndWithLockOverHTTPSWithAPrivateCA() async throws {
        let certificates = try TestCertificates.shared()
        try await Self.tlsLockd { lockd in
            #expect(lockd.url.scheme == "https")
            let transport = PrivateCATransport(tls: TLSClientConfiguration(caFile: certificates.caFile, applicationProtocols: ["http/1.1"]))
            let locks = LockClient(serverURL: lockd.url, transport: transport, owner: "https-test", timeout: .seconds(10))
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, ttl: .seconds(30)))
            #expect(lease.fence >= 1)
            try await lease.renew(ttl: .seconds(60))
            #expect(try await locks.status(name).holders.map(\.fence) == [lease.fence])
            try await lease.release()
            #expect(try await locks.status(name).isHeld == false)
            let fence = try await locks.withLock(name, ttl: .seconds(30)) { $0.fence }
            #expect(fence > lease.fence)

            // A client that does not trust the CA gets a transport error, not an answer.
            let untrusting = LockClient(
                serverURL: lockd.url, transport: PrivateCATransport(tls: TLSClientConfiguration(caFile: certificates.otherCAFile)),
                timeout: .seconds(5))
            await #expect(throws: (any Error).self) { _ = try await untrusting.status(name) }
        }
    }
}

/// A `ClientTransport` over one TLS connection per request, trusting the
/// CAs of `tls` — the hook for a private CA where URLSession has none.
struct PrivateCATransport: ClientTransport {
    let tls: TLSClientConfiguration

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        guard let host = baseURL.host, let port = baseURL.port.flatMap({ UInt16(exactly: $0) }) else {
            throw TestFailure("no host and port in \(baseURL)")
        }
        var bytes: [UInt8] = []
        if let body { bytes = try await [UInt8](collecting: body, upTo: 1 << 20) }
        var head = "\(request.method.rawValue) \(baseURL.path)\(request.path ?? "/") HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for field in request.headerFields { head += "\(field.name.rawName): \(field.value)\r\n" }
        head += "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        let tls = self.tls
        let client = try await offThePool { try RawHTTPClient(host: host, port: port, tls: tls) }
        let raw = try await withTaskCancellationHandler {
            try client.send(Array(head.utf8) + bytes)
            return try await client.readResponse(timeout: .seconds(60))
        } onCancel: {
            client.close()
        }
        var fields = HTTPFields()
        for (name, value) in raw.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return (HTTPResponse(status: .init(code: raw.status), headerFields: fields), HTTPBody(raw.body))
    }
}
