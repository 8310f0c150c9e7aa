import LockdRedis
import LockdTransport
import RESP

/// Taking and renewing leases: the acquire and renew scripts' calls and
/// replies, and the store's clock read from them.
extension RedisLockStore {
    nonisolated(nonsending) public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        try await acquire(attempt, mayLookAgain: true)
    }

    /// `mayLookAgain`: whether a Cluster waiter that had to subscribe first
    /// may look at the queue once more (once: never a loop).
    nonisolated(nonsending) private func acquire(_ attempt: AcquireAttempt, mayLookAgain: Bool) async throws(LockError) -> AcquireResult {
        // The call is written and the reply read in plain functions: what an
        // async function holds lives in its task's frame, and a frame too
        // big for the task allocator's slab costs a `malloc` per request.
        let sent = MonotonicClock.now()
        let (reply, replicated) = try await run(scripts.acquire, .acquire, durability: attempt.durability, keyCount: Self.nameKeyCount,
                                                arguments: acquireArguments(attempt))
        let result = try RESPReply.reading(reply) { (reply) throws(LockError) in
            try acquireResult(&reply, name: attempt.name, token: attempt.token, waiter: attempt.waiter, sentAt: sent)
        }
        switch result {
        case .granted(let lease, let isRetry, _) where !replicated:
            metrics.replicationTimedOut()
            // A lease found (a retry) stays as the primary has it, as an
            // unconfirmed renewal does: the client holds it from an earlier
            // answer. A new grant is undone, so that a failover cannot leave
            // a second holder beside a lease nobody was told about — by its
            // fence and only while unclaimed: a retry under the same token
            // may have been answered with it meanwhile. (A lease found under
            // lockd's own token is the engine's to give back on the 503.)
            if !isRetry,
               (try? await giveBack(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: false)) == nil {
                logger.warning("an unreplicated grant could not be undone; it ends with its TTL", metadata: ["lock": "\(attempt.name.value)"])
            }
            throw Self.notReplicated
        case .held:
            // A Cluster's first waiter here on the name: subscribed only
            // now, so a wake-up since the queue was joined is lost — look
            // again (the waiter keeps its place).
            if mayLookAgain, let shardWakeups, attempt.waiter != nil, await shardWakeups.listen(on: attempt.name) {
                return try await acquire(attempt, mayLookAgain: false)
            }
            return result
        case .granted:
            return result
        }
    }

    /// ``acquire(_:)`` answered when the reply is read, without a task —
    /// unless the attempt must await more than the script: a replicated
    /// grant its replica, a Cluster waiter its subscription.
    public func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        guard answersOnLoop(attempt) else {
            return inTask(cancellation, completion) { [self] () async throws(LockError) in try await acquire(attempt) }
        }
        let start = callStart()
        // (Read before `start` is handed over: read after, it was copied.)
        let now = start.time
        client.run(ClosureAcquireCall(store: self, attempt: attempt, start: start, cancellation: cancellation, completion: completion),
                   cancellation: cancellation, now: now)
    }

    /// The engine's acquire, answered as ``acquire(_:cancellation:completion:)``
    /// is: the attempt and the engine's answer kept in the script call
    /// itself, one object a call.
    public func acquire(_ attempt: consuming AcquireAttempt, answering answer: consuming LockEngine.AttemptAnswer) {
        guard answersOnLoop(attempt) else {
            let attempt = copy attempt
            return inTask(answer.cancellation, { [answer] outcome in (copy answer).received(outcome, of: attempt) }) {
                [self] () async throws(LockError) in try await acquire(attempt)
            }
        }
        // The engine's clock reading, taken as its answer was made just
        // before, serves as the call's start too (one reading less).
        let start = callStart(at: answer.startedAt)
        let now = start.time
        // Lent: the call holds the answer, which holds it, until it is answered.
        let cancellation = Unmanaged.passUnretained(answer.cancellation)
        client.run(AnsweringAcquireCall(store: self, attempt: consume attempt, start: start, answer: consume answer),
                   lentCancellation: cancellation, now: now)
    }

    /// Whether an acquire is answered on the loop as its reply is read:
    /// not a replicated grant (it awaits its replica) nor a Cluster
    /// waiter (its subscription).
    private func answersOnLoop(_ attempt: borrowing AcquireAttempt) -> Bool {
        attempt.durability == .primary && (shardWakeups == nil || attempt.waiter == nil)
    }

    /// An acquire's script call and what reading its reply needs, in one
    /// object (a closure beside the call was one more a request). It writes
    /// its keys and arguments as it is sent, from the attempt. Its two
    /// kinds differ in who is answered: the engine's answer, or a closure.
    class AcquireCall: RedisScriptCall, @unchecked Sendable {
        // Safe as `RedisScriptCall` is: the `let`s are Sendable values; a
        // subclass's answer is touched only by the answer (once, on the
        // loop, or in a cluster's call task).
        fileprivate let store: RedisLockStore
        fileprivate let attempt: AcquireAttempt
        fileprivate let start: CallStart

        init(store: RedisLockStore, attempt: consuming AcquireAttempt, start: CallStart) {
            let room = store.acquireArgumentRoom(attempt)
            self.attempt = consume attempt
            self.start = start
            self.store = store
            // The client and the script lent, not retained: this call holds
            // `store`, whose `client` and `scripts` are `let`s.
            super.init(lendingClient: store.client, script: store.scripts.acquire, keyCount: RedisLockStore.nameKeyCount, argumentRoom: room)
        }

        override final func writeArguments(_ cursor: inout RESPArgumentCursor) {
            store.writeAcquireArguments(attempt, to: &cursor)
        }

        /// The reply made the store's outcome (and counted).
        final func outcome(_ reply: borrowing RedisScriptReply, cancellation: CallCancellation) -> Result<AcquireResult, LockError> {
            store.finished(reply, .acquire, start, cancellation: cancellation) { (reply) throws(LockError) in
                try store.acquireResult(&reply, name: attempt.name, token: attempt.token, waiter: attempt.waiter, sentAt: start.time)
            }
        }
    }

    /// An acquire whose outcome goes to the engine's answer, kept here.
    final class AnsweringAcquireCall: AcquireCall, @unchecked Sendable {
        // Safe as `AcquireCall` is: `answer` is touched only by the answer.
        /// Taken once answered: the cancellation holds this call until the
        /// caller's next step, and the answer holds the cancellation.
        /// (Spelled `Optional<…>`: a `T?` variable starts as nil, and the
        /// initializer's store destroyed that nil first, ~15 instructions.)
        private var answer: Optional<LockEngine.AttemptAnswer>

        init(store: RedisLockStore, attempt: consuming AcquireAttempt, start: CallStart, answer: consuming LockEngine.AttemptAnswer) {
            self.answer = consume answer
            super.init(store: store, attempt: consume attempt, start: start)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            guard let answer = answer.take() else { return }
            answer.received(outcome(reply, cancellation: answer.cancellation), of: attempt)
        }
    }

    /// An acquire answered through a closure (a caller other than the engine).
    final class ClosureAcquireCall: AcquireCall, @unchecked Sendable {
        // Safe as `AcquireCall` is: `cancellation` and `completion` are
        // touched only by the answer.
        /// Dropped once answered: the cancellation holds this call until
        /// the caller's next step, and these hold the cancellation.
        private var cancellation: CallCancellation?
        private var completion: StoreCompletion<AcquireResult>?

        init(store: RedisLockStore, attempt: AcquireAttempt, start: CallStart, cancellation: CallCancellation,
             completion: @escaping StoreCompletion<AcquireResult>) {
            self.cancellation = cancellation
            self.completion = completion
            super.init(store: store, attempt: attempt, start: start)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            guard let completion, let cancellation else { return }
            self.completion = nil
            self.cancellation = nil
            completion(outcome(reply, cancellation: cancellation))
        }
    }

    /// The acquire script's keys and arguments, as one run.
    private func acquireArguments(_ attempt: AcquireAttempt) -> RESPEncodedArguments {
        RESPArgumentWriter.write(capacity: acquireArgumentRoom(attempt)) { writeAcquireArguments(attempt, to: &$0) }
    }

    /// The room the acquire script's keys and arguments may take.
    func acquireArgumentRoom(_ attempt: AcquireAttempt) -> Int {
        // At most 12 arguments, 4 of them integers and 3 of them one byte;
        // and a nonce, an integer, only under a client's token.
        let waiterRoom = attempt.waiter.map { instanceID.utf8.count + 1 + $0.value.utf8.count } ?? 0
        return nameKeysRoom(attempt.name) + attempt.token.count + (attempt.owner?.utf8.count ?? 0) + waiterRoom
            + attempt.name.value.utf8.count + (attempt.client?.utf8.count ?? 0) + 3
            + 12 * RESPArgumentWriter.overhead + 4 * RESPArgumentWriter.integerRoom
            + (attempt.nonce == nil ? 0 : RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom)
    }

    /// Writes the acquire script's keys and arguments (at most
    /// ``acquireArgumentRoom(_:)`` bytes): after the name, each only up to
    /// the last one this attempt sets (the script reads a missing one as
    /// empty, or as its default: mode `x`, limit 1).
    @inline(never)
    func writeAcquireArguments(_ attempt: AcquireAttempt, to call: inout RESPArgumentCursor) {
        writeNameKeys(attempt.name, to: &call)
        // A waiter may be granted by a release without asking again, unless
        // its grant must be confirmed on a replica first (this call's WAIT).
        let asksWish = attempt.waiter != nil && attempt.durability == .primary
        let last = attempt.nonce != nil ? 13 : attempt.lockDelayMs > 0 ? 12 : asksWish ? 11 : attempt.waiter != nil ? 10
            : attempt.mode == .shared || attempt.limit != 1 ? 8 : attempt.client != nil ? 6 : attempt.owner != nil ? 5
            : attempt.needsHolders ? 4 : 3
        attempt.token.withUTF8 { call.append(UnsafeRawBufferPointer($0)) }
        call.append(attempt.ttlMs)
        call.append(attempt.name.value)
        guard last > 3 else { return }
        call.append(attempt.needsHolders ? "1" : "" as StaticString)
        guard last > 4 else { return }
        if let owner = attempt.owner { call.append(owner) } else { call.append("" as StaticString) }
        guard last > 5 else { return }
        if let client = attempt.client { call.append(client) } else { call.append("" as StaticString) }
        guard last > 6 else { return }
        call.append(attempt.mode == .shared ? "s" : "x" as StaticString)
        call.append(Int64(attempt.limit))
        guard last > 8 else { return }
        if let waiter = attempt.waiter { appendMember(waiter, to: &call) } else { call.append("" as StaticString) }
        call.append(retention(waitMs: attempt.waitMs))
        guard last > 10 else { return }
        call.append(asksWish ? "1" : "" as StaticString)
        guard last > 11 else { return }
        if attempt.lockDelayMs > 0 { call.append(attempt.lockDelayMs) } else { call.append("" as StaticString) }
        if let nonce = attempt.nonce { call.append(nonce.value) }
    }

    /// The acquire script's reply: granted or held (a held lock's waiter
    /// not queued throws `lockHeld`), its fields read in order.
    @inline(never)
    fileprivate func acquireResult(
        _ reply: inout RESPReply, name: LockName, token: LeaseToken, waiter: WaiterID?, sentAt sent: UInt64
    ) throws(LockError) -> AcquireResult {
        guard let count = reply.array(), count >= 2 else { throw Self.malformed }
        let kind = reply.int()
        switch kind {
        case 1:
            // 1, fence, now, ttl, owner, is retry, recheck, limit, mode
            guard count >= 9 else { throw Self.malformed }
            let fence = try Self.int(reply.int())
            let now = try Self.int(reply.int())
            sampleClock(now, of: name, sentAt: sent)
            let ttl = try Self.int(reply.int())
            let owner = Self.owner(reply.string())
            let isRetry = reply.int() == 1
            let recheck = try Self.int(reply.int())
            let limit = Int(try Self.int(reply.int()))
            let mode = try Self.mode(reply.byte())
            let lease = Lease(name: name, token: token, fence: fence, ttlMs: ttl, expiresAtMs: now + ttl, owner: owner, mode: mode, limit: limit)
            return .granted(lease, isRetry: isRetry, hint: WaitHint(recheckAfterMs: recheck > 0 ? recheck : nil))
        case 2:
            throw .limitMismatch(limit: Int(try Self.int(reply.int())))
        default:
            // kind, now, recheck, not queued, wake, holders, retry after, …
            guard count >= 8 else { throw Self.malformed }
            let now = reply.int()
            if kind == 0, let now { sampleClock(Int64(now), of: name, sentAt: sent) }
            let recheck = reply.value()
            let notQueued = reply.int() == 1
            let wake = reply.value()
            let holders = try Self.holders(reply.value(), now: try Self.int(now))
            let retryAfterMs = max(0, try Self.int(reply.int()))
            if notQueued { throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs) }
            let hint = try hint(recheck: recheck, wake: wake, except: waiter)
            return .held(holders: holders, retryAfterMs: retryAfterMs, hint: hint)
        }
    }

    /// Notes the store's clock, `now` as a reply sent at `sent` read it.
    private func sampleClock(_ now: Int64, of name: LockName, sentAt sent: UInt64) {
        if let source = clockSource(name) { clockOffset.sample(storeMs: now, sentAt: sent, source: source) }
    }

    /// The clock that stamps `name`'s replies, for ``StoreClockOffset``: in
    /// a Cluster the node serving the name's slot (nil inside: none known
    /// now), else the one server (`.some(nil)`).
    func clockSource(_ name: LockName) -> RedisEndpoint?? {
        guard shardWakeups != nil else { return .some(nil) }
        return client.primary(serving: RedisHashSlot(key: name.value)).map { .some($0) }
    }

    nonisolated(nonsending) public func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability) async throws(LockError) -> Lease? {
        var call = Self.keysWriter(name, count: 4, argumentBytes: token.count + name.value.utf8.count + 3 * RESPArgumentWriter.overhead + 20)
        Self.withKeyBytes(name) { name in
            call.append("lockd:{", name, "}:lease")
            call.append("lockd:{", name, "}:holders")
            call.append("lockd:{", name, "}:grants")
            call.append("lockd:{", name, "}:waiters")
        }
        token.withUTF8 { call.append(UnsafeRawBufferPointer($0)) }
        if let ttlMs { call.append(ttlMs) } else { call.append("" as StaticString) }
        call.append(name.value)
        let (reply, replicated) = try await run(scripts.renew, .renew, durability: durability, keyCount: 4, arguments: call.finish())
        guard let fields = reply.array, fields.first?.int == 1 else { return nil }
        // The lease stays as the primary has it: the holder may try again.
        guard replicated else {
            metrics.replicationTimedOut()
            throw Self.notReplicated
        }
        let checked = try Self.fields(reply, count: 7)
        let now = try Self.int(checked[2])
        let ttl = try Self.int(checked[3])
        return Lease(name: name, token: token, fence: try Self.int(checked[1]), ttlMs: ttl, expiresAtMs: now + ttl,
                     owner: Self.owner(checked[4]), mode: try Self.mode(checked[6]), limit: Int(try Self.int(checked[5])))
    }

    private static let notReplicated = LockError.unavailable(
        "the lease could not be replicated: no Redis replica acknowledged it in time, so it was not kept; try again shortly")
}
