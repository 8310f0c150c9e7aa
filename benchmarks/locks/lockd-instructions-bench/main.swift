// lockd composed as the `lockd` executable composes it (Redis store, engine,
// API with its metrics, HTTP server, logging bootstrapped the same way; no
// access log, log level warning), for
// benchmarks/locks/instructions.sh. Valgrind cannot run `lockd` itself: an
// async `@main` parks the main thread in libdispatch's signal thread, which
// crashes valgrind 3.19; here `main` is synchronous and only pauses.
// Usage: lockd-instructions-bench HOST:PORT REDIS_URL|memory [EVENT_LOOPS]
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import LockdTransport
import Logging

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    print("usage: lockd-instructions-bench HOST:PORT REDIS_URL|memory [EVENT_LOOPS]")
    exit(2)
}
// As lockd bootstraps it (text format): the request id comes from the metadata provider.
LoggingSystem.bootstrap({ label, provider in
    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
    handler.logLevel = .warning
    return handler
}, metadataProvider: HTTPRequestLogMetadata.metadataProvider)
let logger = Logger(label: "lockd")
let loops = try EventLoopGroup(loopCount: arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1)
// REDIS_URL `memory`: the in-memory store, as `lockd --store memory` runs.
let inMemory = arguments[1] == "memory"
let metrics = LockdMetrics(store: inMemory ? "memory" : "redis")
let redis = inMemory ? nil : try RedisLockBackend(configuration: try RedisConfiguration(url: arguments[1]), loops: loops,
                                                  metrics: metrics.lock, logger: logger)
let engine = LockEngine(store: redis?.store ?? InMemoryLockStore(), configuration: LockEngineConfiguration(), loops: loops,
                        upkeepLoop: redis?.upkeepLoop, metrics: metrics.lock, logger: logger)
let api = metrics.api(engine: engine, redis: redis?.client, accessLog: nil) { 0 }
let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: arguments[0]), responder: api.responder,
                        eventLoopGroup: loops, logger: logger, observer: api.observer)
// The engine's loop on the global executor, as lockd's service group runs
// it. Not a top-level `Task { … }`: that is the main actor's, and the main
// thread here only pauses, so it never ran (no upkeep, no wake-ups: a
// queued waiter was answered only when its wait ended).
let upkeep = Task.detached { [engine] in await engine.run() }
// Proven once before listening: instructions.sh never sees a bench whose loop does not run.
let upkeepChecked = DispatchSemaphore(value: 0)
Task.detached { [engine] in
    if let failure = await UpkeepCheck.run(engine: engine) {
        print("lockd-instructions-bench: \(failure)")
        fflush(nil)
        exit(1)
    }
    upkeepChecked.signal()
}
upkeepChecked.wait()
let bound = try server.start()
print("lockd-instructions-bench listening on \(bound[0])")
fflush(nil)
while true { pause() }
