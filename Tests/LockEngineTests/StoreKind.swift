import LockEngine
import LockdTransport
import Logging

/// The stores every semantics test runs against.
enum StoreKind: String, CaseIterable, Sendable {
    case memory

    /// A fresh engine over a fresh store of this kind, with its wake-up loop
    /// running until `body` returns.
    func withEngine<Result>(
        configuration: LockEngineConfiguration = .init(),
        _ body: (LockEngine, any LockStore) async throws -> Result
    ) async throws -> Result {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "engine-test")
        defer { loops.shutdown() }
        let store: any LockStore
        switch self {
        case .memory: store = InMemoryLockStore()
        }
        let engine = LockEngine(store: store, configuration: configuration, loops: loops, logger: Logger(label: "test"))
        let runner = Task { await engine.run() }
        defer { runner.cancel() }
        // Give the wake-up subscription a moment to be in place.
        try await Task.sleep(for: .milliseconds(20))
        do {
            let result = try await body(engine, store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}


/// A lock name no other test uses.
func uniqueName(_ label: String = #function) throws -> LockName {
    let cleaned = label.filter { $0.isLetter || $0.isNumber }
    return try LockName("test:\(cleaned):\(WaiterID.random())")
}
