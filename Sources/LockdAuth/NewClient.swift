import LockEngine

/// A client made for the auth file (`lockd new-client`): a fresh secret,
/// shown once, and the entry that grants it — the secret's SHA-256, never
/// the secret itself.
///
/// ```swift
/// let client = try NewClient(id: "billing-worker", grants: ["lock,read=billing:*"])
/// print(client.secret)   // give it to the client: Authorization: Bearer <secret>
/// print(client.entry)    // paste it into the file's "clients" array
/// ```
public struct NewClient: Sendable {
    /// The client's id.
    public let id: String
    /// The secret: 256 random bits, base64url (43 characters).
    public let secret: String
    /// The client's entry for the auth file's `clients` array, as JSON on one line.
    public let entry: String

    /// Makes a client with a new secret.
    /// - Parameter grants: each `ACTIONS=PATTERN`, actions comma-separated
    ///   (`lock=billing:*`, `lock,read=orders`, `admin=*`); grants of one
    ///   pattern are joined.
    /// - Throws: ``AuthError`` for a bad id or grant, naming it.
    public init(id: String, grants: [String]) throws(AuthError) {
        guard AuthClient.isValidID(id) else { throw AuthError("the id '\(id.prefix(200))' \(AuthClient.idRule)") }
        guard !grants.isEmpty else { throw AuthError("give at least one --grant ACTIONS=PATTERN (lock=billing:*, read=*)") }
        var patterns: [String] = []
        var actions: [String: Set<AuthAction>] = [:]
        for grant in grants {
            let (pattern, granted) = try Self.parse(grant)
            if actions[pattern] == nil { patterns.append(pattern) }
            actions[pattern, default: []].formUnion(granted)
        }
        let secret = Self.makeSecret()
        guard let digest = SHA256Digest(hashing: secret) else { throw AuthError("OpenSSL could not compute a SHA-256") }
        // Ids, patterns and actions hold no character JSON escapes.
        let grantsJSON = patterns.map { pattern in
            let list = AuthAction.allCases.filter { actions[pattern]?.contains($0) == true }.map { "\"\($0)\"" }
            return #"{"names": "\#(pattern)", "actions": [\#(list.joined(separator: ", "))]}"#
        }
        self.id = id
        self.secret = secret
        self.entry = #"{"id": "\#(id)", "sha256": "\#(digest.hex)", "grants": [\#(grantsJSON.joined(separator: ", "))]}"#
    }

    /// Reads `ACTIONS=PATTERN`.
    private static func parse(_ grant: String) throws(AuthError) -> (pattern: String, actions: Set<AuthAction>) {
        guard let equals = grant.firstIndex(of: "=") else {
            throw AuthError("--grant '\(grant.prefix(300))' must be ACTIONS=PATTERN, such as lock=billing:* or lock,read=orders")
        }
        let pattern = String(grant[grant.index(after: equals)...])
        guard LockNamePattern(pattern) != nil else {
            throw AuthError("--grant '\(grant.prefix(300))': '\(pattern.prefix(300))' is not a name pattern: a lock name (orders), the start of one followed by * (billing:*), or * for every name")
        }
        var actions: Set<AuthAction> = []
        for word in grant[..<equals].split(separator: ",", omittingEmptySubsequences: false) {
            guard let action = AuthAction(rawValue: String(word)) else {
                throw AuthError("--grant '\(grant.prefix(300))': unknown action '\(word.prefix(100))' (allowed: lock, read, admin)")
            }
            actions.insert(action)
        }
        return (pattern, actions)
    }

    /// 32 bytes from the system's cryptographically secure generator
    /// (getrandom(2) on Linux), base64url without padding.
    private static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bits = 0
        var value = 0
        var text: [UInt8] = []
        for byte in bytes {
            value = value << 8 | Int(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                text.append(alphabet[(value >> bits) & 63])
            }
            value &= (1 << bits) - 1
        }
        if bits > 0 { text.append(alphabet[(value << (6 - bits)) & 63]) }
        return String(decoding: text, as: UTF8.self)
    }
}
