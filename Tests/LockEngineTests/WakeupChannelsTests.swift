import LockEngine
import LockdRedis
import Testing

/// Where the scripts announce queue changes (pure, no Redis): in a Cluster
/// a shard channel in the name's own slot, which a script may publish to.
@Suite struct WakeupChannelsTests {
    @Test(arguments: ["orders", "orders:4711", "a", "billing.eu-west:7", "x-y_z"])
    func aNamesChannelSharesItsSlot(name: String) throws {
        let name = try LockName(name)
        let sharded = RedisWakeupChannels.perSlot.publication(for: name)
        #expect(sharded.first == "SPUBLISH")
        #expect(sharded.last.map { RedisHashSlot(key: $0) } == RedisHashSlot(key: "lockd:{\(name.value)}:lease"))
        #expect(RedisWakeupChannels.shared.publication(for: name) == ["PUBLISH", "lockd:waiting"])
    }

    @Test(arguments: [
        ("redis://127.0.0.1:6379", RedisWakeupChannels.shared),
        ("redis+sentinel://127.0.0.1:26379/primary", .shared),
        ("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", .perSlot),
    ])
    func aClusterURLGetsAChannelPerSlot(url: String, channels: RedisWakeupChannels) throws {
        #expect(RedisWakeupChannels(for: try RedisConfiguration(url: url).deployment) == channels)
    }
}
