import LockEngine
import Testing

/// Expects `body` to fail with ``LockError/unavailable(_:)`` (what a
/// request that ran out of time or store is answered: 503), recording an
/// issue when it does not.
/// - Returns: whether it did: the checks that follow in a test are about
///   what such a request leaves behind.
func expectUnavailable(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> some Any
) async -> Bool {
    let error = await #expect(throws: LockError.self, sourceLocation: sourceLocation) { _ = try await body() }
    guard case .unavailable = error else {
        Issue.record("expected unavailable, got \(String(describing: error))", sourceLocation: sourceLocation)
        return false
    }
    return true
}
