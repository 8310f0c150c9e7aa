import LockdTransport
import RESP
import Logging

/// One connection attempt before a service starts, to tell what can never
/// work from what may work later.
///
/// Redis that refuses the configuration — the credentials, the database
/// index, a certificate that fails verification, TLS spoken to a plaintext
/// port or the reverse — is ``Verdict/refused(_:)``: no retry can mend it, so
/// lockd stops at start. Redis that cannot be reached (down, a name that does
/// not resolve yet, a firewall) is ``Verdict/unreachable(_:)``: lockd starts
/// and its client keeps retrying.
///
/// Given ``ChannelProbe``s, it then subscribes to and publishes on the
/// caller's channels: an ACL user without those channels (Redis 7's default
/// `acl-pubsub-default resetchannels`) is ``Verdict/refused(_:)`` too, as
/// the caller's wake-ups could never arrive.
///
/// A TLS attempt that fails without a verdict (a plaintext Redis lets a TLS
/// hello hang, or answers it with bytes that are not TLS) is tried again in
/// plaintext, and a plaintext attempt that the server drops is tried with
/// TLS: an answer to the other one is a mismatch.
///
/// ```swift
/// switch await RedisPreflight.check(try RedisConfiguration(url: url)) {
/// case .ready, .unreachable: break            // start; the client retries
/// case .refused(let error): fatal(error)      // a setting to fix
/// }
/// ```
public enum RedisPreflight {
    /// What one attempt found.
    public enum Verdict: Sendable {
        /// Redis accepted lockd.
        case ready
        /// Redis could not be reached now; retrying may work.
        case unreachable(RedisError)
        /// Redis refuses this configuration; ``RedisError/needsSettingsFixed`` holds.
        case refused(RedisError)
    }

    /// Channels the caller will use, to try once Redis has answered.
    public struct ChannelProbe: Sendable {
        /// `.channel` (`SUBSCRIBE`/`PUBLISH`) or `.shardChannel` (`SSUBSCRIBE`/`SPUBLISH`).
        public var kind: RedisSubscriptionKind
        /// Subscribed, then unsubscribed.
        public var subscribe: [String]
        /// Each gets an empty message: name channels nobody listens on.
        public var publish: [String]

        /// A probe of `kind`'s channels.
        public init(kind: RedisSubscriptionKind, subscribe: [String], publish: [String]) {
            self.kind = kind
            self.subscribe = subscribe
            self.publish = publish
        }
    }

    /// Connects once (handshake included) and tells what happened. For a
    /// single server (``RedisDeployment/server``); a Sentinel or Cluster
    /// configuration is tried as given, without the mismatch probes.
    /// - Parameters:
    ///   - timeout: for the connection and for each probe; the check takes
    ///     at most about twice this.
    ///   - channels: tried once Redis answered; one refused (`NOPERM`) is a
    ///     ``RedisError/Kind/permissionDenied`` refusal.
    public static func check(
        _ configuration: RedisConfiguration, timeout: Duration = .seconds(2), channels: [ChannelProbe] = []
    ) async -> Verdict {
        guard let loops = try? EventLoopGroup(loopCount: 1, namePrefix: "lockd-preflight") else {
            return .unreachable(RedisError(.unreachable, message: "no event loop to check Redis from"))
        }
        defer { loops.shutdown() }
        let first = await attempt(configuration, timeout: timeout, channels: channels, on: loops)
        guard let error = first else { return .ready }
        if error.needsSettingsFixed { return .refused(error) }
        if let mismatch = await mismatch(configuration, after: error, timeout: timeout, on: loops) { return .refused(mismatch) }
        return .unreachable(error)
    }

    /// Whether the server speaks the other protocol: TLS where plaintext was
    /// tried, or the reverse.
    private static func mismatch(
        _ configuration: RedisConfiguration, after error: RedisError, timeout: Duration, on loops: EventLoopGroup
    ) async -> RedisError? {
        guard case .server = configuration.deployment else { return nil }
        // Nothing listens, or the name does not resolve: nothing to compare.
        // (The client words every failure to open a TCP connection so.)
        guard !error.message.contains("cannot connect to Redis") else { return nil }
        let endpoint = "\(configuration.host):\(configuration.port)"
        var other = configuration
        if configuration.tls != nil {
            other.tls = nil
            // Any Redis answer in plaintext, even a refusal of the password, means plaintext is spoken.
            let answer = await attempt(other, timeout: timeout, on: loops)
            guard answer.map({ [.authenticationFailed, .databaseRejected, .refused, .retryable].contains($0.kind) }) ?? true else { return nil }
            return RedisError(.tlsMismatch, message: "Redis at \(endpoint) speaks plaintext, not TLS: use a redis:// URL, not rediss://")
        }
        // Any TLS conversation, even with a certificate that fails verification, means TLS is spoken.
        other.tls = TLSClientConfiguration()
        let answer = await attempt(other, timeout: timeout, on: loops)
        guard answer.map({ ![.unreachable, .timeout, .protocolViolation].contains($0.kind) }) ?? true else { return nil }
        return RedisError(.tlsMismatch, message: "Redis at \(endpoint) speaks TLS: use a rediss:// URL (trusting the CA that signed its certificate)")
    }

    /// One connection and `PING`, then the channel probes; nil when Redis
    /// answered and allowed them.
    private static func attempt(
        _ configuration: RedisConfiguration, timeout: Duration, channels: [ChannelProbe] = [], on loops: EventLoopGroup
    ) async -> RedisError? {
        var configuration = configuration
        configuration.connectionsPerLoop = 1
        configuration.connectTimeout = timeout
        // Held until the first attempt ends, so the PING learns its outcome.
        configuration.commandTimeout = timeout + .milliseconds(500)
        configuration.maximumReconnectDelay = timeout * 2
        configuration.initialReconnectDelay = timeout * 2
        let client = RedisClient(configuration: configuration, eventLoopGroup: loops,
                                 logger: Logger(label: "lockd.redis.preflight", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await client.ping()
            for probe in channels { try await check(probe, on: client) }
            await client.shutdown()
            return nil
        } catch {
            await client.shutdown()
            return error
        }
    }

    private static func check(_ probe: ChannelProbe, on client: RedisClient) async throws(RedisError) {
        let publish: RESPBulk = probe.kind == .shardChannel ? "SPUBLISH" : "PUBLISH"
        do {
            if !probe.subscribe.isEmpty { try await client.subscribe(to: probe.subscribe, kind: probe.kind).cancel() }
            for channel in probe.publish {
                _ = try await client.send(RedisCommand([publish, .string(channel), ""]), route: .key(channel))
            }
        } catch where error.kind == .permissionDenied {
            let channels = (probe.subscribe + probe.publish).joined(separator: ", ")
            throw RedisError(.permissionDenied, code: error.code, message:
                "the Redis user may not \(probe.kind == .shardChannel ? "SSUBSCRIBE or SPUBLISH" : "SUBSCRIBE or PUBLISH") on \(channels)"
                + " (\(error.message)); grant them in its ACL, for example with `&lockd:*`")
        }
    }
}
