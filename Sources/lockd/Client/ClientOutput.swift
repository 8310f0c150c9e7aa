import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the client subcommands write: JSON to standard output, messages to
/// standard error (standard output belongs to `lockd exec`'s command).
enum ClientOutput {
    /// Writes `lockd SUBCOMMAND: message` and a newline to standard error, in one write(2).
    static func error(_ subcommand: String, _ message: String) {
        var bytes = Array("lockd \(subcommand): \(message)\n".utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// Writes `value` as JSON and a newline to standard output: indented on a
    /// terminal, one line otherwise (for `jq`, `read`, log lines).
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = isatty(1) == 1 ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(value))
        bytes.append(UInt8(ascii: "\n"))
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
    }
}
