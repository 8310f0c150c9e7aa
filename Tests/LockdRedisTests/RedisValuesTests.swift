import Testing

@testable import LockdRedis

@Suite struct RedisValuesTests {
    @Test func urlsParse() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.password == nil && plain.database == 0)
        let full = try RedisConfiguration(url: "redis://app:p%40ss%3Aword@redis.internal:6379/3")
        #expect(full.username == "app" && full.password == "p@ss:word" && full.host == "redis.internal" && full.database == 3)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@[::1]/1")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.host == "::1" && passwordOnly.port == 6379)
        #expect(!full.description.contains("p@ss"))
        #expect(try RedisConfiguration(url: "redis://localhost").port == 6379)
    }

    @Test(arguments: ["http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x", "redis://h?db=1", "redis://user@h", "redis://:%zz@h"])
    func badURLsAreRefusedClearly(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func tlsURLsTurnOnVerifiedTLS() throws {
        let tls = try RedisConfiguration(url: "rediss://:secret@redis:6380/2")
        #expect(tls.tls == TLSClientConfiguration() && tls.host == "redis" && tls.port == 6380 && tls.database == 2)
        #expect(tls.description == "rediss://<password>@redis:6380/2")
        #expect(try RedisConfiguration(url: "redis://redis:6380").tls == nil)
    }

    @Test func sha1MatchesKnownDigests() {
        #expect(SHA1.hexDigest("".utf8) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest("abc".utf8) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA1.hexDigest(long.utf8) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hexDigest(Array(repeating: UInt8(ascii: "a"), count: 1_000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func errorRepliesAreClassified() {
        #expect(RedisError.reply("LOADING Redis is loading").kind == .retryable)
        #expect(RedisError.reply("READONLY You can't write against a read only replica.").isServerUnavailable)
        #expect(RedisError.reply("OOM command not allowed").isServerUnavailable)
        #expect(RedisError.reply("OOM command not allowed").kind == .refused)
        #expect(!RedisError.reply("ERR syntax error").isServerUnavailable)
        #expect(RedisError.reply("NOSCRIPT No matching script").code == "NOSCRIPT")
    }

    @Test func commandsDescribeThemselvesWithoutArguments() {
        let command: RedisCommand = ["AUTH", "user", "secret"]
        #expect(command.description == "AUTH")
    }
}
