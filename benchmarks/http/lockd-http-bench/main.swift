// lockd's HTTP server alone, for benchmarks/http/run.py: GET /healthz, and
// POST /locks/{name} answering the same ~150-byte JSON as the nginx,
// Hummingbird and FlyingFox anchors.
// Usage: lockd-http-bench [HOST:PORT] [CERT.pem KEY.pem]
//   (default 127.0.0.1:18083; with a certificate and key it serves HTTPS)
#if canImport(Glibc)
import Glibc
#endif
import LockdHTTP
import LockdTLS
import LockdTransport
import Logging

let arguments = Array(CommandLine.arguments.dropFirst())
let address = arguments.first ?? "127.0.0.1:18083"
var router = Router()
router.add(.get, "/healthz") { _, _ in
    HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"], body: Array("ok\n".utf8))
}
router.add(.post, "/locks/{name}") { _, context in
    let name = context.parameters["name"] ?? ""
    let body = #"{"name":"\#(name)","token":"6f1c2a9e-3b7d-4c8e-9a51-0d2f7e4b8c13","fence":1048576,"ttl_ms":30000,"expires_at":"2026-01-01T00:00:30.000Z","ok":true}"#
    return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
}
var logger = Logger(label: "lockd-http-bench")
logger.logLevel = .warning
var configuration = HTTPServerConfiguration(listenAddress: address)
if arguments.count >= 3 {
    configuration.tls = TLSServerConfiguration(certificateFile: arguments[1], privateKeyFile: arguments[2])
}
let group = try EventLoopGroup()
let server = HTTPServer(configuration: configuration, responder: router, eventLoopGroup: group, logger: logger)
let bound = try server.start()
print("lockd-http-bench listening on \(bound[0]) with \(group.loops.count) loops\(configuration.tls == nil ? "" : " (TLS)")")
fflush(nil)
while true { pause() }
