import RESP

/// A command to send: its name and arguments, each a bulk string.
///
/// ```swift
/// let command: RedisCommand = ["SET", .string(key), .string(value), "PX", 100]
/// let reply = try await client.send(command)
/// ```
public struct RedisCommand: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The command name followed by its arguments.
    public var arguments: [RESPBulk]

    /// Creates a command from its name and arguments.
    public init(_ arguments: [RESPBulk]) {
        self.arguments = arguments
    }

    /// Creates a command from an array literal.
    public init(arrayLiteral elements: RESPBulk...) {
        self.arguments = elements
    }

    /// The command's name only: arguments may hold secrets and stay out of logs.
    public var description: String {
        guard case .string(let name)? = arguments.first else { return "<command>" }
        return name
    }
}
