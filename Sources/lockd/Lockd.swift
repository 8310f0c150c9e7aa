import Dispatch
import LockdAPI
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the service until SIGTERM or SIGINT, then shuts down gracefully.
struct Lockd {
    let settings: Settings
    let logger: Logger

    func run() async throws {
        // Watch for signals before anything else, so a SIGTERM that arrives
        // while lockd is still starting also ends in a graceful exit 0.
        let signals = TerminationSignals()
        var engine = LockdConfiguration().engine
        engine.maxWaitMs = settings.maxWaitMs
        let service = try LockdService(
            configuration: LockdConfiguration(listen: settings.listen, redisURL: settings.redisURL, redisTLS: settings.redisTLS, engine: engine),
            logger: logger
        )
        let addresses: String
        do {
            addresses = try service.start().map(\.description).joined(separator: ", ")
        } catch {
            await service.shutdown()
            throw Settings.Invalid(description: "--listen / LOCKD_LISTEN: cannot listen on '\(settings.listen)': \(error)")
        }
        if service.isInMemory {
            logger.warning("""
                IN-MEMORY STORE: leases live in this process only — not durable, not shared \
                with other lockd instances. Pass --redis redis://HOST:PORT for production.
                """)
        } else {
            logger.info("store: redis", metadata: ["redis.endpoint": "\(Self.endpoint(of: settings.redisURL ?? ""))"])
        }
        logger.info("lockd listening", metadata: ["addresses": "\(addresses)"])

        let runner = Task { await service.run() }
        let signal = await signals.next()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        await service.shutdown()
        runner.cancel()
        await runner.value
        logger.info("stopped")
    }

    /// The URL's host and port without credentials, for logs.
    static func endpoint(of url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return "?" }
        var rest = url[scheme.upperBound...]
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        return String(rest)
    }
}

/// SIGTERM and SIGINT, caught from the moment this is created: the default
/// action (dying at once, exit status by signal) is replaced by a graceful stop.
private final class TerminationSignals: @unchecked Sendable {
    // Safe: `state` is a Mutex; `sources` is written once, in init, and
    // never read: it only keeps the sources alive as long as this object.
    private let state = Mutex<(received: String?, waiter: CheckedContinuation<String, Never>?)>((nil, nil))
    private var sources: [any DispatchSourceSignal] = []

    init() {
        let queue = DispatchQueue(label: "lockd.signals")
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in fire(name) }
            source.resume()
            sources.append(source)
        }
    }

    /// Suspends until the first signal arrives (or returns it at once if it
    /// already has); returns its name.
    func next() async -> String {
        await withCheckedContinuation { continuation in
            let received = state.withLock { state -> String? in
                if state.received == nil { state.waiter = continuation }
                return state.received
            }
            if let received { continuation.resume(returning: received) }
        }
    }

    private func fire(_ name: String) {
        let waiter = state.withLock { state -> CheckedContinuation<String, Never>? in
            guard state.received == nil else { return nil }
            state.received = name
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: name)
    }
}
