import Testing

@testable import LockdRedis

/// Redis Cluster's key slots, by Redis's own rules and known vectors.
@Suite struct RedisHashSlotTests {
    @Test func slotsFollowRedisRulesAndKnownVectors() {
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        // Values CLUSTER KEYSLOT gives (redis.io examples and redis-cli).
        let vectors: [(String, UInt16)] = [
            ("foo", 12182), ("bar", 5061), ("hello", 866), ("somekey", 11058), ("foo{hash_tag}", 2515),
            ("{user1000}.following", 3443), ("user1000", 3443), ("", 0),
            ("foo{}{bar}", 8363),          // an empty tag: the whole key
            ("foo{{bar}}zap", 4015),       // the tag is "{bar"
            ("foo{bar}{zap}", 5061),       // only the first tag counts
            ("{a", 10276),                 // no closing brace: the whole key
        ]
        for (key, slot) in vectors {
            #expect(RedisHashSlot(key: key).value == slot, "\(key)")
        }
        #expect(RedisHashSlot(key: "lockd:{orders}:lease") == RedisHashSlot(key: "lockd:{orders}:queue"))
        #expect(RedisHashSlot(key: Array("foo".utf8)) == RedisHashSlot(key: "foo"))
        #expect(RedisHashSlot(16384 + 5).value == 5)
    }

    @Test func everySlotHasAShortTagThatHashesToIt() {
        var longest = 0
        for slot in 0..<RedisHashSlot.count {
            let tag = RedisHashSlot(slot).hashTag
            longest = max(longest, tag.utf8.count)
            #expect(RedisHashSlot(key: "lockd:wake:{\(tag)}").value == UInt16(slot))
        }
        #expect(longest <= 4)
    }
}
