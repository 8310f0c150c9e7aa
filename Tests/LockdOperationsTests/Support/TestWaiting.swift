import Foundation

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
/// - Returns: whether it held in time.
func eventually(within timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
}

/// A failed precondition of a test, with what was seen.
struct OperationsTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A name no other test uses, so tests can share a redis-server.
func uniqueLockName(_ label: String = #function) -> String {
    let base = label.prefix { $0.isLetter || $0.isNumber }
    return "ops:\(base):\(UInt32.random(in: 0...UInt32.max))"
}
