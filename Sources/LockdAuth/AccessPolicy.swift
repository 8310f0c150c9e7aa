/// The rules of one auth file: its clients, found by the digest of the
/// secret a request presents. Immutable: a reload makes a new policy and
/// swaps it in whole, so nothing learnt under the old one outlives it.
///
/// ```swift
/// let policy = try AuthFile.load(path: "/etc/lockd/auth.json")
/// guard let client = policy.client(presenting: secret) else { return unauthorized }
/// ```
public final class AccessPolicy: Sendable {
    /// Every client, in the file's order.
    public let clients: [AuthClient]
    private let byDigest: [SHA256Digest: AuthClient]

    /// The longest secret lockd hashes; a longer one is refused unhashed
    /// (``ClientSecret`` makes 43 characters).
    public static let maxSecretLength = 512

    /// Creates a policy.
    /// - Throws: ``AuthError`` when two clients share an id or a secret.
    public init(clients: [AuthClient]) throws(AuthError) {
        var byDigest: [SHA256Digest: AuthClient] = [:]
        var ids: Set<String> = []
        for client in clients {
            guard ids.insert(client.id).inserted else { throw AuthError("two clients have the id '\(client.id)'") }
            if let other = byDigest.updateValue(client, forKey: client.digest) {
                throw AuthError("clients '\(other.id)' and '\(client.id)' have the same sha256: give each its own secret")
            }
        }
        self.clients = clients
        self.byDigest = byDigest
    }

    /// The client whose secret `secret` is; nil for one no client has, or
    /// text that cannot be a secret (empty, longer than ``maxSecretLength``).
    public func client(presenting secret: Substring) -> AuthClient? {
        guard !secret.isEmpty, secret.utf8.count <= Self.maxSecretLength else { return nil }
        let hashed = secret.utf8.withContiguousStorageIfAvailable { SHA256Digest(hashing: UnsafeRawBufferPointer($0)) }
        guard let digest = hashed ?? SHA256Digest(hashing: String(secret)) else { return nil }
        return byDigest[digest]
    }

    /// The client with the same secret as `client` (of this policy or
    /// another one, such as the policy before a reload), if this one has it.
    public func client(sharingSecretWith client: AuthClient) -> AuthClient? {
        byDigest[client.digest]
    }

    /// The client with id `id`, if the file has one.
    public func client(id: String) -> AuthClient? {
        clients.first { $0.id == id }
    }
}
