extension RedisServerFixture {
    /// Starts a replica of this server and waits until it has synced.
    /// - Throws: ``RedisServerFixtureError`` when it does not come up, or does
    ///   not replicate within `timeout` (the replica is stopped then).
    public func startReplica(within timeout: Duration = .seconds(20)) throws -> RedisServerFixture {
        let replica = try RedisServerFixture.start(arguments: ["--replicaof", "127.0.0.1", "\(port)"] + Self.replicationArguments)
        do {
            try waitUntil("a replica of \(port) replicates", within: timeout) { replica.isReplicating }
        } catch {
            replica.stop()
            throw error
        }
        return replica
    }

    /// True when this server is a replica whose link to its master is up.
    public var isReplicating: Bool {
        RedisAdminClient.fields(RedisAdminClient.call(port: port, "INFO", "replication"))["master_link_status"] == "up"
    }
}
