import LockEngine
import LockdHTTP
import Logging
import ServiceLifecycle

/// The HTTP server as a service: it serves (it was started by ``LockdApp``,
/// so that a bad address fails before anything runs) until graceful
/// shutdown, then stops accepting, closes idle connections and lets requests
/// in flight finish within `gracePeriod`.
struct HTTPServerService: Service {
    let server: HTTPServer
    let gracePeriod: Duration

    func run() async {
        // Returns on graceful shutdown, or throws when cancelled: drain either way.
        try? await gracefulShutdown()
        await server.shutdown(gracePeriod: gracePeriod)
    }
}

/// The engine's wake-ups and waiter upkeep as a service. On graceful shutdown
/// it answers every waiter 503 and stops — first of all, so that the HTTP
/// server's drain does not wait for long polls.
struct LockEngineService: Service {
    let engine: LockEngine
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown { [engine] in await engine.run() }
        } onGracefulShutdown: { [engine, logger] in
            logger.info("shutting down")
            engine.beginShutdown()
        }
    }
}

/// The store and its Redis clients: readied for the first requests as lockd
/// starts serving (``RedisLockBackend/prepare()``, which a Redis that is
/// down does not hold up: it goes on trying until shutdown), then idle until
/// shutdown, then closed — last, once no request can use them.
struct StoreService: Service {
    let store: any LockStore
    let redis: RedisLockBackend?

    func run() async {
        if let redis { await cancelWhenGracefulShutdown { await redis.prepare() } }
        try? await gracefulShutdown()
        await store.close()
        await redis?.shutdown()
    }
}
