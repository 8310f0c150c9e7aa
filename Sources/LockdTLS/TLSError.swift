import COpenSSL

/// A TLS failure, in words fit for an operator: what failed and OpenSSL's reason.
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, such as "the server's certificate is not trusted: unable to get local issuer certificate".
    public let message: String
    /// The certificate, key or CA file the failure concerns, if one does.
    public let file: String?

    /// Creates an error with `message`, about `file` if given.
    public init(_ message: String, file: String? = nil) {
        self.message = message
        self.file = file
    }

    public var description: String { message }

    /// `context`, followed by the reasons OpenSSL queued on this thread (which are cleared).
    static func fromQueue(_ context: String, file: String? = nil) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            reasons.append(text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text)
        }
        return TLSError(reasons.isEmpty ? context : "\(context): \(reasons.joined(separator: "; "))", file: file)
    }
}
