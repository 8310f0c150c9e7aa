#if canImport(Glibc)
import Glibc
#endif

/// A failed system call in the transport layer, with the errno it returned.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, such as `"connect"`.
    public let operation: String
    /// The errno value.
    public let code: Int32

    /// Creates an error for `operation` with the errno `code`.
    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
