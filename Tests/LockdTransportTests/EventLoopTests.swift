import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LockdTransport

@Suite struct EventLoopTests {
    @Test func executeRunsOnTheLoopThread() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let ranOnLoop = await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: loop.inEventLoop) }
        }
        #expect(ranOnLoop)
        #expect(!loop.inEventLoop)
    }

    @Test func theLoopThreadCarriesTheLoopsName() async throws {
        let loop = try EventLoop.spawn(name: "named-loop-7")
        defer { loop.shutdown() }
        let name = await withCheckedContinuation { continuation in
            loop.execute {
                var buffer = [UInt8](repeating: 0, count: 32)
                let file = fopen("/proc/thread-self/comm", "r")
                defer { if let file { fclose(file) } }
                let count = file.map { fread(&buffer, 1, buffer.count, $0) } ?? 0
                continuation.resume(returning: String(decoding: buffer.prefix(count), as: UTF8.self))
            }
        }
        #expect(name == "named-loop-7\n")
    }

    @Test func tasksPreferringTheLoopRunOnIt() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let before = await Task(executorPreference: loop) { loop.inEventLoop }.value
        let afterSuspension = await Task(executorPreference: loop) { () async -> Bool in
            try? await Task.sleep(for: .milliseconds(5))
            return loop.inEventLoop
        }.value
        #expect(before)
        #expect(afterSuspension)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let fired = Locked<[Int]>([])
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.scheduleTimer(after: .milliseconds(30)) { fired.withLock { $0.append(3) } }
                loop.scheduleTimer(after: .milliseconds(10)) { fired.withLock { $0.append(1) } }
                let cancelled = loop.scheduleTimer(after: .milliseconds(20)) { fired.withLock { $0.append(2) } }
                loop.cancelTimer(cancelled)
                loop.scheduleTimer(after: .milliseconds(50)) { continuation.resume() }
            }
        }
        #expect(fired.withLock { $0 } == [1, 3])
    }

    /// An owner asking to be flushed is called after every job of the
    /// iteration it asked in — not at once, nor a job's turn later — and
    /// once per request.
    @Test func aFlushRunsOnceAfterTheJobsOfItsIteration() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let order = Locked<[String]>([])
        let flushed = await withCheckedContinuation { (continuation: CheckedContinuation<[String], Never>) in
            let owner = RecordingFlusher { count in
                order.withLock { $0.append("flush \(count)") }
                // A later job reports what ran, once the flush had its turn.
                loop.execute { continuation.resume(returning: order.withLock { $0 }) }
            }
            // Submitted from the loop: the two run in one batch.
            loop.execute {
                loop.execute {
                    order.withLock { $0.append("first job") }
                    loop.flushAfterIteration(owner)
                }
                loop.execute { order.withLock { $0.append("second job") } }
            }
        }
        #expect(flushed == ["first job", "second job", "flush 1"])
    }

    /// A flush asked during the flushes runs too, in a later iteration (the
    /// loop does not sleep with it pending).
    @Test func aFlushAskedDuringAFlushRunsInALaterIteration() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let count = await reported(on: loop) { (report: @escaping @Sendable (Int) -> Void) in
            let owner = RecordingFlusher { _ in }
            owner.onFlush = { [unowned owner] count in
                if count < 3 { loop.flushAfterIteration(owner) } else { report(count) }
            }
            loop.execute { loop.flushAfterIteration(owner) }
        }
        #expect(count == 3)
    }

    /// A flush asked by a timer, with no event or job to follow, runs in the
    /// timer's iteration.
    @Test func aFlushAskedByATimerRunsWithoutAnotherEvent() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let count = await reported(on: loop) { (report: @escaping @Sendable (Int) -> Void) in
            let owner = RecordingFlusher { report($0) }
            loop.execute { _ = loop.scheduleTimer(after: .milliseconds(5)) { loop.flushAfterIteration(owner) } }
        }
        #expect(count == 1)
    }

    /// A job that holds its loop, submitted once the loop has stopped (a
    /// timer's owner re-arming it during teardown, say), must not keep the loop
    /// — and its epoll and eventfd descriptors — alive.
    @Test func aStoppedLoopIsReleasedThoughAJobSubmittedLateHoldsIt() throws {
        weak var released: EventLoop?
        do {
            let loop = try EventLoop.spawn(name: "test")
            released = loop
            loop.shutdown()
            loop.execute { loop.execute {} }
        }
        #expect(released == nil)
    }

    @Test func manyJobsFromOtherThreadsAllRun() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let count = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        loop.execute {
                            count.withLock { $0 += 1 }
                            continuation.resume()
                        }
                    }
                }
            }
        }
        #expect(count.withLock { $0 } == 1000)
    }

    /// The wake-up handshake without the loop's lock (`sleeping`,
    /// `jobsQueued`): a job submitted from another thread wakes a loop
    /// that has nothing else to wake it for — no socket, no timer — each
    /// time, whether it comes as the loop goes to sleep, while it sleeps
    /// or while it runs the job before. The submitting thread spins on the
    /// count of jobs run rather than blocking, so that the next job comes
    /// within a few microseconds of the last one's run, while the loop is
    /// on its way to sleep (a blocked thread's wake-up took longer than
    /// that way). A lost wake-up leaves a job waiting for good: the round
    /// fails after 5 s instead (no timer on the loop, which would wake it).
    @Test func aJobFromAnotherThreadWakesAnIdleLoopEveryTime() throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let ran = RunCount()
        var spun = 0
        for round in 1...20_000 {
            // A wait of a varying length first, so that the job comes at
            // every point of the loop's way to sleep.
            for step in 0..<Int.random(in: 0..<300) { spun &+= step }
            loop.execute { ran.count.add(1, ordering: .releasing) }
            let deadline = ContinuousClock.now + .seconds(5)
            var polls = 0
            while ran.count.load(ordering: .acquiring) < round {
                polls += 1
                if polls % 1_000 == 0, ContinuousClock.now > deadline {
                    Issue.record("round \(round): a job waited for an event that never came")
                    return
                }
            }
        }
        #expect(spun >= 0)
    }

    @Test func addressesParse() throws {
        #expect(try SocketAddress(parsing: "127.0.0.1:7070").description == "127.0.0.1:7070")
        #expect(try SocketAddress(parsing: "[::1]:80").description == "[::1]:80")
        #expect(throws: SocketAddressError.self) { try SocketAddress(parsing: "nonsense") }
        #expect(throws: SocketAddressError.self) { try SocketAddress(parsing: "1.2.3.4:99999") }
    }

    @Test func listenerOnPortZeroLearnsItsPort() throws {
        let listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { listener.close() }
        #expect(try listener.localAddress().port != 0)
    }
}

/// How many jobs ran, shared with them.
private final class RunCount: Sendable {
    let count = Atomic<Int>(0)
}

/// A Mutex in a class, so closures can share it.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// What `start` reports, or nil once a watchdog timer on `loop` passes
/// first: a loop that wrongly sleeps with a flush pending still wakes for
/// the timer, so the test fails instead of hanging.
func reported<Value: Sendable>(
    on loop: EventLoop, watchdog: Duration = .seconds(10),
    _ start: @escaping @Sendable (_ report: @escaping @Sendable (Value) -> Void) -> Void
) async -> Value? {
    await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
        let pending = Locked<CheckedContinuation<Value?, Never>?>(continuation)
        let resume: @Sendable (Value?) -> Void = { value in
            pending.withLock { waiting in
                defer { waiting = nil }
                return waiting
            }?.resume(returning: value)
        }
        loop.execute { _ = loop.scheduleTimer(after: watchdog) { resume(nil) } }
        start { resume($0) }
    }
}

/// Counts its flushes and reports each (touched on its loop's thread only).
private final class RecordingFlusher: IterationFlushing, @unchecked Sendable {
    // Safe: `flushes` and `onFlush` are read and written only on the one
    // loop that flushes this owner, or before it is first handed to it.
    var flushes = 0
    var onFlush: (Int) -> Void

    init(onFlush: @escaping (Int) -> Void) {
        self.onFlush = onFlush
    }

    func flushAfterIteration() {
        flushes += 1
        onFlush(flushes)
    }
}
