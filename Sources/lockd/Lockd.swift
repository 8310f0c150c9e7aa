import Dispatch
import LockdAPI
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Runs the service until SIGTERM or SIGINT, then shuts down gracefully.
struct Lockd {
    let settings: Settings
    let logger: Logger

    func run() async throws {
        var engine = LockdConfiguration().engine
        engine.maxWaitMs = settings.maxWaitMs
        let service = try LockdService(
            configuration: LockdConfiguration(listen: settings.listen, redisURL: settings.redisURL, engine: engine),
            logger: logger
        )
        if service.isInMemory {
            logger.warning("""
                IN-MEMORY STORE: leases live in this process only — not durable, not shared \
                with other lockd instances. Pass --redis redis://HOST:PORT for production.
                """)
        } else {
            logger.info("store: redis", metadata: ["redis.endpoint": "\(Self.endpoint(of: settings.redisURL ?? ""))"])
        }
        let addresses = try service.start()
        logger.info("lockd listening", metadata: ["addresses": "\(addresses.map(\.description).joined(separator: ", "))"])

        let runner = Task { await service.run() }
        let signal = await Self.waitForTerminationSignal()
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

    /// Suspends until SIGTERM or SIGINT arrives; returns its name.
    static func waitForTerminationSignal() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let queue = DispatchQueue(label: "lockd.signals")
            let resumed = SignalLatch(continuation)
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { resumed.fire(name) }
                source.resume()
                resumed.keep(source)
            }
        }
    }
}

/// Resumes a continuation once, from whichever signal comes first, and keeps
/// the signal sources alive until then.
private final class SignalLatch: @unchecked Sendable {
    // Safe: every member is touched only on the serial queue "lockd.signals"
    // (the event handlers) or before the sources are resumed.
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) {
        self.continuation = continuation
    }

    func keep(_ source: any DispatchSourceSignal) { sources.append(source) }

    func fire(_ name: String) {
        continuation?.resume(returning: name)
        continuation = nil
    }
}
