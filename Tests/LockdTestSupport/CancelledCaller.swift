import LockEngine

/// Acquires as a caller that was cancelled before it asked — how a request
/// whose client hung up reaches the engine.
/// - Returns: the ``LockError`` the engine answered, or nil when it granted
///   the lease (or failed otherwise).
public func acquireAsCancelledCaller(_ engine: LockEngine, _ request: AcquireRequest) async -> LockError? {
    await Task { () -> LockError? in
        withUnsafeCurrentTask { $0?.cancel() }
        do {
            _ = try await engine.acquire(request)
            return nil
        } catch let error as LockError {
            return error
        } catch {
            return nil
        }
    }.value
}
