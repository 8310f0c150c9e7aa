/// Why an auth file, or a grant written on the command line, cannot be used.
/// The message names the file, the line and the field, and never a secret.
///
/// ```swift
/// do {
///     policy = try AuthFile.load(path: "/etc/lockd/auth.json")
/// } catch {
///     print(error)   // /etc/lockd/auth.json: line 7: clients[1].grants[0].actions[0]: unknown action 'write' …
/// }
/// ```
public struct AuthError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where, in words.
    public let message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
