import LockdRedis
import RESP

/// Lock events on Redis: published after a script returns (the scripts
/// themselves know nothing of events), and the holder of a released lease
/// read in the same round trip as the release.
extension RedisLockStore {
    public var mayHaveEventWatchers: Bool { eventChannel.mayHaveWatchers }

    public func mayWatch(_ name: LockName) -> Bool { eventChannel.mayWatch(name) }

    public func setWatchedPrefixes(_ prefixes: [String]) { eventChannel.setLocalPrefixes(prefixes) }

    public func publish(_ event: LockEvent) { eventChannel.publish(event) }

    public func setEventInterest(_ interested: Bool) { eventChannel.setInterest(interested) }

    /// Returns once this instance receives the events published from now
    /// on, or after `timeout`.
    public func waitForEvents(timeout: Duration) async {
        await eventChannel.waitUntilSubscribed(timeout: timeout)
    }

    /// Reads the token's lease (the plain lease hash, else its grant) and
    /// releases it, in one pipeline: the read runs just before the release,
    /// and a token's fence never changes while it holds the lease.
    public func releaseReportingHolder(_ name: LockName, token: LeaseToken) async throws(LockError) -> Holder? {
        let keys = Self.keys(name)
        let releaseKeys = nameKeys(name)
        let releaseArguments = [token.value, name.value]
        let replies = try await measured(.release) { () throws(RedisError) in
            try await client.pipeline([
                ["HMGET", .string(keys.lease), "token", "fence", "owner", "client"],
                ["HMGET", .string(keys.grants), .string(token.value), "mode"],
                client.firstCall(of: scripts.release, keys: releaseKeys, arguments: releaseArguments),
            ], cancelledCallerWaitsForReply: true)
        }
        var released: RESPValue
        switch replies[2] {
        case .success(let reply): released = reply
        case .failure(let error) where error.meansScriptDidNotRun:
            released = try await run(scripts.release, .release, keys: releaseKeys, arguments: releaseArguments)
        case .failure(let error): throw unavailable(error)
        }
        guard released.int == 1 else { return nil }
        return Self.holder(token: token, lease: try? replies[0].get(), grant: try? replies[1].get())
            ?? Holder(owner: nil, fence: 0, expiresAtMs: 0, remainingMs: 0)
    }

    /// The holder a lease read names: the plain lease's fields
    /// `token fence owner client`, or the grant `fence:ttl:client|owner` and
    /// the name's mode.
    static func holder(token: LeaseToken, lease: RESPValue?, grant: RESPValue?) -> Holder? {
        if let fields = lease?.array, fields.count == 4, fields[0].string == token.value, let fence = fields[1].string.flatMap(Int64.init) {
            return Holder(owner: owner(fields[2]), fence: fence, expiresAtMs: 0, remainingMs: 0, mode: .exclusive, client: owner(fields[3]))
        }
        guard let fields = grant?.array, fields.count == 2, let text = fields[0].string else { return nil }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let fence = Int64(parts[0]) else { return nil }
        let tail = parts[2]
        let (client, owner): (Substring, Substring) = if let bar = tail.firstIndex(of: "|") {
            (tail[..<bar], tail[tail.index(after: bar)...])
        } else {
            ("", tail)
        }
        return Holder(owner: owner.isEmpty ? nil : String(owner), fence: fence, expiresAtMs: 0, remainingMs: 0,
                      mode: fields[1].string == "s" ? .shared : .exclusive, client: client.isEmpty ? nil : String(client))
    }

    /// Reads the holders and force-releases, in one pipeline.
    public func forceReleaseReportingHolder(_ name: LockName, fence: Int64) async throws(LockError) -> (token: LeaseToken, holder: Holder)? {
        let releaseKeys = nameKeys(name)
        // Each call in the form the store's calls take (FCALL where Redis has
        // functions): an EVALSHA there finds no script, and the holder read
        // failing left the `lost` event without owner, client or mode.
        let status = client.firstCall(of: scripts.status, keys: Self.statusKeys(name), arguments: [])
        let replies = try await measured(.forceRelease) { () throws(RedisError) in
            // Scripts: a cancelled caller answered only once they ran, as every script call is.
            try await client.pipeline([status, client.firstCall(of: scripts.forceRelease, keys: releaseKeys, arguments: [String(fence), name.value])],
                                      cancelledCallerWaitsForReply: true)
        }
        let holder = (try? replies[0].get()).flatMap { try? Self.status(of: name, from: $0) }?.holders.first { $0.fence == fence }
        var ended: RESPValue
        switch replies[1] {
        case .success(let reply): ended = reply
        case .failure(let error) where error.meansScriptDidNotRun:
            ended = try await run(scripts.forceRelease, .forceRelease, keys: releaseKeys, arguments: [String(fence), name.value])
        case .failure(let error): throw unavailable(error)
        }
        guard let text = ended.string, let token = try? LeaseToken(text) else { return nil }
        return (token, holder ?? Holder(owner: nil, fence: fence, expiresAtMs: 0, remainingMs: 0))
    }
}
