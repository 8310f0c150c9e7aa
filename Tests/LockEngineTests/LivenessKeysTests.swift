import LockEngine
import LockdRedis
import Testing

/// Where instances record their liveness: a key every script on a name can
/// declare beside the name's own keys (pure, no Redis).
@Suite struct LivenessKeysTests {
    @Test(arguments: ["orders", "orders:4711", "a", "billing.eu-west:7", "x-y_z"])
    func aNamesInstancesKeySharesItsSlot(name: String) throws {
        let name = try LockName(name)
        let key = RedisLivenessKeys.perSlot.key(for: name)
        #expect(RedisHashSlot(key: key) == RedisHashSlot(key: "lockd:{\(name.value)}:lease"))
        #expect(RedisLivenessKeys.shared.key(for: name) == "lockd:instances")
    }

    @Test(arguments: [
        ("redis://127.0.0.1:6379", RedisLivenessKeys.shared),
        ("redis+sentinel://127.0.0.1:26379/primary", .shared),
        ("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", .perSlot),
    ])
    func aClusterURLGetsAKeyPerSlot(url: String, keys: RedisLivenessKeys) throws {
        #expect(RedisLivenessKeys(for: try RedisConfiguration(url: url).deployment) == keys)
    }

    @Test func manyNamesNeedOneKeyOnOneServerAndOnePerSlotInACluster() throws {
        let names = try (0..<10_000).map { try LockName("name:\($0)") }
        #expect(RedisLivenessKeys.shared.keys(for: names).count == 1)
        let perSlot = RedisLivenessKeys.perSlot.keys(for: names)
        #expect(perSlot.count == Set(names.map { RedisHashSlot(key: "lockd:{\($0.value)}:lease") }).count)
        #expect(perSlot.count > 7_000)
    }
}
