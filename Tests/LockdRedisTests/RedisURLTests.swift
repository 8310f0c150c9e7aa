import Testing

@testable import LockdRedis

/// Sentinel and Cluster URLs, and what their errors may say.
@Suite struct RedisURLTests {
    @Test func sentinelURLsNameTheSentinelsTheMasterAndTheDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis+sentinel://app:s%40cret@10.0.0.5,10.0.0.6:26380,[::1]/locks/2")
        guard case .sentinel(let settings) = configuration.deployment else { Issue.record("a sentinel deployment"); return }
        #expect(settings.masterName == "locks")
        #expect(settings.sentinels == [
            RedisEndpoint(host: "10.0.0.5", port: 26379), RedisEndpoint(host: "10.0.0.6", port: 26380), RedisEndpoint(host: "::1", port: 26379),
        ])
        #expect(settings.username == nil && settings.password == nil)
        #expect(configuration.username == "app" && configuration.password == "s@cret" && configuration.database == 2)
        #expect(configuration.tls == nil)
        #expect(configuration.description == "redis+sentinel://app@10.0.0.5:26379,10.0.0.6:26380,[::1]:26379/locks/2")
    }

    @Test func sentinelCredentialsAreParametersAndNeverShown() throws {
        let configuration = try RedisConfiguration(
            url: "rediss+sentinel://:master-secret@s1,s2/mymaster?sentinel_username=watcher&sentinel_password=p%26ss%3Dw0rd%25")
        guard case .sentinel(let settings) = configuration.deployment else { Issue.record("a sentinel deployment"); return }
        #expect(settings.username == "watcher" && settings.password == "p&ss=w0rd%")
        #expect(configuration.password == "master-secret" && configuration.database == 0)
        #expect(configuration.tls == TLSClientConfiguration())
        for text in [configuration.description, "\(configuration.deployment)", "\(settings)", String(reflecting: configuration.deployment)] {
            #expect(!text.contains("secret") && !text.contains("w0rd"), "\(text)")
        }
        #expect(configuration.description == "rediss+sentinel://<password>@s1:26379,s2:26379/mymaster/0?sentinel_password=<password>")
    }

    @Test func clusterURLsListSeedsAndHaveOnlyDatabaseZero() throws {
        let configuration = try RedisConfiguration(url: "redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001,node-c")
        #expect(configuration.deployment == .cluster(seeds: [
            RedisEndpoint(host: "127.0.0.1", port: 7000), RedisEndpoint(host: "127.0.0.1", port: 7001), RedisEndpoint(host: "node-c", port: 6379),
        ]))
        #expect(configuration.password == "pw" && configuration.host == "127.0.0.1" && configuration.port == 7000)
        #expect(configuration.description == "redis+cluster://<password>@127.0.0.1:7000,127.0.0.1:7001,node-c:6379")
        #expect(try RedisConfiguration(url: "rediss+cluster://n1:7000/0").tls != nil)
        #expect(try RedisConfiguration(url: "REDIS+CLUSTER://n1:7000/").deployment == .cluster(seeds: [RedisEndpoint(host: "n1", port: 7000)]))
    }

    @Test func passwordsMayHoldURLCharactersBeforeTheLastAt() throws {
        let configuration = try RedisConfiguration(url: "redis://:pa/ss?w#rd@redis:6380/1")
        #expect(configuration.password == "pa/ss?w#rd" && configuration.host == "redis" && configuration.port == 6380 && configuration.database == 1)
    }

    @Test(arguments: [
        ("redis://a:1,b:2", "names one server"),
        ("redis+sentinel://h:26379", "names the master"),
        ("redis+sentinel://h:26379/", "names the master"),
        ("redis+sentinel://h/m/1/2", "/MASTER or /MASTER/DB"),
        ("redis+sentinel://h/m/x", "database must be a number"),
        ("redis+cluster://h:7000/3", "only database 0"),
        ("redis+cluster://h:7000,,h2", "2nd address of the URL names no host"),
        ("redis+cluster://h:7000,h2:99999", "port in the 2nd address"),
        ("redis+sentinel://h/m?sentinel_pasword=x", "takes only the parameters"),
        ("redis+sentinel://h/m?sentinel_password=a&sentinel_password=b", "given twice"),
        ("redis+sentinel://h/m?sentinel_password=%zz", "percent-encoding in sentinel_password"),
        ("redis://h:6379?db=1", "only redis+sentinel:// URLs take parameters"),
        ("redis+cluster://h#frag", "no fragment"),
        ("rediss+sentinal://h/m", "starts with redis://"),
        ("redis+cluster://[::1:7000", "unclosed ["),
    ])
    func badURLsSayWhatIsWrong(url: String, expected: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            guard let error = error as? RedisError, error.kind == .invalidConfiguration else { return false }
            return error.message.contains(expected)
        }
    }

    @Test func errorsNeverRepeatAnyPartOfTheURL() {
        // A mistyped URL may carry its password anywhere: in a parameter name,
        // a host, a port, a path.
        for url in [
            "redis+sentinel://h/m?hunter2secret=1", "redis+sentinel://:hunter2secret@h/m?x=hunter2secret",
            "redis://hunter2secret:notaport", "redis+cluster://h/hunter2secret", "redis+sentinel://h/m/hunter2secret",
            "hunter2secret://h", "redis://user:hunter2secret%4@h",
        ] {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("\(url) should be refused")
            } catch {
                #expect(!error.message.contains("hunter2"), "\(error.message)")
            }
        }
    }
}
