import LockEngine
import LockdJSON

#if canImport(Glibc)
import Glibc
#endif

/// Reads lockd's auth file (`--auth-file`):
///
/// ```json
/// {"clients": [
///   {"id": "billing-worker", "sha256": "<64 hex digits>",
///    "grants": [{"names": "billing:*", "actions": ["lock", "read"]}]}
/// ]}
/// ```
///
/// `sha256` is the SHA-256 of the client's secret (of its UTF-8 bytes), in
/// hex; the secret itself is never stored. `names` is one pattern (or a list
/// of them): `orders`, `billing:*` or `*` (``LockNamePattern``). `actions`
/// are `lock`, `read` and `admin` (``AuthAction``). Unknown fields are
/// errors, so that a misspelt one does not quietly grant less — or more.
///
/// ```swift
/// let policy = try AuthFile.load(path: "/etc/lockd/auth.json")
/// ```
public enum AuthFile {
    /// The largest file read (a client entry is about 200 bytes).
    public static let maxSize = 4 << 20

    /// Reads and checks the file at `path`.
    /// - Throws: ``AuthError`` naming the file, the line and the field.
    public static func load(path: String) throws(AuthError) -> AccessPolicy {
        try parse(try read(path), file: path)
    }

    /// Checks the text of an auth file; `file` names it in errors.
    /// - Throws: ``AuthError`` naming the file, the line and the field.
    public static func parse(_ bytes: [UInt8], file: String) throws(AuthError) -> AccessPolicy {
        let document: JSONDocument
        do {
            document = try JSONParser.parseLocating(bytes)
        } catch {
            let (line, column) = error.position(in: bytes)
            throw AuthError("auth file \(file): line \(line), column \(column): not valid JSON: \(error.reason)")
        }
        return try AuthFileReader(document: document, file: file).policy()
    }

    private static func read(_ path: String) throws(AuthError) -> [UInt8] {
        func failure(_ reason: String) -> AuthError { AuthError("auth file \(path): cannot read it: \(reason)") }
        guard let file = fopen(path, "rb") else { throw failure(String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[..<count]
            guard bytes.count <= maxSize else { throw failure("it is larger than \(maxSize >> 20) MiB") }
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else { throw failure(String(cString: strerror(errno))) }
        return bytes
    }
}

/// Walks a parsed auth file, turning each value into rules or into an
/// error that names where it is.
private struct AuthFileReader {
    let document: JSONDocument
    let file: String

    func policy() throws(AuthError) -> AccessPolicy {
        let root = try object(document.value, at: "", fields: ["clients"], required: ["clients"])
        guard case .array(let entries)? = root["clients"] else {
            throw failure("clients", "must be an array of clients, not \(root["clients"]?.typeName ?? "missing")")
        }
        var clients: [AuthClient] = []
        var ids: [String: Int] = [:]
        var digests: [SHA256Digest: Int] = [:]
        for (index, entry) in entries.enumerated() {
            let path = "clients[\(index)]"
            let client = try client(entry, at: path)
            if let first = ids.updateValue(index, forKey: client.id) {
                throw failure(path + ".id", "'\(client.id)' is the id of clients[\(first)] too")
            }
            if let first = digests.updateValue(index, forKey: client.digest) {
                throw failure(path + ".sha256", "is the same as clients[\(first)]'s: give each client a secret of its own")
            }
            clients.append(client)
        }
        do {
            return try AccessPolicy(clients: clients)
        } catch {
            throw failure("clients", error.message)
        }
    }

    private func client(_ value: JSONValue, at path: String) throws(AuthError) -> AuthClient {
        let fields = try object(value, at: path, fields: ["id", "sha256", "grants"], required: ["id", "sha256", "grants"])
        let id = try string(fields["id"], at: path + ".id")
        guard AuthClient.isValidID(id) else { throw failure(path + ".id", AuthClient.idRule) }
        let hex = try string(fields["sha256"], at: path + ".sha256")
        guard let digest = SHA256Digest(hex: hex) else {
            // Never repeat the value: it may be a secret pasted in the wrong place.
            throw failure(path + ".sha256", "must be 64 hex digits, the SHA-256 of the client's secret (lockd new-client makes one)")
        }
        guard case .array(let entries)? = fields["grants"] else {
            throw failure(path + ".grants", "must be an array of grants, not \(fields["grants"]?.typeName ?? "missing")")
        }
        var grants: [AuthGrant] = []
        for (index, entry) in entries.enumerated() {
            grants.append(try grant(entry, at: path + ".grants[\(index)]"))
        }
        return AuthClient(id: id, digest: digest, grants: grants)
    }

    private func grant(_ value: JSONValue, at path: String) throws(AuthError) -> AuthGrant {
        let fields = try object(value, at: path, fields: ["names", "actions"], required: ["names", "actions"])
        var patterns: [(String, JSONValue)] = []
        switch fields["names"] {
        case .string?: patterns = [(path + ".names", fields["names"] ?? .null)]
        case .array(let list)? where !list.isEmpty: patterns = list.enumerated().map { (path + ".names[\($0)]", $1) }
        default: throw failure(path + ".names", "must be a name pattern (\"orders\", \"billing:*\", \"*\") or a non-empty array of them")
        }
        var names: [LockNamePattern] = []
        for (patternPath, value) in patterns {
            let text = try string(value, at: patternPath)
            guard let pattern = LockNamePattern(text) else {
                throw failure(patternPath, "'\(text.prefix(300))' is not a name pattern: a lock name (\"orders\"), the start of one followed by * (\"billing:*\"), or * for every name")
            }
            names.append(pattern)
        }
        guard case .array(let list)? = fields["actions"], !list.isEmpty else {
            throw failure(path + ".actions", "must be a non-empty array of actions: lock, read, admin")
        }
        var actions: Set<AuthAction> = []
        for (index, value) in list.enumerated() {
            let text = try string(value, at: path + ".actions[\(index)]")
            guard let action = AuthAction(rawValue: text) else {
                throw failure(path + ".actions[\(index)]", "unknown action '\(text.prefix(100))' (allowed: lock, read, admin)")
            }
            actions.insert(action)
        }
        return AuthGrant(names: names, actions: actions)
    }

    // MARK: Values

    private func object(_ value: JSONValue, at path: String, fields allowed: [String], required: [String])
        throws(AuthError) -> [String: JSONValue] {
        guard case .object(let members) = value else {
            throw failure(path, "must be an object with \(allowed.joined(separator: ", ")), not \(value.typeName)")
        }
        var fields: [String: JSONValue] = [:]
        for member in members {
            let key = member.name
            let memberPath = path.isEmpty ? key : path + "." + key
            guard allowed.contains(key) else {
                throw failure(memberPath, "unknown field (allowed here: \(allowed.joined(separator: ", ")))")
            }
            guard fields.updateValue(member.value, forKey: key) == nil else { throw failure(memberPath, "appears twice") }
        }
        for key in required where fields[key] == nil {
            throw failure(path, "has no '\(key)'")
        }
        return fields
    }

    private func string(_ value: JSONValue?, at path: String) throws(AuthError) -> String {
        guard case .string(let text)? = value else {
            throw failure(path, "must be a string, not \(value?.typeName ?? "missing")")
        }
        return text
    }

    /// An error at the value `path`, with its line.
    private func failure(_ path: String, _ message: String) -> AuthError {
        let line = document.line(of: path) ?? 1
        let field = path.isEmpty ? "the top level" : path
        return AuthError("auth file \(file): line \(line), \(field): \(message)")
    }
}
