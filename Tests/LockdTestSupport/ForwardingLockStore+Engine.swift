import LockEngine
import LockdTransport
import Logging

extension ForwardingLockStore {
    /// Runs `body` with an engine of its own over this wrapper, on a loop of
    /// its own: the engine of the fixture that made ``inner`` does not see
    /// the wrapper. The engine's upkeep (which gives back what the engine
    /// queued) does not run: a test that shows a give-back was queued starts
    /// it when it has seen the request end; ``withRunningEngine(configuration:_:)``
    /// runs it throughout.
    ///
    /// ```swift
    /// try await store.withEngine { _, inner in
    ///     let slow = StalledStore(inner, stalls: 1, stall: .seconds(1))
    ///     try await slow.withEngine { engine in … }
    /// }
    /// ```
    public func withEngine<Result>(
        configuration: LockEngineConfiguration = .init(),
        _ body: (LockEngine) async throws -> Result
    ) async throws -> Result {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "wrapped-store")
        defer { loops.shutdown() }
        return try await body(LockEngine(store: self, configuration: configuration, loops: loops, logger: Logger(label: "test")))
    }

    /// Like ``withEngine(configuration:_:)``, with the engine's upkeep
    /// running until `body` returns.
    public func withRunningEngine<Result>(
        configuration: LockEngineConfiguration = .init(),
        _ body: (LockEngine) async throws -> Result
    ) async throws -> Result {
        try await withEngine(configuration: configuration) { engine in
            let upkeep = Task { await engine.run() }
            defer { upkeep.cancel() }
            return try await body(engine)
        }
    }
}
