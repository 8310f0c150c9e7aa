import LockdRedis
import LockdTransport
@testable import LockEngine
import Logging
import Testing

/// An instance stops asking, on every acquire and release, whether an event
/// may reach a watcher once it knows that nobody watches anything — also
/// when its first lock operation comes after its grace, when it publishes
/// nothing and so never hears the "no receivers" reply that turns
/// publishing off otherwise.
@Suite struct EventPublishingOffTests {
    /// A channel that never connects: these checks send nothing.
    private func channel(countsEverySubscriber: Bool = true, grace: Duration = .zero) throws -> (RedisEventChannel, EventLoopGroup) {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "event-publishing-off")
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), eventLoopGroup: loops, logger: Logger(label: "test"))
        let channel = RedisEventChannel(client: client, instanceID: "instance-a", countsEverySubscriber: countsEverySubscriber,
                                        logger: Logger(label: "test"), grace: grace)
        return (channel, loops)
    }

    @Test func nobodyWatchingAfterTheGraceTurnsPublishingOff() throws {
        let (channel, loops) = try channel()
        defer { loops.shutdown() }
        #expect(channel.mayHaveWatchers)
        #expect(channel.mayWatch(try LockName("orders")) == false)
        #expect(channel.mayHaveWatchers == false)
        #expect(channel.mayWatch(try LockName("orders")) == false)
    }

    @Test func anAnnouncedWatchTurnsItOnAgainForItsPrefix() throws {
        let (channel, loops) = try channel()
        defer { loops.shutdown() }
        #expect(channel.mayWatch(try LockName("orders:1")) == false)
        channel.heard(announcement: "instance-b\nPorders")
        #expect(channel.mayHaveWatchers)
        #expect(channel.mayWatch(try LockName("orders:1")))
        // Someone watches another prefix: publishing stays on for names it covers.
        #expect(channel.mayWatch(try LockName("billing")) == false)
        #expect(channel.mayHaveWatchers)
        #expect(channel.mayWatch(try LockName("orders:2")))
    }

    @Test func withinTheGraceEveryEventMayReachSomeone() throws {
        let (channel, loops) = try channel(grace: .seconds(3_600))
        defer { loops.shutdown() }
        #expect(channel.mayWatch(try LockName("orders")))
        #expect(channel.mayHaveWatchers)
    }

    @Test func aClusterKeepsPublishingOn() throws {
        // A cluster's PUBLISH counts one node's subscribers: it never turns off.
        let (channel, loops) = try channel(countsEverySubscriber: false)
        defer { loops.shutdown() }
        #expect(channel.mayWatch(try LockName("orders")) == false)
        #expect(channel.mayHaveWatchers)
    }
}
