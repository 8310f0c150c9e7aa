import LockdHTTP

#if canImport(Glibc)
import Glibc
#endif

/// `--access-log`: one line per request — method, route, path, status,
/// duration, request id, client — in lockd's text or JSON log format, never
/// a header or a body, so never a token.
///
/// The line is written here, with one `write(2)`, rather than through
/// swift-log: a request line is logged for every request, and swift-log's
/// handlers merge and render metadata dictionaries per line, which cost
/// more than the request itself.
///
/// ```text
/// 2026-12-04T00:13:50.123Z info lockd.access: client.address=127.0.0.1:40312 duration_ms=0.912 http.method=POST http.path=/locks/orders http.route=acquire http.status=201 request.id=9f3c01aa-2f [lockd.access] request
/// {"ts":"2026-12-04T00:13:50.123Z","level":"info","label":"lockd.access","msg":"request","client.address":"127.0.0.1:40312","duration_ms":0.912,…}
/// ```
public struct AccessLog: Sendable {
    /// How lines are written.
    public enum Format: Sendable {
        /// Like lockd's text log lines.
        case text
        /// Like lockd's JSON log lines (typed values).
        case json
    }

    private let format: Format
    private let write: @Sendable (String) -> Void

    /// An access log in `format`, writing each line with `write` (to
    /// standard error by default).
    public init(format: Format, write: @escaping @Sendable (String) -> Void = AccessLog.standardError) {
        self.format = format
        self.write = write
    }

    /// Writes `line` to standard error in one `write(2)`, so that lines from
    /// several threads never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }

    /// Writes the line of one answered request.
    func record(_ exchange: HTTPExchange, route: String) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let milliseconds = Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
        let path = exchange.path.map { String($0.prefix(256)) }
        let client = exchange.remoteAddress?.description
        // Microseconds, shown as milliseconds with three decimals.
        let micros = exchange.durationNanoseconds / 1_000
        let duration = "\(micros / 1_000)." + String(String(micros % 1_000 + 1_000).dropFirst())
        let method = exchange.method?.rawValue ?? "-"
        let status = exchange.status.code
        let id = exchange.requestID.description
        var line = ""
        switch format {
        case .text:
            line = RFC3339.format(milliseconds: milliseconds) + " info lockd.access: "
            if let client { line += "client.address=\(client) " }
            line += "duration_ms=\(duration) http.method=\(method) "
            if let path { line += "http.path=\(path) " }
            line += "http.route=\(route) http.status=\(status) request.id=\(id) [lockd.access] request\n"
        case .json:
            line = #"{"ts":""# + RFC3339.format(milliseconds: milliseconds) + #"","level":"info","label":"lockd.access","msg":"request""#
            if let client { line += #","client.address":"# + Self.quoted(client) }
            line += #","duration_ms":\#(duration),"http.method":"# + Self.quoted(method)
            if let path { line += #","http.path":"# + Self.quoted(path) }
            line += #","http.route":"# + Self.quoted(route) + #","http.status":\#(status),"request.id":"# + Self.quoted(id) + "}\n"
        }
        write(line)
    }

    private static func quoted(_ text: String) -> String {
        var json = ""
        JSONString.append(text, to: &json)
        return json
    }
}
