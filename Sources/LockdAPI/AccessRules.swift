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

    /// Puts `policy` in force for every request from now on.
    public func replace(with policy: AccessPolicy) {
        let next = Current(policy: policy, factory: factory)
        state.withLock { $0 = next }
    }
}
