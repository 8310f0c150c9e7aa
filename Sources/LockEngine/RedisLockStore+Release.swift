import LockdRedis
import LockdTransport
import RESP
import Synchronization

/// Ending leases: release, give-back and force-release, and the wake-ups
/// a release's reply hands this instance's own waiters.
extension RedisLockStore {
    nonisolated(nonsending) public func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try await awaitingCallback { endLease(name, token: token, cancellation: $0, completion: $1) }
    }

    public func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation, completion: @escaping StoreCompletion<Bool>) {
        endLease(name, token: token, cancellation: cancellation, completion: completion)
    }

    /// The engine's release, run as ``endLease(_:token:givenBack:cancellation:completion:)``
    /// runs a release: the engine's answer kept in the script call itself,
    /// one object a call.
    public func release(_ name: LockName, token: LeaseToken, answering answer: consuming LockEngine.ReleaseAnswer) {
        // The handler copied out whole, its closure inside (see
        // ``RedisLockStore/EventHandler``): the bare closure returned through
        // `withLock`'s generic result was wrapped in a thunk there and in
        // another here, two allocations freed with the call (~0.9 k
        // instructions a release while the engine listens, as in lockd).
        let handler = ownWakeups.withLock { $0 }
        let start = callStart()
        // (Read before `start` is handed over: read after, it was copied.)
        let now = start.time
        // Lent: the call holds the answer, which holds it, until it is answered.
        let cancellation = Unmanaged.passUnretained(answer.cancellation)
        client.run(AnsweringReleaseCall(store: self, name: name, token: token, unclaimedOnly: false, namesCaller: handler != nil,
                                        fence: nil, nonce: nil, handler: handler, start: start, answer: consume answer),
                   lentCancellation: cancellation, now: now)
    }

    nonisolated(nonsending) public func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        try await awaitingCallback {
            endLease(name, token: token, givenBack: (grant, evenIfClaimed), cancellation: $0, completion: $1)
        }
    }

    /// Runs the release script. While the engine listens, a release that
    /// hands the name to this instance's waiters alone gets their wake-up
    /// in its reply instead of on the wake-up channel (the script's
    /// `caller`), and it is handed to the engine here: no `PUBLISH`, and no
    /// message to read. A reply that never arrives (a failure, or a caller
    /// cancelled meanwhile, whose reply is dropped) may have carried
    /// grants: the name's waiters are then put back with the store as after
    /// a lost notice (`resubscribed`), which hands each its grant.
    /// `givenBack`: which grant a give-back ends and whether even when
    /// claimed (see ``giveBack(_:token:grant:evenIfClaimed:)``); nil for a
    /// release.
    private func endLease(
        _ name: LockName, token: LeaseToken, givenBack: (grant: GrantIdentity, evenIfClaimed: Bool)? = nil, cancellation: CallCancellation,
        completion: @escaping StoreCompletion<Bool>
    ) {
        let handler = ownWakeups.withLock { $0 }
        // A give-back's fence or nonce, last and only when named: a release sends neither.
        var fence: Int64?, nonce: Int64?
        switch givenBack?.grant {
        case .fence(let value): fence = value
        case .attempt(let value): nonce = value.value
        case .any, nil: break
        }
        // The arguments are made in the call, in place: made here and
        // handed over, they were copied and the copy destroyed (~120
        // instructions a release).
        let start = callStart()
        // (Read before `start` is handed over: read after, it was copied.)
        let now = start.time
        client.run(ClosureReleaseCall(store: self, name: name, token: token, unclaimedOnly: givenBack?.evenIfClaimed == false,
                                      namesCaller: handler != nil, fence: fence, nonce: nonce, handler: handler,
                                      start: start, cancellation: cancellation, completion: completion),
                   cancellation: cancellation, now: now)
    }

    /// What the release script takes besides the name's keys and the name.
    struct ReleaseArguments {
        let token: LeaseToken
        /// A give-back that ends the lease only while no retried acquire answered with it.
        let unclaimedOnly: Bool
        /// Whether this instance's id is sent as the caller: while its engine
        /// listens (the script then hands it its own wake-ups). A flag, the
        /// id written from the store as the call is: a copy of the id per
        /// call was retained and released (~30 instructions a release).
        let namesCaller: Bool
        let fence: Int64?
        let nonce: Int64?
    }

    /// The room the release script's keys and arguments may take.
    /// `namesGrant`: a give-back's fence or nonce is sent.
    func releaseArgumentRoom(_ name: LockName, token: LeaseToken, namesCaller: Bool, namesGrant: Bool) -> Int {
        nameKeysRoom(name) + token.count + name.value.utf8.count + 1 + (namesCaller ? instanceID.utf8.count : 0) + 4 * RESPArgumentWriter.overhead
            + (namesGrant ? 2 * (RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom) : 0)
    }

    /// Writes the release script's keys and arguments (at most
    /// ``releaseArgumentRoom(_:token:namesCaller:namesGrant:)`` bytes).
    func writeReleaseArguments(_ name: LockName, _ arguments: ReleaseArguments, to call: inout RESPArgumentCursor) {
        writeNameKeys(name, to: &call)
        arguments.token.withUTF8 { call.append(UnsafeRawBufferPointer($0)) }
        call.append(name.value)
        // Each sent only up to the last one set (the script reads a missing
        // one as empty): a client's release sends the caller alone.
        let namesGrant = arguments.fence != nil || arguments.nonce != nil
        guard namesGrant || arguments.unclaimedOnly || arguments.namesCaller else { return }
        if arguments.namesCaller { call.append(instanceID) } else { call.append("" as StaticString) }
        guard namesGrant || arguments.unclaimedOnly else { return }
        call.append(arguments.unclaimedOnly ? "1" : "" as StaticString)
        if let fence = arguments.fence { call.append(fence) }
        if let nonce = arguments.nonce {
            if arguments.fence == nil { call.append("" as StaticString) }
            call.append(nonce)
        }
    }

    /// A release's (or give-back's) script call and what reading its reply
    /// needs, in one object (a closure beside the call was one more a
    /// request). It writes its keys and arguments as it is sent. Its two
    /// kinds differ in who is answered: the engine's answer, or a closure.
    class ReleaseCall: RedisScriptCall, @unchecked Sendable {
        // Safe as `RedisScriptCall` is: the `let`s are Sendable values; a
        // subclass's answer is touched only by the answer (once, on the
        // loop, or in a cluster's call task).
        fileprivate let store: RedisLockStore
        fileprivate let name: LockName
        fileprivate let arguments: ReleaseArguments
        /// The engine's handler of this instance's wake-ups, while it listens.
        private let handler: EventHandler?
        private let start: CallStart

        init(store: RedisLockStore, name: LockName, token: LeaseToken, unclaimedOnly: Bool, namesCaller: Bool, fence: Int64?, nonce: Int64?,
             handler: EventHandler?, start: CallStart) {
            self.store = store
            self.name = name
            self.arguments = ReleaseArguments(token: token, unclaimedOnly: unclaimedOnly, namesCaller: namesCaller, fence: fence, nonce: nonce)
            self.handler = handler
            self.start = start
            // (The room from the parts: from `arguments`, read back, it copied them.)
            // The client and the script lent, not retained: this call holds
            // `store`, whose `client` and `scripts` are `let`s.
            super.init(lendingClient: store.client, script: store.scripts.release, keyCount: RedisLockStore.nameKeyCount,
                       argumentRoom: store.releaseArgumentRoom(name, token: token, namesCaller: namesCaller, namesGrant: fence != nil || nonce != nil))
        }

        override final func writeArguments(_ cursor: inout RESPArgumentCursor) {
            store.writeReleaseArguments(name, arguments, to: &cursor)
        }

        /// The reply made whether a lease ended (and counted); this
        /// instance's wake-up in it handed to the engine, or the name's
        /// waiters put back when no reply came.
        final func outcome(_ reply: borrowing RedisScriptReply, cancellation: CallCancellation) -> Result<Bool, LockError> {
            let released = store.finished(reply, .release, start, cancellation: cancellation) { reply in
                // 1 or 0, or [1 or 0, this instance's wake-up]
                guard let count = reply.array() else { return reply.int() == 1 }
                let released = count > 0 && reply.int() == 1
                if let handler, count == 2, let message = reply.bytes(), var wakeup = store.wakeup(from: message, on: name) {
                    // Not in the channel's order: its recheck only brings one forward.
                    wakeup.isOrdered = false
                    handler.handle(.wakeup(wakeup))
                }
                return released
            }
            if case .failure = released { handler?.handle(.resubscribed(name)) }
            return released
        }
    }

    /// A release whose answer goes to the engine's, kept here.
    final class AnsweringReleaseCall: ReleaseCall, @unchecked Sendable {
        // Safe as `ReleaseCall` is: `answer` is touched only by the answer.
        /// Taken once answered: the cancellation holds this call until the
        /// caller's next step, and the answer holds the cancellation.
        /// (Spelled `Optional<…>`: a `T?` variable starts as nil, and the
        /// initializer's store destroyed that nil first.)
        private var answer: Optional<LockEngine.ReleaseAnswer>

        init(store: RedisLockStore, name: LockName, token: LeaseToken, unclaimedOnly: Bool, namesCaller: Bool, fence: Int64?, nonce: Int64?,
             handler: EventHandler?, start: CallStart, answer: consuming LockEngine.ReleaseAnswer) {
            self.answer = consume answer
            super.init(store: store, name: name, token: token, unclaimedOnly: unclaimedOnly, namesCaller: namesCaller, fence: fence, nonce: nonce,
                       handler: handler, start: start)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            guard let answer = answer.take() else { return }
            answer.received(outcome(reply, cancellation: answer.cancellation), name: name, token: arguments.token)
        }
    }

    /// A release or give-back answered through a closure.
    final class ClosureReleaseCall: ReleaseCall, @unchecked Sendable {
        // Safe as `ReleaseCall` is: `cancellation` and `completion` are
        // touched only by the answer.
        /// Dropped once answered: the cancellation holds this call until
        /// the caller's next step, and these hold the cancellation.
        private var cancellation: CallCancellation?
        private var completion: StoreCompletion<Bool>?

        init(store: RedisLockStore, name: LockName, token: LeaseToken, unclaimedOnly: Bool, namesCaller: Bool, fence: Int64?, nonce: Int64?,
             handler: EventHandler?, start: CallStart, cancellation: CallCancellation,
             completion: @escaping StoreCompletion<Bool>) {
            self.cancellation = cancellation
            self.completion = completion
            super.init(store: store, name: name, token: token, unclaimedOnly: unclaimedOnly, namesCaller: namesCaller, fence: fence, nonce: nonce,
                       handler: handler, start: start)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            guard let completion, let cancellation else { return }
            self.completion = nil
            self.cancellation = nil
            completion(outcome(reply, cancellation: cancellation))
        }
    }

    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) -> LeaseToken? {
        let room = name.value.utf8.count + 2 * RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom
        let arguments = nameKeysCall(name, argumentRoom: room) { call in
            call.append(fence)
            call.append(name.value)
        }
        let reply = try await run(scripts.forceRelease, .forceRelease, keyCount: Self.nameKeyCount, arguments: arguments)
        guard let token = reply.string else { return nil }
        return try? LeaseToken(token)
    }
}
