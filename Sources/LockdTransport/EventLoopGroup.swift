import Synchronization

/// A fixed set of event loops, one per CPU the process may use by default.
///
/// ```swift
/// let group = try EventLoopGroup(loopCount: 2)
/// let loop = group.next()
/// ```
public final class EventLoopGroup: Sendable {
    /// The loops, in creation order.
    public let loops: [EventLoop]
    private let cursor = Atomic<Int>(0)

    /// Starts `loopCount` loops (at least one).
    /// - Throws: ``TransportError`` when a loop cannot be created.
    public init(loopCount: Int = EventLoopGroup.defaultLoopCount, namePrefix: String = "lockd-loop") throws {
        var loops: [EventLoop] = []
        for index in 0..<max(1, loopCount) {
            loops.append(try EventLoop.spawn(name: "\(namePrefix)-\(index)"))
        }
        self.loops = loops
    }

    /// One loop per CPU this process may use (``CPUAllowance``): its
    /// affinity mask, capped by its cgroup's CPU quota.
    public static var defaultLoopCount: Int { CPUAllowance.current() }

    /// The next loop in round-robin order.
    public func next() -> EventLoop {
        loops[cursor.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// The loop whose thread runs the caller, if any.
    public var current: EventLoop? {
        loops.first { $0.inEventLoop }
    }

    /// The caller's own loop when it runs on one, else the next in turn.
    public func currentOrNext() -> EventLoop {
        current ?? next()
    }

    /// Stops every loop and waits for their threads.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }
}
