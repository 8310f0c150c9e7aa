/// A command-line setting lockbench cannot run with; the text says what to fix.
public struct BenchConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let description: String

    /// Creates an error with the text shown to the user.
    public init(_ description: String) { self.description = description }
}
