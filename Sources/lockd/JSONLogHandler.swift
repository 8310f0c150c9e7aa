import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"ts":…,"level":…,"label":…,"msg":…,…metadata}` — what log shippers parse.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var text = #"{"ts":"# + String(Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000)
        text += #","level":"# + Self.quote(event.level.rawValue)
        text += #","label":"# + Self.quote(label)
        text += #","msg":"# + Self.quote("\(event.message)")
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            text += "," + Self.quote(key) + ":" + Self.quote("\(value)")
        }
        text += "}\n"
        // One write(2) per line, so lines from several threads never interleave.
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
