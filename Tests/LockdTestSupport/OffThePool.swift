import Foundation

/// Runs blocking work (starting or stopping a server, a blocking read) on a
/// thread of its own and awaits it.
///
/// Swift concurrency's shared pool has one thread per core — two here — and a
/// test that blocks one of them stalls every other test in the process.
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// ``offThePool(_:)`` for work that cannot fail.
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
