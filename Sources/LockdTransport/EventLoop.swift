import CLockdSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread running an epoll loop; it also runs Swift tasks that prefer it.
///
/// A loop owns the sockets registered with it and calls their handlers on its
/// own thread. As a `TaskExecutor` it lets a request's task run on the thread
/// that owns the request's connection (and the Redis connection serving it),
/// so a request never hops to the global executor and back.
///
/// ```swift
/// let loop = try EventLoop.spawn(name: "loop-0")
/// Task(executorPreference: loop) { await handle(request) }
/// loop.execute { print(loop.inEventLoop) }   // true
/// ```
public final class EventLoop: TaskExecutor, @unchecked Sendable {
    // Safe to share: `epollFD`, `wakeFD`, `name` and `readBuffer` (the
    // pointer) never change; `shared` is a Mutex; `threadID`, `sleeping`,
    // `jobsQueued` and `stopping` are atomic;
    // `handlers`, `retired`, `timers`, `runnable`, `hangUps`, `flushes`, `flushing`, `readBufferInUse` and the bytes of
    // `readBuffer` are touched only on the loop's own thread — by `run()`, by
    // the methods that call `preconditionInEventLoop()` first, and by the
    // handlers the loop calls.

    /// A name for logs and thread listings.
    public let name: String
    private let epollFD: Int32
    private let wakeFD: Int32
    private let shared = Mutex(SharedState())
    /// The loop's thread (0 until it runs); read by ``inEventLoop``, which
    /// other modules inline.
    @usableFromInline let threadID = Atomic<UInt>(0)
    /// The wake-up handshake, kept out of the lock so that an iteration
    /// with no job queued takes no lock at all (it took three, ~130
    /// instructions an iteration, two iterations a Redis lock request):
    /// `sleeping` is true while the loop may block in `epoll_wait`;
    /// `jobsQueued` is true while `shared.jobs` may hold a job (set with
    /// the append, under the lock; cleared with the swap that takes them,
    /// under the lock). The loop stores `sleeping` then loads `jobsQueued`;
    /// an enqueuer stores `jobsQueued` then loads (exchanges) `sleeping`.
    /// Both sequentially consistent, so at least one of the two sees the
    /// other's store: the loop does not block, or the enqueuer writes the
    /// eventfd — a job never waits for an unrelated event. Exactly one
    /// enqueuer exchanges `sleeping` from true, so one write per sleep.
    private let sleeping = Atomic<Bool>(false)
    private let jobsQueued = Atomic<Bool>(false)
    /// Set by ``shutdown()`` before its eventfd write; read before each wait.
    private let stopping = Atomic<Bool>(false)
    // Loop thread only, and no access to them spans a call that could reach
    // them again (a handler, a timer's body or a job runs after the read or
    // mutation that found it has ended): the runtime's exclusivity checks
    // cost ~70 instructions each, several a request.
    @exclusivity(unchecked) private var handlers = EventHandlerTable()
    /// Handlers and stream delegates let go of during this iteration, held
    /// until it ends (``retire(_:)``).
    @exclusivity(unchecked) private var retired: [AnyObject] = []
    @exclusivity(unchecked) private var timers = TimerQueue()
    @exclusivity(unchecked) private var runnable: [Job] = []
    @exclusivity(unchecked) private var hangUps = HangUpWindow()
    /// Owners to flush at the end of this iteration, and the batch being
    /// flushed (kept for its capacity).
    @exclusivity(unchecked) private var flushes: [any IterationFlushing] = []
    @exclusivity(unchecked) private var flushing: [any IterationFlushing] = []

    /// One large buffer for the reads of every socket on this loop (loop
    /// thread only): a read never allocates, and what it brings is parsed in
    /// place; a socket copies only what its owner leaves unconsumed.
    public let readBuffer: UnsafeMutableRawBufferPointer
    /// Set while bytes in ``readBuffer`` are being consumed, so that a nested
    /// read (should one ever happen) uses its own buffer. (Set and read
    /// around each read, never `inout`: unchecked like the fields above.)
    @exclusivity(unchecked) var readBufferInUse = false
    static let readBufferSize = 64 << 10

    private enum Job: Sendable {
        case closure(@Sendable () -> Void)
        case task(UnownedJob)
    }

    private struct SharedState {
        var jobs: [Job] = []
        /// Set when the thread has left its loop: nothing will run jobs any more.
        var exited = false
        var thread: pthread_t?
    }

    private init(name: String) throws {
        self.name = name
        let epollFD = clockd_epoll_create()
        guard epollFD >= 0 else { throw TransportError("epoll_create1", code: clockd_errno()) }
        let wakeFD = clockd_eventfd()
        guard wakeFD >= 0 else {
            let code = clockd_errno()
            close(epollFD)
            throw TransportError("eventfd", code: code)
        }
        guard clockd_epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, CLOCKD_EPOLLIN, UInt64(UInt32(bitPattern: wakeFD))) == 0 else {
            let code = clockd_errno()
            close(epollFD)
            close(wakeFD)
            throw TransportError("epoll_ctl", code: code)
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
    }

    deinit {
        close(epollFD)
        close(wakeFD)
        readBuffer.deallocate()
    }

    /// Creates a loop and starts its thread.
    /// - Throws: ``TransportError`` when the kernel refuses epoll, eventfd or a thread.
    public static func spawn(name: String) throws -> EventLoop {
        let loop = try EventLoop(name: name)
        let start = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let loop = Unmanaged<EventLoop>.fromOpaque(argument).takeRetainedValue()
            loop.run()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<EventLoop>.fromOpaque(start).release()
            throw TransportError("pthread_create", code: result)
        }
        loop.shared.withLock { $0.thread = thread }
        return loop
    }

    /// Whether the caller runs on this loop's thread. (Inlinable: asked
    /// three times a Redis lock request from other modules — the HTTP
    /// server, the Redis client — where a call of ours around the load and
    /// `pthread_self` cost ~15 instructions.)
    @inlinable
    public var inEventLoop: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Traps unless the caller runs on this loop's thread.
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "must run on event loop \(name)", file: file, line: line)
    }

    /// Runs `work` on the loop's thread, after the events being handled now.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Runs a task job on the loop's thread (the `TaskExecutor` entry point).
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.task(UnownedJob(job)))
    }

    /// Queues `job`; after the thread has exited, drops it instead (see ``shutdown()``).
    private func submit(_ job: Job) {
        let queued = shared.withLock { state -> Bool in
            guard !state.exited else { return false }
            state.jobs.append(job)
            jobsQueued.store(true, ordering: .sequentiallyConsistent)
            return true
        }
        // The loop's own thread is not asleep: it runs the job before it
        // waits again (`prepareToWait` sees it), so it needs no wake-up
        // write. (See `sleeping`: the store above, then this load.)
        guard queued, !inEventLoop, sleeping.load(ordering: .sequentiallyConsistent),
              sleeping.exchange(false, ordering: .sequentiallyConsistent) else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Stops the loop after the current iteration and waits for its thread to end.
    ///
    /// Handlers still registered, timers not yet due and jobs not yet run are
    /// dropped without being called; so is whatever is submitted afterwards
    /// (a task whose job is dropped never resumes). Owners close their descriptors. Dropping them lets go of what
    /// their closures hold, which often includes this loop: kept, they would
    /// keep it and its descriptors alive for good. Must not be called on the
    /// loop itself.
    public func shutdown() {
        precondition(!inEventLoop, "an event loop cannot join its own thread")
        let thread = shared.withLock { state -> pthread_t? in
            stopping.store(true, ordering: .sequentiallyConsistent)
            return state.thread.take()
        }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        if let thread { pthread_join(thread, nil) }
    }

    // MARK: Registration (loop thread only)

    /// Starts watching `fd` for `events`, calling `handler` when they occur.
    /// - Throws: ``TransportError`` when epoll refuses the descriptor.
    public func register(fd: Int32, events: EpollEvents, handler: any EventHandler) throws {
        preconditionInEventLoop()
        guard clockd_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, events.rawValue, UInt64(UInt32(bitPattern: fd))) == 0 else {
            throw TransportError("epoll_ctl(ADD)", code: clockd_errno())
        }
        // A handler still in the slot (none, unless its descriptor was
        // closed without a deregistration) is let go of after the iteration.
        if let replaced = handlers[fd] { retired.append(replaced) }
        handlers[fd] = handler
    }

    /// Changes the events watched on a registered `fd`.
    /// - Throws: ``TransportError`` when epoll refuses the change.
    public func modify(fd: Int32, events: EpollEvents) throws {
        preconditionInEventLoop()
        guard clockd_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, events.rawValue, UInt64(UInt32(bitPattern: fd))) == 0 else {
            throw TransportError("epoll_ctl(MOD)", code: clockd_errno())
        }
    }

    /// Stops watching `fd`; call before closing it.
    public func deregister(fd: Int32) {
        preconditionInEventLoop()
        _ = clockd_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
        // Held until the iteration ends, not let go of here: the loop
        // calls a stream unretained (see `EventHandlerTable.stream(fd:)`),
        // and a stream deregisters as it closes, often during that call.
        if let handler = handlers[fd] {
            retired.append(handler)
            handlers[fd] = nil
        }
    }

    /// Holds `object` until this iteration of the loop ends (loop thread
    /// only): for what a caller up the stack may be using unretained, such
    /// as a stream's delegate dropped as the stream closes while it reads.
    func retire(_ object: AnyObject) {
        preconditionInEventLoop()
        retired.append(object)
    }

    /// Calls `owner.flushAfterIteration()` once this iteration's events,
    /// timers and jobs have run (loop thread only): what they all queue
    /// leaves together. Each call is one flush: an owner asks once until
    /// flushed. A flush asked during the flushes runs in the next
    /// iteration, which then does not wait for events. The owners of one
    /// iteration are flushed in no particular order.
    ///
    /// A job per flush (``execute(_:)``) did the same at the cost of a
    /// closure made and freed, a lock and the job queue's upkeep (~0.5 k
    /// instructions a Redis command), and a flush asked by a job ran only
    /// in the next iteration, after one more `epoll_wait`.
    public func flushAfterIteration(_ owner: any IterationFlushing) {
        // Checked in release builds too: `flushes` has no lock, and a call
        // from another thread would corrupt it (as `scheduleTimer` checks).
        preconditionInEventLoop()
        flushes.append(owner)
    }

    // MARK: Hang-ups (loop thread only)

    /// Whether a peer of a socket on this loop may have hung up (or
    /// half-closed) without the loop having handled it, at `now` (a clock
    /// reading taken on the loop): its event waits in the batch being
    /// handled or beyond a full one, or the batch began so long ago that a
    /// FIN may have come since. When false, a look at the socket
    /// (``Socket/peerHasClosed()``) is not needed: it would find the peer
    /// there but for a FIN come in the last 100 µs. A look would narrow
    /// that window to the moment of the look; 100 µs is the price of not
    /// looking before every answer.
    public func hangUpMayBeUnseen(at now: UInt64) -> Bool {
        preconditionInEventLoop()
        return hangUps.mayHideHangUp(at: now)
    }

    /// The clock reading (``MonotonicClock/now()``) taken as the batch of
    /// events being handled began, as its `epoll_wait` returned (0 before
    /// the first batch); read on the loop's thread only. Bytes a socket
    /// reads in the batch were there by then: an owner timing their
    /// arrival may take it, where a reading of its own cost ~35
    /// instructions a read (it is earlier by the time the batch took to
    /// reach the owner).
    public var batchStartedAt: UInt64 {
        hangUps.startedAt
    }

    // MARK: Timers (loop thread only)

    /// Runs `work` on the loop after `delay`, unless cancelled first.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> TimerID {
        preconditionInEventLoop()
        return timers.schedule(at: MonotonicClock.now() + MonotonicClock.nanoseconds(delay), work)
    }

    /// Cancels a timer that has not fired; does nothing for one that has.
    public func cancelTimer(_ id: TimerID) {
        preconditionInEventLoop()
        timers.cancel(id)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        // So `top -H`, perf and crash reports name the thread (Linux keeps 15 bytes).
        _ = clockd_set_thread_name(name)
        let capacity = 256
        // The events' flags and data (their descriptors), read by this
        // function (and the hang-up window, lent the flags) only: buffers
        // of their own, allocated here and freed when the loop ends, so that
        // a wait does not check an array's uniqueness first (~15
        // instructions an iteration, for each array).
        let events = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: capacity)
        events.initialize(repeating: 0)
        defer { events.deallocate() }
        let data = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
        defer { data.deallocate() }
        // A clock reading nothing has run since: the next wait's timeout
        // needs no reading of its own (one per wake-up, not two).
        var now: UInt64?
        while true {
            // What this iteration's callers used unretained, let go of now
            // that none of them runs (taken out first: a deinit may retire
            // more, for the next iteration).
            if !retired.isEmpty { releaseRetired() }
            guard let timeout = prepareToWait(now: now) else { break }
            let count = clockd_epoll_wait(epollFD, events.baseAddress, data, Int32(capacity), timeout)
            now = nil
            // Awake again: jobs submitted from other threads while events are
            // handled are picked up by `runJobs` below without an eventfd write.
            sleeping.store(false, ordering: .relaxed)
            if count < 0 {
                let code = clockd_errno()
                precondition(code == EINTR, "epoll_wait failed: errno \(code)")
                continue
            }
            hangUps.began(at: MonotonicClock.now(), count: Int(count), events: UnsafeBufferPointer(events))
            for index in 0..<Int(count) {
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data[index]))
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                } else if let stream = handlers.stream(fd: fd) {
                    // Unretained: see `EventHandlerTable.stream(fd:)`.
                    stream._withUnsafeGuaranteedRef { $0.handleEvents(EpollEvents(rawValue: events[index])) }
                } else if let handler = handlers[fd] {
                    handler.handleEvents(EpollEvents(rawValue: events[index]))
                }
            }
            if let next = timers.nextDeadline {
                let reading = MonotonicClock.now()
                if next <= reading {
                    for body in timers.popDue(now: reading) { body() }
                } else {
                    now = reading
                }
            }
            // (No job queued: no call. See `runJobs`.)
            if jobsQueued.load(ordering: .acquiring), runJobs() { now = nil }
            if !flushes.isEmpty {
                runFlushes()
                now = nil
            }
        }
        // Taken out under the lock but released after it: a closure's deinit
        // may submit to this loop again.
        var dropped: [Job] = []
        shared.withLock { state in
            state.exited = true
            swap(&state.jobs, &dropped)
        }
        dropped.removeAll()
        flushes.removeAll()
        handlers.removeAll()
        releaseRetired()
        timers = TimerQueue()
    }

    /// Lets go of the retired handlers and delegates (loop thread only).
    @inline(never)
    private func releaseRetired() {
        var released: [AnyObject] = []
        swap(&released, &retired)
        released.removeAll()
    }

    /// The epoll timeout in milliseconds (0 when work is pending), or nil to
    /// stop; `now` is a clock reading nothing has run since, if there is one.
    private func prepareToWait(now: UInt64?) -> Int32? {
        if stopping.load(ordering: .sequentiallyConsistent) { return nil }
        if !flushes.isEmpty { return 0 }
        // (See `sleeping`: this store, then the load of `jobsQueued`.)
        sleeping.store(true, ordering: .sequentiallyConsistent)
        if jobsQueued.load(ordering: .sequentiallyConsistent) {
            sleeping.store(false, ordering: .relaxed)
            return 0
        }
        guard let nextTimer = timers.nextDeadline else { return -1 }
        let now = now ?? MonotonicClock.now()
        guard nextTimer > now else { return 0 }
        // Round up so a timer never fires early and spins the loop.
        return Int32(clamping: (nextTimer - now + 999_999) / 1_000_000)
    }

    /// Flushes the owners that asked so far; those that ask meanwhile wait
    /// for the next iteration (a flush that keeps asking cannot hold the
    /// loop away from its events).
    private func runFlushes() {
        swap(&flushes, &flushing)
        // Each owner moved out from the end and flushed: no iterator, no
        // copy of each owner and no removal after (two retains and three
        // releases an owner, ~100 instructions). The owners of one
        // iteration are independent of each other (each flushes its own
        // socket), so they are flushed in no particular order. (Not
        // `removeAll(keepingCapacity:)`: a generic path, ~160 instructions.)
        while let owner = flushing.popLast() { owner.flushAfterIteration() }
    }

    /// Runs the jobs submitted so far; false when there were none.
    /// Called only once `jobsQueued` was seen set: with no job queued, no
    /// lock is taken (a job queued as that reads false is seen by
    /// `prepareToWait`, which then does not wait).
    private func runJobs() -> Bool {
        shared.withLock { state in
            jobsQueued.store(false, ordering: .relaxed)
            swap(&state.jobs, &runnable)
        }
        guard !runnable.isEmpty else { return false }
        for job in runnable {
            switch job {
            case .closure(let work): work()
            case .task(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        // (One by one, as in `runFlushes`: no generic path.)
        while !runnable.isEmpty { runnable.removeLast() }
        return true
    }
}
