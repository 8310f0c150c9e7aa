/// The pieces of a Redis URL:
///
/// - `redis://[user:password@]host[:port][/db]` — one server (`rediss://` for TLS);
/// - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/MASTER[/db][?sentinel_username=…&sentinel_password=…]`
///   — the master the sentinels know as MASTER (sentinels on 26379 by default);
/// - `redis+cluster://[user:password@]host[:port][,host[:port]…]` — a cluster,
///   found from any of the nodes named (database 0 only).
///
/// `rediss+sentinel://` and `rediss+cluster://` speak TLS to every process,
/// sentinels included. User, password, master name and parameter values may
/// be percent-encoded; a `@` in the password must be (`%40`), as must `&`
/// and `%` in a parameter value. The user and password are the master's (and
/// every cluster node's); sentinels get only the `sentinel_…` parameters.
///
/// Errors say what is wrong and where, never repeating any part of the URL:
/// a mistyped URL may have its password in an unexpected place.
struct RedisURL: Equatable {
    enum Kind: Equatable {
        case server, sentinel, cluster
    }

    var kind: Kind
    var usesTLS: Bool
    var endpoints: [RedisEndpoint] = []
    var username: String?
    var password: String?
    var database = 0
    var masterName: String?
    var sentinelUsername: String?
    var sentinelPassword: String?

    private static let schemes: [String: (Kind, Bool)] = [
        "redis": (.server, false), "rediss": (.server, true),
        "redis+sentinel": (.sentinel, false), "rediss+sentinel": (.sentinel, true),
        "redis+cluster": (.cluster, false), "rediss+cluster": (.cluster, true),
    ]

    init(parsing url: String) throws(RedisError) {
        guard let separator = url.firstRange(of: "://"),
              let (kind, usesTLS) = Self.schemes[url[..<separator.lowerBound].lowercased()] else {
            throw invalid("a Redis URL starts with redis://, redis+sentinel:// or redis+cluster:// (rediss… for TLS)")
        }
        self.kind = kind
        self.usesTLS = usesTLS
        var rest = url[separator.upperBound...]
        // The credentials end at the last "@": the password may hold "/", "?"
        // or "#" unencoded, and nothing after the credentials holds an "@".
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw invalid("credentials must be user:password@ or :password@")
            }
            let user = try percentDecoded(userinfo[..<colon], what: "the user name")
            username = user.isEmpty ? nil : user
            password = try percentDecoded(userinfo[userinfo.index(after: colon)...], what: "the password")
        }
        guard !rest.contains("#") else { throw invalid("a Redis URL takes no fragment (#)") }
        let question = rest.firstIndex(of: "?") ?? rest.endIndex
        let query = rest[question...].dropFirst()
        let beforeQuery = rest[..<question]
        let slash = beforeQuery.firstIndex(of: "/") ?? beforeQuery.endIndex
        let path = beforeQuery[slash...].dropFirst()
        endpoints = try Self.endpoints(beforeQuery[..<slash], kind: kind)
        try readPath(path)
        if question != rest.endIndex { try readQuery(query) }
    }

    private static func endpoints(_ list: Substring, kind: Kind) throws(RedisError) -> [RedisEndpoint] {
        let parts = list.split(separator: ",", omittingEmptySubsequences: false)
        guard kind != .server || parts.count == 1 else {
            throw invalid("a redis:// URL names one server; name several with redis+sentinel:// or redis+cluster://")
        }
        var endpoints: [RedisEndpoint] = []
        for (index, part) in parts.enumerated() {
            let position = parts.count == 1 ? "the URL" : "the \(ordinal(index + 1)) address of the URL"
            endpoints.append(try endpoint(part, defaultPort: kind == .sentinel ? 26379 : 6379, position: position))
        }
        return endpoints
    }

    private static func endpoint(_ text: Substring, defaultPort: UInt16, position: String) throws(RedisError) -> RedisEndpoint {
        var host: Substring
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("unclosed [ in \(position)") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address in \(position)") }
                port = try parsePort(after.dropFirst(), position: position)
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = try parsePort(text[text.index(after: colon)...], position: position)
        } else {
            host = text
        }
        guard !host.isEmpty else { throw invalid("\(position) names no host") }
        return RedisEndpoint(host: String(host), port: port)
    }

    private mutating func readPath(_ path: Substring) throws(RedisError) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var databaseSegment: Substring?
        switch kind {
        case .server:
            guard segments.count <= 1 else { throw invalid("the path of a redis:// URL is only the database, as in redis://host:6379/0") }
            databaseSegment = segments.first
        case .sentinel:
            guard let first = segments.first, !first.isEmpty else {
                throw invalid("a redis+sentinel:// URL names the master after the sentinels, as in redis+sentinel://host:26379/mymaster")
            }
            guard segments.count <= 2 else { throw invalid("the path of a redis+sentinel:// URL is /MASTER or /MASTER/DB") }
            masterName = try percentDecoded(first, what: "the master name")
            databaseSegment = segments.count == 2 ? segments[1] : nil
        case .cluster:
            guard segments.count <= 1, segments.first.map({ $0.isEmpty || $0 == "0" }) ?? true else {
                throw invalid("Redis Cluster has only database 0: leave the path of a redis+cluster:// URL empty")
            }
        }
        if let text = databaseSegment, !text.isEmpty {
            guard let number = Int(text), number >= 0 else { throw invalid("the database must be a number, as in redis://host:6379/0") }
            database = number
        }
    }

    private mutating func readQuery(_ query: Substring) throws(RedisError) {
        guard kind == .sentinel else {
            throw invalid("only redis+sentinel:// URLs take parameters (sentinel_username, sentinel_password)")
        }
        for parameter in query.split(separator: "&") {
            let equals = parameter.firstIndex(of: "=") ?? parameter.endIndex
            let value = parameter[equals...].dropFirst()
            // Never echo a name: a mistyped URL may have put the password here.
            switch parameter[..<equals] {
            case "sentinel_username":
                guard sentinelUsername == nil else { throw invalid("sentinel_username is given twice") }
                sentinelUsername = try percentDecoded(value, what: "sentinel_username")
            case "sentinel_password":
                guard sentinelPassword == nil else { throw invalid("sentinel_password is given twice") }
                sentinelPassword = try percentDecoded(value, what: "sentinel_password")
            default:
                throw invalid("a redis+sentinel:// URL takes only the parameters sentinel_username and sentinel_password")
            }
        }
    }
}

private func ordinal(_ number: Int) -> String {
    switch number {
    case 1: "1st"
    case 2: "2nd"
    case 3: "3rd"
    default: "\(number)th"
    }
}

private func parsePort(_ text: Substring, position: String) throws(RedisError) -> UInt16 {
    guard let port = UInt16(text), port > 0 else { throw invalid("the port in \(position) must be a number from 1 to 65535") }
    return port
}

private func percentDecoded(_ text: Substring, what: String) throws(RedisError) -> String {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
            throw invalid("bad percent-encoding in \(what)")
        }
        bytes.append(high << 4 | low)
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

private func invalid(_ message: String) -> RedisError {
    RedisError(.invalidConfiguration, message: message)
}
