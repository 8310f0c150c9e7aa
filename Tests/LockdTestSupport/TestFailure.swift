/// A failed precondition of a test, with what was seen.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    /// Creates a failure that says what went wrong.
    public init(_ description: String) { self.description = description }
}

/// A lock name no other test uses, so tests can share a store.
///
/// ```swift
/// let name = uniqueLockName()   // "test:aReleaseHandsTheLockToTheWaiter:3f0c9e1a"
/// ```
public func uniqueLockName(_ label: String = #function) -> String {
    let cleaned = label.prefix { $0 != "(" }.filter { $0.isLetter || $0.isNumber }
    return "test:\(cleaned.prefix(64)):\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
}
