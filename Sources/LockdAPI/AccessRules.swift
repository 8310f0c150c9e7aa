import CoreMetrics
import LockdAuth
import Synchronization

/// The auth rules in force (`--auth-file`) and their meters. A reload swaps
/// the policy and its meters in whole: a request sees either the old rules
/// or the new, and nothing derived from the old outlives the swap.
///
/// ```swift
/// let rules = AccessRules(policy: try AuthFile.load(path: path), factory: metrics.factory)
/// // on SIGHUP:
/// rules.replace(with: try AuthFile.load(path: path))
/// ```
public final class AccessRules: Sendable {
    /// One policy and the meters of its clients.
    struct Current: Sendable {
        let policy: AccessPolicy
        private let meters: [ObjectIdentifier: ClientMeters]

        init(policy: AccessPolicy, factory: any MetricsFactory) {
            self.policy = policy
            var meters: [ObjectIdentifier: ClientMeters] = [:]
            for client in policy.clients {
                meters[ObjectIdentifier(client)] = ClientMeters(client: client.id, factory: factory)
            }
            self.meters = meters
        }

        /// The meters of `client`, one of ``policy``'s.
        func meters(of client: AuthClient) -> ClientMeters? { meters[ObjectIdentifier(client)] }
    }

    /// `lockd_auth_requests_total{client, outcome}` and
    /// `lockd_auth_force_releases_total{client}` for one client.
    struct ClientMeters: Sendable {
        let granted: Counter
        let forbidden: Counter
        let forceReleased: Counter

        init(client: String, factory: any MetricsFactory) {
            granted = Counter(label: "lockd_auth_requests_total", dimensions: [("client", client), ("outcome", "granted")], factory: factory)
            forbidden = Counter(label: "lockd_auth_requests_total", dimensions: [("client", client), ("outcome", "forbidden")], factory: factory)
            forceReleased = Counter(label: "lockd_auth_force_releases_total", dimensions: [("client", client)], factory: factory)
        }
    }

    private let state: Mutex<Current>
    private let factory: any MetricsFactory
    /// Event streams open now: each was let read what its client could
    /// read when it connected, so a reload that takes that away ends it.
    private let openStreams = Mutex<(next: UInt64, streams: [UInt64: OpenStream])>((0, [:]))

    private struct OpenStream {
        let client: AuthClient
        let end: @Sendable () -> Void
    }
    /// `lockd_auth_unauthorized_total`: requests with no token, or one no client has.
    let unauthorized: Counter

    /// Rules from `policy`, metered through `factory`.
    public init(policy: AccessPolicy, factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        self.state = Mutex(Current(policy: policy, factory: factory))
        self.unauthorized = Counter(label: "lockd_auth_unauthorized_total", factory: factory)
    }

    /// The policy in force.
    public var policy: AccessPolicy { current.policy }

    /// The rules in force, to decide one request by.
    var current: Current { state.withLock { $0 } }

    /// Puts `policy` in force for every request from now on, and ends the
    /// event streams of clients it removes, gives another secret or reads
    /// other names.
    public func replace(with policy: AccessPolicy) {
        let next = Current(policy: policy, factory: factory)
        state.withLock { $0 = next }
        let revoked = openStreams.withLock { open -> [OpenStream] in
            let revoked = open.streams.filter { !Self.keeps($0.value.client, in: policy) }
            for id in revoked.keys { open.streams[id] = nil }
            return Array(revoked.values)
        }
        for stream in revoked { stream.end() }
    }

    /// Whether `client`'s open stream may go on under `policy`: the same
    /// secret still names it, with the same names to read.
    private static func keeps(_ client: AuthClient, in policy: AccessPolicy) -> Bool {
        guard let now = policy.client(sharingSecretWith: client) else { return false }
        return now.id == client.id && now.names(for: .read) == client.names(for: .read)
    }

    /// Notes an event stream `client` opened: a reload that revokes what it
    /// reads calls `end` (at once if one already did). Returns what to call
    /// when the stream ends by itself.
    func streamOpened(by client: AuthClient, end: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let id = openStreams.withLock { open in
            open.next += 1
            open.streams[open.next] = OpenStream(client: client, end: end)
            return open.next
        }
        // A reload between the request's check and now has not seen it.
        if !Self.keeps(client, in: current.policy), openStreams.withLock({ $0.streams.removeValue(forKey: id) }) != nil { end() }
        return { [self] in openStreams.withLock { _ = $0.streams.removeValue(forKey: id) } }
    }

    /// How many event streams are open under these rules.
    public var openStreamCount: Int { openStreams.withLock { $0.streams.count } }
}
