// What CompressingResponder adds to a lease-sized answer, in process, where
// other processes' load cannot blur a 3% difference the way it blurs a lock
// cycle rate: the same POST (lease JSON) and DELETE (204) through a bare
// router and through CompressingResponder(wrapping: router), requests
// carrying the headers URLSession sends (Accept-Encoding included).
// Alternated ROUNDS times; the fastest round of each is reported, in the
// thread's CPU time (the loop never suspends, so it stays on one thread):
// time spent descheduled by other processes does not count.
// Usage: lockd-gzip-bench [ITERATIONS] [ROUNDS]   (release build; defaults 200000, 15)
#if canImport(Glibc)
import Glibc
#endif
import LockdHTTP
import LockdHTTPCompression
import LockdTransport
import Logging

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
let rounds = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 15

let lease = Array(#"{"name":"orders:4711","token":"XiLQYyqkf3g9bJo28ML3Lz9vNjqL0pfa","fence":1795922330502220,"ttl_ms":30000,"expires_at":"2026-11-29T03:18:55.502Z","owner":"billing-7"}"#.utf8)
var router = Router()
router.add(.post, "/locks/{name}") { _, _ in
    HTTPResponse(status: .created, headers: ["Content-Type": "application/json"], body: lease)
}
router.add(.delete, "/locks/{name}") { _, _ in HTTPResponse(status: .noContent) }
let wrapped = CompressingResponder(wrapping: router)

let common: [HTTPHeaders.Field] = [
    ("Host", "127.0.0.1:7070"), ("Accept", "*/*"), ("Accept-Language", "en-US,en;q=0.9"),
    ("Accept-Encoding", "gzip, deflate, br"), ("User-Agent", "lockd-client/0.1 CFNetwork"),
]
let acquire = HTTPRequest(method: .post, path: "/locks/orders:4711",
                          headers: HTTPHeaders(common + [("Content-Type", "application/json"), ("Content-Length", "17")]),
                          body: Array(#"{"ttl_ms":30000}"#.utf8))
let release = HTTPRequest(method: .delete, path: "/locks/orders:4711",
                          headers: HTTPHeaders(common + [("Lock-Token", "XiLQYyqkf3g9bJo28ML3Lz9vNjqL0pfa")]))
let context = HTTPRequestContext(eventLoop: try EventLoop.spawn(name: "bench"), logger: Logger(label: "bench"))

/// CPU nanoseconds this thread has used.
func threadCPUNanoseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) * 1e9 + Double(now.tv_nsec)
}

/// CPU nanoseconds per acquire+release pair through `responder`, called as
/// the server calls it: through `any HTTPResponder`.
func measure(_ responder: any HTTPResponder) async -> Double {
    var sink = 0
    let started = threadCPUNanoseconds()
    for _ in 0..<iterations {
        sink &+= await responder.respond(to: acquire, context: context).body.count
        sink &+= await responder.respond(to: release, context: context).body.count
    }
    let used = threadCPUNanoseconds() - started
    precondition(sink == iterations * lease.count)
    return used / Double(iterations)
}

var bare: [Double] = []
var compressing: [Double] = []
for round in 0..<rounds {
    // Alternate which goes first.
    if round % 2 == 0 {
        bare.append(await measure(router))
        compressing.append(await measure(wrapped))
    } else {
        compressing.append(await measure(wrapped))
        bare.append(await measure(router))
    }
}
let fastestBare = bare.min() ?? 0
let fastestCompressing = compressing.min() ?? 0
print("responder_pair_ns bare=\(Int(fastestBare)) compressing=\(Int(fastestCompressing)) added=\(Int(fastestCompressing - fastestBare))")
