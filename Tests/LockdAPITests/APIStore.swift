import LockdAPI

/// The stores the end-to-end tests run lockd on.
enum APIStore: String, CaseIterable, Sendable {
    case memory

    /// Runs `body` against a fresh lockd using this store.
    func withLockd<Result>(
        configure: (inout LockdConfiguration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .memory:
            return try await TestLockd.with(configure: configure, body)
        }
    }
}
