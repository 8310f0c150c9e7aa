import LockdAPI
import LockdHTTP
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one JSON object per line to standard error —
/// what log shippers parse:
///
/// ```json
/// {"ts":"2026-12-03T21:04:05.123Z","level":"info","label":"lockd.http","msg":"request","http.status":201,"request.id":"9f3c01aa-2f"}
/// ```
///
/// `ts` is RFC 3339 in UTC with milliseconds. Metadata values keep their
/// type: integers and floating-point numbers are JSON numbers, booleans JSON
/// booleans, lists and dictionaries JSON arrays and objects; everything
/// else is a string. Metadata from the handler, the metadata provider (the
/// request id of the request being served) and the call merge, the call's
/// winning.
struct JSONLogHandler: HTTPFixedLevelLogHandler {  // `logLevel` is stored: the server reads it once
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var text = #"{"ts":""# + RFC3339.format(milliseconds: Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000) + "\""
        text += #","level":"# + Self.quote(event.level.rawValue)
        text += #","label":"# + Self.quote(Self.subsystem(label: label, source: event.source))
        text += #","msg":"# + Self.quote("\(event.message)")
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            text += "," + Self.quote(key) + ":"
            Self.append(value, to: &text)
        }
        text += "}\n"
        // One write(2) per line, so lines from several threads never interleave.
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// The part of lockd a line comes from, by the module that logged it:
    /// `lockd.http`, `lockd.redis`, `lockd.engine`, `lockd.api` …; a line
    /// logged with a `source` of its own (`lockd.access`) keeps it.
    static func subsystem(label: String, source: String) -> String {
        switch source {
        case "lockd": label
        case "LockdHTTP": "\(label).http"
        case "LockdRedis": "\(label).redis"
        case "LockEngine": "\(label).engine"
        case "LockdAPI": "\(label).api"
        case "LockdTransport": "\(label).transport"
        case "LockdTLS": "\(label).tls"
        case _ where source.hasPrefix("\(label)."): source
        default: "\(label).\(source.lowercased())"
        }
    }

    /// Appends `value` as JSON, keeping numbers and booleans typed.
    static func append(_ value: Logger.Metadata.Value, to text: inout String) {
        switch value {
        case .string(let string):
            text += quote(string)
        case .stringConvertible(let convertible):
            switch convertible {
            case let flag as Bool:
                text += flag ? "true" : "false"
            case let integer as any BinaryInteger:
                text += "\(integer)"
            case let number as Double where number.isFinite:
                text += "\(number)"
            case let number as Float where number.isFinite:
                text += "\(number)"
            default:
                text += quote(convertible.description)
            }
        case .array(let values):
            text += "["
            for (index, element) in values.enumerated() {
                if index > 0 { text += "," }
                append(element, to: &text)
            }
            text += "]"
        case .dictionary(let dictionary):
            text += "{"
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { text += "," }
                text += quote(key) + ":"
                append(element, to: &text)
            }
            text += "}"
        }
    }

    private static func quote(_ text: String) -> String {
        var out = ""
        JSONString.append(text, to: &out)
        return out
    }
}
