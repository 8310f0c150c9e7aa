/// A request method token such as `GET`; any RFC 9110 token is allowed.
///
/// ```swift
/// if request.method == .post { … }
/// let purge = HTTPMethod(rawValue: "PURGE")
/// ```
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method exactly as sent (methods are case-sensitive).
    public let rawValue: String

    /// Wraps a method token; the caller vouches that it is a token.
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let options = HTTPMethod(rawValue: "OPTIONS")

    public var description: String { rawValue }

    /// The shared constant of a common method (a token, then), so parsing
    /// it allocates nothing; nil for any other bytes.
    static func common(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod? {
        switch bytes.count {
        case 3:
            if HTTPSyntax.bytes(bytes, equal: "GET") { return .get }
            if HTTPSyntax.bytes(bytes, equal: "PUT") { return .put }
        case 4:
            if HTTPSyntax.bytes(bytes, equal: "POST") { return .post }
            if HTTPSyntax.bytes(bytes, equal: "HEAD") { return .head }
        case 5:
            if HTTPSyntax.bytes(bytes, equal: "PATCH") { return .patch }
        case 6:
            if HTTPSyntax.bytes(bytes, equal: "DELETE") { return .delete }
        case 7:
            if HTTPSyntax.bytes(bytes, equal: "OPTIONS") { return .options }
        default:
            break
        }
        return nil
    }
}

/// An HTTP version, `HTTP/major.minor`.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    /// The major version (always 1 for requests this server accepts).
    public var major: Int
    /// The minor version.
    public var minor: Int

    /// Creates a version.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}
