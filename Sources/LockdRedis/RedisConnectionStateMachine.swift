import RESP

/// The life of one Redis connection as a value: what to send, which caller a
/// reply belongs to, when to give up and when to reconnect.
///
/// It performs no I/O. Each method takes an event — the socket connected, a
/// frame arrived, bytes were written, a timer fired, a caller was cancelled —
/// and returns the ``Action`` the owner must carry out. `Waiter` is whatever
/// the owner resumes (a continuation in ``RedisConnection``, an integer in
/// tests). Times are `MonotonicClock` nanoseconds, passed in.
///
/// Invariants the tests pin down: replies are matched to commands strictly in
/// order; push frames never are; a command that times out after being
/// written closes the connection, failing every other command that was
/// waiting on it, so no late reply can reach a later caller; a command whose
/// caller is cancelled before any of its bytes were written is never sent,
/// one already (partly) written keeps its place and its reply is dropped —
/// its caller answered `cancelled` at once when it asked for that, else
/// only then (or when the connection fails), so that what the caller does
/// next to make up for it comes after it. A caller is resumed exactly once.
struct RedisConnectionStateMachine<Waiter> {
    enum State: Equatable {
        /// Not started; the first command starts it.
        case idle
        /// Opening the TCP connection; commands are held.
        case connecting
        /// Connected, running the handshake; commands are held.
        case handshaking(HandshakeStep)
        /// Commands are written and pipelined.
        case ready
        /// An attempt failed; commands fail at once until the next attempt.
        case waitingToReconnect
        /// Shut down for good.
        case shutDown
    }

    /// What the owner must do next.
    enum Action {
        case none
        /// Open a socket to Redis and report ``connected()`` or ``connectFailed(_:)``.
        case connect
        /// Write ``withUnwrittenBytes(_:)`` and report ``wrote(_:)``.
        case flush
        /// Resume a caller with its reply.
        case succeed(Waiter, RESPValue)
        /// Resume a caller with an error; the connection stays up.
        case fail(Waiter, RedisError)
        /// Resume several callers with errors; the connection stays up.
        case failAll([(Waiter, RedisError)])
        /// Hand a published message to the subscriptions.
        case deliver(RedisPubSubMessage, RedisSubscriptionKind)
        /// The server unsubscribed this shard channel by itself: its slot
        /// moved to another node (Redis Cluster).
        case serverUnsubscribed(String)
        /// The handshake finished: held commands are now queued for writing.
        case becameReady
        /// Close the socket (for `reason`), resume `failing`, then do `then`.
        case disconnect(reason: RedisError, failing: [(Waiter, RedisError)], then: Next)
    }

    /// What follows a disconnect.
    enum Next: Equatable {
        /// Open a new socket at once (the state is `.connecting`).
        case reconnectNow
        /// Call ``reconnectDue(now:)`` after this delay.
        case reconnect(after: Duration)
        /// Nothing: the connection is shut down.
        case stop
    }

    struct Settings {
        var username: String?
        var password: String?
        var database: Int
        var clientName: String?
        var prefersRESP3: Bool
        var isSubscriber: Bool
        var commandTimeout: UInt64
        var connectTimeout: UInt64
        /// Where Redis is, for error messages.
        var endpoint: String
    }

    /// A command awaiting its reply(ies), but for its waiter: every field
    /// is a plain value, and the waiter lies beside it in ``pending``'s
    /// buffer of waiters (see ``ReplyQueue``). An entry that held its
    /// waiter was destroyed through the type's value witness (read from its
    /// metadata, ~100 instructions) and its waiter copied out of it, for
    /// every reply.
    private struct Pending {
        let id: UInt64
        /// Whether its caller gave up after (some of) it was written: the
        /// reply is still read (replies match commands by order), then
        /// dropped, and the caller answered `cancelled` then unless it
        /// already was (see ``cancel(id:now:answeringAtOnce:)``).
        var isCancelled = false
        /// Whether its cancelled caller was answered at once: nothing
        /// resumes it again — not its reply, nor a failure or shutdown.
        var isAnswered = false
        let deadline: UInt64
        /// Offset in this connection's byte stream where its bytes begin:
        /// until that many are written, none of them is.
        var start: UInt64
        /// Offset in this connection's byte stream where the (first) command
        /// ends: once that many bytes are written, the server may have run it.
        var end: UInt64
        /// Offset where its bytes (a pipeline's last command) end.
        var last: UInt64
        var replies: Int
        /// Whether this is a pipeline, whose replies are gathered into one
        /// array (``RedisConnectionStateMachine/gathered``, while it is the head).
        var isPipeline = false
    }

    /// What a caller submitted.
    private enum Submission {
        /// One command expecting `replies` frames.
        case command([RESPBulk], replies: Int)
        /// Commands written back to back, whose replies are gathered.
        case pipeline([[RESPBulk]])
        /// A script call: `head` (`EVALSHA sha`), the key count, then the
        /// keys and arguments, all but the count written beforehand.
        case script(head: RESPEncodedArguments, keyCount: Int, arguments: RESPEncodedArguments)
    }

    private struct Held {
        let id: UInt64
        let waiter: Waiter
        let deadline: UInt64
        let submission: Submission
    }

    let settings: Settings
    // `state` and `protocolVersion` are set only by the machine's own methods
    // (here and in +Handshake.swift); owners read them.
    var state: State = .idle
    /// 3 after a successful `HELLO 3`, else 2.
    var protocolVersion = 2
    /// The commands awaiting replies, each with its waiter.
    private var pending = ReplyQueue<Pending, Waiter>()
    /// The replies so far of the pipeline at the head of `pending` (only
    /// the head gathers; kept out of ``Pending`` for the reason given there).
    private var gathered: [RESPValue] = []
    private var held = FIFOQueue<Held>()
    /// The bytes not yet written, commands written straight into it.
    private var outbound = RESPCommandBytes()
    private var enqueuedTotal: UInt64 = 0
    private var writtenTotal: UInt64 = 0
    var handshakeSteps: [HandshakeStep] = []
    private var connectDeadline: UInt64 = 0
    /// Whether a frame arrived, while ready, since the last ``tick(now:)``
    /// and since the oldest pending command was queued.
    private var answeredSinceTick = false
    /// A written command past its deadline fails only once this has passed
    /// too: the connection has then been silent for a command timeout.
    private var silentUntil: UInt64 = 0
    private var failures = 0
    private var lastError: RedisError?
    private var backoff: ReconnectBackoff
    /// `SUNSUBSCRIBE` confirmations written for and not yet received, by
    /// channel (subscriber connections): any other `sunsubscribe` is the
    /// server's own and must not be taken for a reply.
    private var awaitedShardUnsubscribes: [String: Int] = [:]

    init(settings: Settings, backoff: ReconnectBackoff) {
        self.settings = settings
        self.backoff = backoff
    }

    /// Commands waiting for a reply or for the connection; the pool sends to the least busy.
    var load: Int { pending.count + held.count }

    /// Whether a command sent now would be written or held rather than failed.
    var acceptsCommands: Bool {
        switch state {
        case .idle, .connecting, .handshaking, .ready: true
        case .waitingToReconnect, .shutDown: false
        }
    }

    /// Whether bytes wait to be written.
    var hasUnwrittenBytes: Bool { !outbound.isEmpty }

    /// The earliest time ``tick(now:)`` has something to do.
    var nextDeadline: UInt64? {
        var earliest = UInt64.max
        if let deadline = held.first?.deadline { earliest = deadline }
        if let deadline = pending.first?.deadline { earliest = min(earliest, max(deadline, silentUntil)) }
        switch state {
        case .connecting, .handshaking: earliest = min(earliest, connectDeadline)
        default: break
        }
        return earliest == .max ? nil : earliest
    }

    // MARK: Lifecycle

    /// Starts connecting if not started yet.
    mutating func start(now: UInt64) -> Action {
        guard state == .idle else { return .none }
        beginConnecting(now: now)
        return .connect
    }

    /// The socket connected: begin the handshake.
    mutating func connected() -> Action {
        guard state == .connecting else { return .none }
        outbound.removeAll()
        enqueuedTotal = 0
        writtenTotal = 0
        protocolVersion = 2
        awaitedShardUnsubscribes = [:]
        handshakeSteps = initialHandshakeSteps()
        return advanceHandshake()
    }

    /// The connection attempt failed before the socket connected.
    mutating func connectFailed(_ error: RedisError) -> Action {
        guard state == .connecting else { return .none }
        return attemptFailed(error)
    }

    /// The backoff delay has passed: try again.
    mutating func reconnectDue(now: UInt64) -> Action {
        guard state == .waitingToReconnect else { return .none }
        beginConnecting(now: now)
        return .connect
    }

    /// The socket closed or failed (end of file, reset, protocol violation).
    mutating func closed(_ error: RedisError, now: UInt64) -> Action {
        switch state {
        case .connecting, .handshaking:
            return attemptFailed(error)
        case .ready:
            // A healthy connection that broke is retried at once; only
            // failed attempts back off.
            let failing = failPending(culprit: nil, culpritError: error, reason: error.message)
            beginConnecting(now: now)
            return .disconnect(reason: error, failing: failing, then: .reconnectNow)
        case .idle, .waitingToReconnect, .shutDown:
            return .none
        }
    }

    /// Closes for good, failing every waiting command.
    mutating func shutdown() -> Action {
        guard state != .shutDown else { return .none }
        let error = RedisError(.shutDown, message: "the Redis client was shut down")
        var failing = pending.removeAll().compactMap { entry, waiter in
            entry.isAnswered ? nil : (waiter, entry.isCancelled ? Self.cancelled : error)
        }
        gathered = []
        failing += held.removeAll().map { ($0.waiter, error) }
        state = .shutDown
        return .disconnect(reason: error, failing: failing, then: .stop)
    }

    // MARK: Commands

    /// Submits a command expecting `replies` frames (1, or one per name for (un)subscribe).
    mutating func send(_ arguments: [RESPBulk], replies: Int = 1, id: UInt64, waiter: Waiter, now: UInt64) -> Action {
        submit(.command(arguments, replies: replies), id: id, waiter: waiter, now: now)
    }

    /// Submits a script call (see ``RESPEncoder/encodeCommand(_:_:_:into:)``).
    mutating func sendScript(head: RESPEncodedArguments, keyCount: Int, arguments: RESPEncodedArguments, id: UInt64, waiter: Waiter, now: UInt64) -> Action {
        submit(.script(head: head, keyCount: keyCount, arguments: arguments), id: id, waiter: waiter, now: now)
    }

    /// Submits a script call whose keys and arguments `write` writes (at
    /// most `argumentRoom` bytes, see ``RESPArgumentWriter/write(capacity:_:)``):
    /// while ready straight into the bytes to send, with the rest of the
    /// command; held for the connection, written beforehand, as
    /// ``sendScript(head:keyCount:arguments:id:waiter:now:)`` takes them;
    /// failed at once (waiting to reconnect, shut down), not written.
    mutating func sendScript(
        head: RESPEncodedArguments, keyCount: Int, argumentRoom: Int, id: UInt64, waiter: Waiter, now: UInt64,
        writingArguments write: (inout RESPArgumentCursor) -> Void
    ) -> Action {
        switch state {
        case .ready:
            break
        case .idle, .connecting, .handshaking:
            return sendScript(head: head, keyCount: keyCount, arguments: RESPArgumentWriter.write(capacity: argumentRoom, write),
                              id: id, waiter: waiter, now: now)
        case .waitingToReconnect, .shutDown:
            // `submit` fails the call at once: its arguments would be written for nothing.
            // (No empty writing closure here: swiftc 6.3.1 -O crashes in Mem2Reg on one.)
            var none = RESPArgumentWriter(capacity: 0)
            return sendScript(head: head, keyCount: keyCount, arguments: none.finish(), id: id, waiter: waiter, now: now)
        }
        sendScriptWhileReady(head: head, keyCount: keyCount, argumentRoom: argumentRoom, id: id, waiter: waiter, now: now,
                             writingArguments: write)
        return .flush
    }

    /// ``sendScript(head:keyCount:argumentRoom:id:waiter:now:writingArguments:)``
    /// while ready (`state == .ready`, the caller checked), whose action is
    /// always ``Action/flush``: the connection flushes without an action
    /// made, returned and matched per call.
    mutating func sendScriptWhileReady(
        head: RESPEncodedArguments, keyCount: Int, argumentRoom: Int, id: UInt64, waiter: consuming Waiter, now: UInt64,
        writingArguments write: (inout RESPArgumentCursor) -> Void
    ) {
        // As `submit` does for a command while ready.
        if pending.isEmpty { answeredSinceTick = false }
        let start = UInt64(outbound.count) + writtenTotal
        RESPEncoder.encodeCommand(head, Int64(keyCount), tailRoom: argumentRoom, into: &outbound, writingTail: write)
        enqueuedTotal = UInt64(outbound.count) + writtenTotal
        pending.append(Pending(id: id, deadline: now &+ settings.commandTimeout, start: start, end: enqueuedTotal,
                               last: enqueuedTotal, replies: 1),
                       waiter: consume waiter)
    }

    /// Submits `commands` to be written back to back. The waiter gets one
    /// `.array` holding every command's reply in order, error replies
    /// included; it fails as a whole only when the connection does.
    mutating func sendPipeline(_ commands: [[RESPBulk]], id: UInt64, waiter: Waiter, now: UInt64) -> Action {
        // Nothing to write would mean no reply to wait for.
        guard !commands.isEmpty else { return .succeed(waiter, .array([])) }
        return submit(.pipeline(commands), id: id, waiter: waiter, now: now)
    }

    private mutating func submit(_ submission: Submission, id: UInt64, waiter: Waiter, now: UInt64) -> Action {
        let deadline = now &+ settings.commandTimeout
        switch state {
        case .ready:
            // A reply read before this command joined an empty line says
            // nothing of whether Redis answers it: only later ones may put
            // off its timeout (a stall that began while idle is then found
            // at one command timeout, not two).
            if pending.isEmpty { answeredSinceTick = false }
            enqueue(submission, id: id, waiter: waiter, deadline: deadline)
            return .flush
        case .idle:
            held.append(Held(id: id, waiter: waiter, deadline: deadline, submission: submission))
            beginConnecting(now: now)
            return .connect
        case .connecting, .handshaking:
            held.append(Held(id: id, waiter: waiter, deadline: deadline, submission: submission))
            return .none
        case .waitingToReconnect:
            return .fail(waiter, failFastError)
        case .shutDown:
            return .fail(waiter, RedisError(.shutDown, message: "the Redis client was shut down"))
        }
    }

    /// The caller of command `id` gave up. A command none of whose bytes
    /// were written yet (held for the connection, or queued for a flush
    /// still to come) is dropped — never sent, so it cannot run after
    /// whatever the caller does next to make up for it — and its caller
    /// resumed at once. One already (partly) written stays in line, its reply
    /// read and dropped when it comes, so the connection and every other
    /// command on it carry on (one HTTP client hanging up must not fail the
    /// requests of all the others); its caller is resumed `cancelled` only
    /// then (or when the connection fails): Redis may not have run it yet,
    /// and what the caller does next to make up for it (a give-back after a
    /// cancelled acquire) may go on another connection and run first —
    /// finding nothing, and leaving the acquire's lease held by nobody.
    /// A caller that makes up for nothing (a `BLPOP` given up) asks with
    /// `answeringAtOnce` to be resumed `cancelled` now instead: its entry
    /// keeps its place all the same, its reply read and dropped.
    mutating func cancel(id: UInt64, now: UInt64, answeringAtOnce: Bool = false) -> Action {
        if let entry = held.remove(where: { $0.id == id }) {
            return .fail(entry.waiter, Self.cancelled)
        }
        let written = writtenTotal
        if let offset = pending.firstOffset(where: { $0.id == id && !$0.isCancelled && $0.start >= written }),
           let (unwritten, waiter) = pending.remove(atOffset: offset, adjustingLater: { removed, later in
               let count = removed.last - removed.start
               later.start -= count
               later.end -= count
               later.last -= count
           }) {
            let from = Int(unwritten.start - written)
            outbound.remove(from..<from + Int(unwritten.last - unwritten.start))
            enqueuedTotal -= unwritten.last - unwritten.start
            return .fail(waiter, Self.cancelled)
        }
        guard let offset = pending.firstOffset(where: { $0.id == id && !$0.isAnswered }) else { return .none }
        let answersNow = pending.withEntry(atOffset: offset) { entry -> Bool in
            entry.isCancelled = true
            guard answeringAtOnce else { return false }
            entry.isAnswered = true
            return true
        }
        guard answersNow == true, let waiter = pending.waiter(atOffset: offset) else { return .none }
        return .fail(waiter, Self.cancelled)
    }

    /// What a cancelled entry's reply (or its last one) does: resumes its
    /// caller `cancelled`, unless that was done at once.
    private func droppedReply(of entry: Pending, _ waiter: consuming Waiter) -> Action {
        entry.isAnswered ? .none : .fail(waiter, Self.cancelled)
    }

    /// What a cancelled caller is answered.
    static var cancelled: RedisError { RedisError(.cancelled, message: "the caller was cancelled") }

    /// Fails what has passed its deadline: held commands simply, a written
    /// command by poisoning the connection; a slow handshake counts as a failed attempt.
    ///
    /// A written command times out only while the connection is silent.
    /// Replies that arrived since the last tick mean Redis is answering and
    /// the reply is queued behind them — the loop may have been too busy to
    /// read them sooner, as when a thousand callers arrive at once — so the
    /// head gets another command timeout from now instead of failing with
    /// every command behind it. A stalled Redis is still found within two
    /// command timeouts.
    mutating func tick(now: UInt64) -> Action {
        let connecting = state == .connecting || { if case .handshaking = state { true } else { false } }()
        if connecting, now >= connectDeadline {
            let seconds = Double(settings.connectTimeout) / 1e9
            return attemptFailed(RedisError(.unreachable, message: "connecting to Redis at \(settings.endpoint) timed out after \(seconds) s"))
        }
        let answered = answeredSinceTick
        answeredSinceTick = false
        if let head = pending.first, head.deadline <= now, state == .ready {
            if answered { silentUntil = now &+ settings.commandTimeout }
            if now >= silentUntil {
                let timeout = RedisError(.timeout, message: "Redis did not answer within the command timeout")
                let failing = failPending(culprit: head.id, culpritError: timeout, reason: "an earlier command timed out")
                beginConnecting(now: now)
                return .disconnect(reason: timeout, failing: failing, then: .reconnectNow)
            }
        }
        var expired: [(Waiter, RedisError)] = []
        while let first = held.first, first.deadline <= now, let entry = held.popFirst() {
            expired.append((entry.waiter, RedisError(.timeout, message: "no connection to Redis became ready within the command timeout")))
        }
        return expired.isEmpty ? .none : .failAll(expired)
    }

    // MARK: Bytes

    /// Calls `body` with the bytes that still have to be written.
    mutating func withUnwrittenBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        outbound.withBytes(body)
    }

    /// `count` bytes from the front of the unwritten bytes reached the socket.
    mutating func wrote(_ count: Int) {
        outbound.removeFirst(count)
        writtenTotal += UInt64(count)
    }

    /// A frame arrived; `now` is read only if the frame breaks the protocol.
    mutating func received(_ value: RESPValue, now: @autoclosure () -> UInt64) -> Action {
        switch state {
        case .handshaking(let step):
            return handshakeReply(value, step: step)
        case .ready:
            answeredSinceTick = true
        default:
            return .none
        }
        let frame = settings.isSubscriber ? RedisPubSubFrame(value) : .other
        if case .message(let message, let kind) = frame { return .deliver(message, kind) }
        if case .shardUnsubscribed(let channel) = frame {
            guard let awaited = awaitedShardUnsubscribes[channel] else { return .serverUnsubscribed(channel) }
            awaitedShardUnsubscribes[channel] = awaited > 1 ? awaited - 1 : nil
        }
        if frame == .other, value.isPush { return .none }
        // The head is read and changed in place: a copy of an entry per
        // reply costs on the hot path, and would copy a pipeline's array.
        guard let isPipeline = pending.readFirst({ $0.isPipeline }) else {
            return closed(RedisError(.protocolViolation, message: "Redis sent a reply to no command"), now: now())
        }
        if isPipeline {
            // An error reply is one command's result, not the whole pipeline's.
            gathered.append(value)
            guard gathered.count == pending.readFirst({ $0.replies }), let (entry, waiter) = popFirst() else { return .none }
            let replies = gathered
            gathered = []
            return entry.isCancelled ? droppedReply(of: entry, waiter) : .succeed(waiter, .array(replies))
        }
        if let message = value.fastErrorMessage, let (head, waiter) = popFirst() {
            return head.isCancelled ? droppedReply(of: head, waiter) : .fail(waiter, .reply(message))
        }
        // (Un)subscribe confirmations come one per name.
        let awaited = pending.withFirst { entry in
            entry.replies -= 1
            return entry.replies
        }
        guard awaited == 0, let (head, waiter) = popFirst() else { return .none }
        return head.isCancelled ? droppedReply(of: head, waiter) : .succeed(waiter, value)
    }

    /// The head entry and its waiter, removed.
    private mutating func popFirst() -> (Pending, Waiter)? {
        pending.popFirst()
    }

    /// Whether the next frame may go to the head command's waiter to be
    /// read in place (``receivedInPlace()``): while ready and not
    /// subscribed, when the head is one command awaiting one reply (not a
    /// pipeline) whose waiter `reads` such a frame — and whose caller did
    /// not give up (answered `cancelled` by ``received(_:now:)``).
    mutating func nextReplyReadInPlace(by reads: (Waiter) -> Bool) -> Bool {
        guard state == .ready, !settings.isSubscriber else { return false }
        return pending.readFirstAndWaiter { entry, waiter in
            !entry.isPipeline && entry.replies == 1 && !entry.isCancelled && reads(waiter)
        } ?? false
    }

    /// A frame that ``nextReplyReadInPlace(by:)`` let through arrived, not
    /// an error reply nor a push (its reader checks): what ``received(_:now:)``
    /// would do, without the value. Returns the waiter that reads the frame.
    mutating func receivedInPlace() -> Waiter? {
        answeredSinceTick = true
        return pending.popFirstWaiter()
    }

    // MARK: Internals

    mutating func encode(_ arguments: [RESPBulk]) {
        RESPEncoder.encodeCommand(arguments, into: &outbound)
        enqueuedTotal = UInt64(outbound.count) + writtenTotal
    }

    private mutating func enqueue(_ submission: Submission, id: UInt64, waiter: Waiter, deadline: UInt64) {
        switch submission {
        case .command(let arguments, let replies):
            if settings.isSubscriber { noteShardUnsubscribes(arguments) }
            let start = UInt64(outbound.count) + writtenTotal
            encode(arguments)
            pending.append(Pending(id: id, deadline: deadline, start: start, end: enqueuedTotal, last: enqueuedTotal, replies: replies),
                           waiter: waiter)
        case .script(let head, let keyCount, let arguments):
            let start = UInt64(outbound.count) + writtenTotal
            RESPEncoder.encodeCommand(head, Int64(keyCount), tailRoom: arguments.bytes.count, into: &outbound) {
                $0.append(encoded: arguments)
            }
            enqueuedTotal = UInt64(outbound.count) + writtenTotal
            pending.append(Pending(id: id, deadline: deadline, start: start, end: enqueuedTotal, last: enqueuedTotal, replies: 1),
                           waiter: waiter)
        case .pipeline(let commands):
            let start = UInt64(outbound.count) + writtenTotal
            var firstEnd: UInt64?
            for command in commands {
                encode(command)
                if firstEnd == nil { firstEnd = enqueuedTotal }
            }
            pending.append(Pending(
                id: id, deadline: deadline, start: start, end: firstEnd ?? enqueuedTotal, last: enqueuedTotal,
                replies: commands.count, isPipeline: true),
                           waiter: waiter)
        }
    }

    /// Counts the confirmations an `SUNSUBSCRIBE` will bring. Kept out of
    /// `enqueue`, which must stay small enough to be inlined on the
    /// per-command path.
    @inline(never)
    private mutating func noteShardUnsubscribes(_ arguments: [RESPBulk]) {
        guard arguments.first == "SUNSUBSCRIBE" else { return }
        for case .string(let channel) in arguments.dropFirst() { awaitedShardUnsubscribes[channel, default: 0] += 1 }
    }

    /// The handshake finished: the connection serves commands.
    mutating func becomeReady() -> Action {
        state = .ready
        failures = 0
        lastError = nil
        while let entry = held.popFirst() {
            enqueue(entry.submission, id: entry.id, waiter: entry.waiter, deadline: entry.deadline)
        }
        return .becameReady
    }

    /// An attempt failed: back off, and fail held commands with the reason.
    mutating func attemptFailed(_ error: RedisError) -> Action {
        failures += 1
        lastError = error
        state = .waitingToReconnect
        let reason = error.needsSettingsFixed ? error : failFastError
        let failing = held.removeAll().map { ($0.waiter, reason) }
        return .disconnect(reason: error, failing: failing, then: .reconnect(after: backoff.delay(afterFailures: failures)))
    }

    /// Empties the pending queue: the culprit gets its own error; others
    /// learn whether their command may have run.
    private mutating func failPending(culprit: UInt64?, culpritError: RedisError, reason: String) -> [(Waiter, RedisError)] {
        let written = writtenTotal
        gathered = []
        let failing = pending.removeAll().compactMap { entry, waiter -> (Waiter, RedisError)? in
            if entry.isAnswered { return nil }
            if entry.isCancelled { return (waiter, Self.cancelled) }
            if entry.id == culprit { return (waiter, culpritError) }
            if entry.end <= written {
                return (waiter, RedisError(.unreachable, message: "the connection to Redis was closed after the command was sent, so it may have run (\(reason))"))
            }
            return (waiter, RedisError(.retryable, message: "the connection to Redis was closed before the command was sent (\(reason))"))
        }
        outbound.removeAll()
        return failing
    }

    private mutating func beginConnecting(now: UInt64) {
        state = .connecting
        connectDeadline = now &+ settings.connectTimeout
        answeredSinceTick = false
        silentUntil = 0
    }

    /// The error for a command sent while waiting to reconnect: the failed
    /// attempt's reason when a setting must be fixed, else "unreachable".
    private var failFastError: RedisError {
        if let lastError, lastError.needsSettingsFixed { return lastError }
        let detail = lastError.map { " (last attempt: \($0.message))" } ?? ""
        return RedisError(.unreachable, message: "not connected to Redis at \(settings.endpoint)\(detail); reconnecting")
    }
}

private extension RESPValue {
    /// Whether this is a push frame, looking through attributes only when
    /// there are some (the common case costs no copy).
    var isPush: Bool {
        switch self {
        case .push: true
        case .attributed(_, let value): value.isPush
        default: false
        }
    }

    /// ``errorMessage`` without copying the value when it has no attributes.
    var fastErrorMessage: String? {
        switch self {
        case .error(let message): message
        case .attributed: errorMessage
        default: nil
        }
    }
}
