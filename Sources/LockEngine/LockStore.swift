import LockdTransport

/// Identifies one waiting acquire in a lock's queue, and says what it waits
/// for, so that a store's queue entry needs nothing beside it.
public struct WaiterID: Hashable, Sendable, CustomStringConvertible {
    /// The id's text: 16 random hex digits, then `:s` for a shared lease or
    /// `:N` for one of a semaphore's N (nothing for a plain lock).
    public let value: String

    /// Wraps an id received from the store.
    public init(_ value: String) { self.value = value }

    /// A fresh random id for a waiter that wants a lease in `mode` on a name of `limit`.
    public static func random(mode: LockMode = .exclusive, limit: Int = 1) -> WaiterID {
        // (A short tail is a small string: no allocation but the id's.)
        WaiterID(randomHex(then: mode == .shared ? ":s" : limit > 1 ? ":" + String(limit) : ""))
    }

    /// The mode this waiter wants.
    public var mode: LockMode { value.hasSuffix(":s") ? .shared : .exclusive }

    /// The name's limit this waiter expects.
    public var limit: Int {
        guard let colon = value.lastIndex(of: ":") else { return 1 }
        return Int(value[value.index(after: colon)...]) ?? 1
    }

    public var description: String { value }
}

/// 16 random hex digits, then `tail`: waiter and instance ids.
func randomHex(then tail: String = "") -> String {
    // From the entropy pool: `SystemRandomNumberGenerator` makes a system
    // call per number, and every waiting acquire takes an id.
    var number: UInt64 = 0
    withUnsafeMutableBytes(of: &number) { EntropyPool.shared.fill($0) }
    return hex16(number, then: tail)
}

/// `number` as 16 lowercase hex digits, then `tail`, written in place
/// (one allocation: 16 bytes or more is no small string). Eight digits at
/// a time (``hexDigits(_:)``): a byte at a time, a shift, a mask and a
/// table load per digit, it cost ~60 instructions more an id (every
/// waiting acquire takes one).
func hex16(_ number: UInt64, then tail: String = "") -> String {
    var tail = tail
    return tail.withUTF8 { tail in
        String(unsafeUninitializedCapacity: 16 + tail.count) { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            let digits = UnsafeMutableRawPointer(base)
            digits.storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: number >> 32)), as: UInt64.self)
            digits.storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: number)), toByteOffset: 8, as: UInt64.self)
            for (offset, byte) in tail.enumerated() { buffer[16 + offset] = byte }
            return 16 + tail.count
        }
    }
}

/// The eight lowercase hex digits of `half`, as one word whose bytes, as
/// `storeBytes` lays them in memory, are the digits in order, most
/// significant first (on a machine of either byte order).
@inline(__always)
func hexDigits(_ half: UInt32) -> UInt64 {
    // Each nibble spread into a byte of its own, nibble k into byte k.
    var nibbles = UInt64(half)
    nibbles = (nibbles | nibbles << 16) & 0x0000_FFFF_0000_FFFF
    nibbles = (nibbles | nibbles << 8) & 0x00FF_00FF_00FF_00FF
    nibbles = (nibbles | nibbles << 4) & 0x0F0F_0F0F_0F0F_0F0F
    // 1 in each byte whose nibble is 10 or more (adding 6 carries into bit 4).
    let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
    // '0' + nibble, and 'a' - '0' - 10 = 39 more for a letter; no byte carries.
    let ascii = nibbles &+ 0x3030_3030_3030_3030 &+ letters &* 39
    // The most significant digit (byte 7) first in memory: byte 0 on a
    // little-endian machine, where `storeBytes` puts byte 0 first.
    return UInt64(bigEndian: ascii)
}

/// One attempt to take a lock, as the engine hands it to a store.
public struct AcquireAttempt: Sendable {
    /// The lock.
    public var name: LockName
    /// The token the new lease gets, or the one a retry presents.
    public var token: LeaseToken
    /// The lease's time to live in milliseconds.
    public var ttlMs: Int64
    /// The holder's label.
    public var owner: String?
    /// Set for a waiting acquire: the attempt joins (or keeps its place in)
    /// the lock's first-come-first-served queue and is granted only at its head.
    public var waiter: WaiterID?
    /// For a waiter: how much longer it may wait, in milliseconds. A store
    /// keeps the queue at least this long, and drops it eventually when every
    /// waiter in it is gone.
    public var waitMs: Int64
    /// Exclusive, or shared (then `limit` is 1).
    public var mode: LockMode
    /// The name's limit this attempt expects: 1, or a semaphore's size.
    public var limit: Int
    /// The authenticated client, if any, recorded with the lease.
    public var client: String?
    /// `replicated`: a grant no replica acknowledged in time is undone and
    /// the attempt fails ``LockError/unavailable(_:)`` — a new grant only: a
    /// lease the token held already (a retry) stays, as after a renewal.
    public var durability: Durability
    /// If the lease expires (is not released), its slot on the name stays
    /// taken this many milliseconds longer (Consul's lock-delay); 0: none.
    public var lockDelayMs: Int64 = 0
    /// Whether a ``AcquireResult/held(holders:retryAfterMs:hint:)`` answer
    /// must list the holders (and count `retryAfterMs`); a waiter with long
    /// to wait still does not need them, and a store may leave them out.
    public var needsHolders = true
    /// Names this attempt to the store, which keeps it with what the
    /// attempt is granted: a give-back of that grant whose reply never came
    /// (its fence unknown) names it so (``GrantIdentity/attempt(_:)``).
    /// Set under a client's own token, which may hold a lease the client
    /// has (an earlier answer's, a later request's); nil under a token
    /// lockd made, whose every lease is the request's own.
    public var nonce: AttemptNonce?
}

extension AcquireAttempt {
    /// Creates an attempt. It hands everything to the synthesized
    /// memberwise initializer (which has `needsHolders` too): one that
    /// assigned `self.name = name` and so on built the attempt in one place,
    /// then copied it to the caller and destroyed the first (~0.25 k
    /// instructions an acquire; see ``AcquireRequest``'s).
    public init(name: LockName, token: LeaseToken, ttlMs: Int64, owner: String?, waiter: WaiterID?, waitMs: Int64 = 0,
                mode: LockMode = .exclusive, limit: Int = 1, client: String? = nil, durability: Durability = .primary,
                lockDelayMs: Int64 = 0, nonce: AttemptNonce? = nil) {
        self.init(name: name, token: token, ttlMs: ttlMs, owner: owner, waiter: waiter, waitMs: waitMs, mode: mode, limit: limit,
                  client: client, durability: durability, lockDelayMs: lockDelayMs, needsHolders: true, nonce: nonce)
    }
}

/// What a store answered to an ``AcquireAttempt``.
public enum AcquireResult: Sendable, Equatable {
    /// The lease is granted; `isRetry` when the token already held the lock
    /// and only its TTL was reset. `hint` is for this process's other
    /// waiters on the name (the next in the queue times itself to this
    /// lease's end: an expiry announces nothing).
    case granted(Lease, isRetry: Bool, hint: WaitHint = .none)
    /// Not granted. `holders` hold it now (empty when the lock is free but
    /// earlier waiters come first); `retryAfterMs` is the time until the
    /// current lease expires; `hint` says what this process's waiters on the
    /// name should do next.
    case held(holders: [Holder], retryAfterMs: Int64, hint: WaitHint)
}

/// A lease the store granted to a waiter without being asked again (a
/// release handed the name on): the waiter's lockd delivers it as its
/// answer. The rest of the lease (token, TTL, owner, mode) is what the
/// waiter asked for.
public struct HandedGrant: Sendable, Hashable {
    /// The waiter it was granted to.
    public var waiter: WaiterID
    /// The lease's fence.
    public var fence: Int64
    /// When it was granted, on the store's clock (ms since the epoch): the
    /// lease expires its TTL later.
    public var grantedAtMs: Int64
    /// No later than when it was granted, on this process's monotonic clock
    /// (ns): its age can only be overestimated from here, so a lease that
    /// arrives too old to deliver is never mistaken for a live one.
    public var grantedBefore: UInt64

    /// Creates a grant notice.
    public init(waiter: WaiterID, fence: Int64, grantedAtMs: Int64, grantedBefore: UInt64) {
        self.waiter = waiter
        self.fence = fence
        self.grantedAtMs = grantedAtMs
        self.grantedBefore = grantedBefore
    }
}

/// What the waiters of one process on one name should do next: take the
/// leases granted to them, wake others now, and have the first of them look
/// again later when nothing else would wake it (the lease's expiry publishes
/// nothing; a queue head whose lockd died tells no one).
public struct WaitHint: Sendable, Hashable {
    /// Waiters of this process to wake now (they can take the lock).
    public var wake: [WaiterID]
    /// Waiters of this process granted a lease already.
    public var granted: [HandedGrant]
    /// After this many milliseconds this process's first waiter on the name
    /// should try again unless woken sooner; nil when nothing needs watching.
    public var recheckAfterMs: Int64?

    /// Creates a hint.
    public init(wake: [WaiterID] = [], granted: [HandedGrant] = [], recheckAfterMs: Int64? = nil) {
        self.wake = wake
        self.granted = granted
        self.recheckAfterMs = recheckAfterMs
    }

    /// Nothing to do. Made where it is used, not kept in a `static let`:
    /// read on every grant (``AcquireResult/granted(_:isRetry:hint:)``'s
    /// default), the stored one cost a `swift_once` and a retain of each of
    /// its two arrays, and their releases after (~65 instructions a grant).
    public static var none: WaitHint { WaitHint() }
}

/// A notice from the store about one lock's queue, delivered to every lockd
/// instance: wake these waiters (those of this process), and look again later.
public struct Wakeup: Sendable, Hashable {
    /// The lock.
    public var name: LockName
    /// What this process's waiters on `name` should do.
    public var hint: WaitHint
    /// True for notices delivered in the store's own order (its wake-up
    /// channel) that name waiters: the latest one's recheck replaces an
    /// earlier one. A hint read from a reply may be older than a notice
    /// already seen, and a notice naming no waiter (the Redis store's after
    /// a renewal down or a waiter leaving) does not know of a sooner look a
    /// waiter was told of, so those only ever bring a recheck forward.
    public var isOrdered: Bool

    /// Creates a notice.
    public init(name: LockName, hint: WaitHint, isOrdered: Bool = true) {
        self.name = name
        self.hint = hint
        self.isOrdered = isOrdered
    }
}

/// What a store tells the engine while it runs.
public enum StoreEvent: Sendable, Hashable {
    /// A queue changed: see ``Wakeup``.
    case wakeup(Wakeup)
    /// The connection to the store was (re-)established: notices sent
    /// meanwhile may be lost and the store may have lost data, so the
    /// engine puts its waiters back (``LockStore/reconcile(_:)``).
    case reconnected
    /// The store listens for one name's notices anew (its wake-up channel
    /// was subscribed again after a reconnection, a failover or a
    /// resharding): notices for that name sent meanwhile may be lost, so the
    /// engine puts back that name's waiters and has them look again — and
    /// only that name's (``LockStore/reconcile(_:)``).
    case resubscribed(LockName)
    /// Something happened to a lease (on any lockd sharing the store), while
    /// this process wants events (``LockStore/setEventInterest(_:)``).
    case lock(LockEvent)
    /// Events published while this process wanted them may not have
    /// reached it (its event subscription was renewed): its event streams
    /// cannot vouch that they carried every one.
    case eventsMissed
}

/// One name's waiters of this process, oldest first, for ``LockStore/reconcile(_:)``.
public struct LocalQueue: Sendable, Hashable {
    /// The lock.
    public var name: LockName
    /// This process's waiters on it that the store should hold, in arrival order.
    public var waiters: [WaiterID]
    /// The longest any of them may still wait, in milliseconds.
    public var waitMs: Int64

    /// Creates a local queue.
    public init(name: LockName, waiters: [WaiterID], waitMs: Int64) {
        self.name = name
        self.waiters = waiters
        self.waitMs = waitMs
    }
}

/// What ``LockStore/reconcile(_:)`` found for one name.
public struct QueueRepair: Sendable, Hashable {
    /// The lock.
    public var name: LockName
    /// How many of the waiters it had forgotten (or moved to keep their order).
    public var restored: Int
    /// What this process's waiters on the name should do now.
    public var hint: WaitHint

    /// Creates a result.
    public init(name: LockName, restored: Int, hint: WaitHint) {
        self.name = name
        self.restored = restored
        self.hint = hint
    }
}

/// Where leases live. Every method is atomic with respect to the others for
/// one name, and expiry is decided by the store's clock.
///
/// Two implementations: ``RedisLockStore`` (the product: shared by every
/// lockd instance) and ``InMemoryLockStore`` (one process, for development
/// and tests). Both pass the same semantics tests.
///
/// Waiting: a waiter joins its name's one FIFO queue with its first attempt.
/// The store wakes the waiters at the queue's head that fit when room is freed (deliverEvents(to:));
/// the engine keeps its waiters' places alive with ``beat(names:)`` and puts
/// back any the store forgot with ``reconcile(_:)``.
public protocol LockStore: Sendable {
    /// Grants a lease when the lock is free (and, for a waiter, it is at the
    /// head of the queue), or renews it when `attempt.token` already holds it.
    /// A waiter that is not granted is queued; its place is kept until
    /// ``removeWaiter(_:from:reclaimingGrant:)`` or until its process stops beating.
    ///
    /// Several leases may hold a name: up to `limit` exclusive ones (a
    /// semaphore), or any number of shared ones. A request is granted only
    /// when it fits beside the holders *and* every waiter ahead of it in the
    /// queue fits too (so none of them is passed over); a token holding the
    /// name in the other mode is refused (no upgrades).
    /// - Throws: ``LockError/limitMismatch(limit:)`` when the name is held or
    ///   waited on with another limit; ``LockError/lockHeld(holders:retryAfterMs:)``
    ///   at once when the token holds the name in the other mode;
    ///   ``LockError/unavailable(_:)`` when
    ///   the store cannot serve.
    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult

    /// Extends the lease `token` holds to `ttlMs` (or its current TTL when
    /// nil); nil when the token does not hold the lock.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve,
    ///   or (`replicated`) no replica acknowledged the renewal in time (the
    ///   lease stays as the primary has it).
    nonisolated(nonsending) func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability) async throws(LockError) -> Lease?

    /// ``acquire(_:)`` answered through `completion` (see
    /// LockStore+Callbacks.swift): a store that can answers without a task;
    /// `cancellation` stands for the caller's task.
    func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>)

    /// ``acquire(_:cancellation:completion:)`` as the engine calls it: the
    /// outcome goes to `answer` with the attempt (``LockEngine/AttemptAnswer/received(_:of:)``,
    /// once), and `answer.cancellation` stands for the caller's task. A
    /// store with an object of its own per call keeps both in it, so the
    /// call is one allocation (see LockStore+Callbacks.swift for the others).
    func acquire(_ attempt: consuming AcquireAttempt, answering answer: consuming LockEngine.AttemptAnswer)

    /// Whether the store can confirm a grant on a replica
    /// (``Durability/replicated``); a store that cannot refuses such requests.
    var canReplicate: Bool { get }

    /// Ends the lease `token` holds and wakes the waiters that fit now (the
    /// next one, a semaphore's next, or a run of readers); false when the
    /// token does not hold the lock.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    nonisolated(nonsending) func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool

    /// ``release(_:token:)`` answered through `completion`, as
    /// ``acquire(_:cancellation:completion:)`` is.
    func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation, completion: @escaping StoreCompletion<Bool>)

    /// ``release(_:token:cancellation:completion:)`` as the engine calls
    /// it: the answer goes to `answer` with the name and token
    /// (``LockEngine/ReleaseAnswer/received(_:name:token:)``, once), and
    /// `answer.cancellation` stands for the caller's task — kept, as in
    /// ``acquire(_:answering:)``, in the store's own call object if it has one.
    func release(_ name: LockName, token: LeaseToken, answering answer: consuming LockEngine.ReleaseAnswer)

    /// ``release(_:token:)`` for a grant lockd could not deliver (its caller
    /// hung up, or it came too late), named by `grant`: the lease ends only
    /// while it is that grant. A later lease under the same token (the
    /// grant expired, and the token was granted again) is another grant,
    /// which may have reached its client; so is an earlier one, which a
    /// client's own token may hold from an earlier answer. A grant whose
    /// reply never came is named by its attempt's nonce
    /// (``GrantIdentity/attempt(_:)``): the attempt may have been granted
    /// nothing (it never reached the store, or found the lease held already).
    ///
    /// A lease a client has claimed since, by asking again with its token
    /// (a retry-safe acquire answered with it), stays: that client holds it
    /// now — unless `evenIfClaimed`: the token is one lockd made for a
    /// request it answers without a lease, so only that request's own
    /// attempts can have claimed it. False when nothing was released.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    nonisolated(nonsending) func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool

    /// Ends the live lease with `fence`, whatever its token, and wakes the
    /// waiters that fit now, as a release would (an administrator's
    /// force-release); the ended lease's token, or nil when no live lease of
    /// `name` has that fence.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) -> LeaseToken?

    /// The lock's current holders, limit, and how many wait.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func status(of name: LockName) async throws(LockError) -> LockStatus

    /// Held locks whose names start with `prefix`, at most `limit`, after `cursor`.
    /// - Throws: ``LockError/invalidRequest(_:)`` for a cursor it did not
    ///   make, ``LockError/unavailable(_:)`` when the store cannot serve.
    func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage

    /// Takes `waiter` out of `name`'s queue, waking the waiters it held back.
    /// With `reclaimingGrant`, a lease the store granted this waiter by
    /// itself (see ``HandedGrant``) and the waiter has not collected from it
    /// ends as if released: the waiter is gone and will not deliver it. (A
    /// stray entry found by a plain wake-up is removed without: its waiter
    /// may have delivered such a lease.)
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func removeWaiter(_ waiter: WaiterID, from name: LockName, reclaimingGrant: Bool) async throws(LockError)

    /// Tells the store that this process is alive and has waiters on `names`.
    /// A store shared by several processes counts a process that stops
    /// beating as gone and stops letting its waiters hold up a queue.
    /// - Returns: false when the store may have forgotten some of this
    ///   process's waiters since the last beat (it lost its data, or counted
    ///   this process as gone): then ``reconcile(_:)`` them.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func beat(names: Set<LockName>) async throws(LockError) -> Bool

    /// Puts back any of these waiters the store no longer holds, behind the
    /// ones it still holds and in the given order, and says what to do next
    /// (wake the head of a lock that is free; when to look again).
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair]

    /// Delivers the store's events to `handler` until the calling task is
    /// cancelled.
    func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async

    /// Throws unless the store can serve requests now.
    /// - Throws: ``LockError/unavailable(_:)``.
    func checkReady() async throws(LockError)

    /// Releases the store's connections.
    func close() async

    // MARK: Events (see LockStore+Events.swift)

    /// Whether anyone, on any lockd sharing the store, may watch lock events
    /// now; when false, ``publish(_:)`` is skipped. Read on every lock
    /// operation, so it must be cheap.
    var mayHaveEventWatchers: Bool { get }

    /// Whether an event of `name` may reach a watcher anywhere (a watched
    /// prefix covers it); when false its event is not published.
    func mayWatch(_ name: LockName) -> Bool

    /// The distinct prefixes this process's watchers watch now, for the
    /// other processes to decide what to publish.
    func setWatchedPrefixes(_ prefixes: [String])

    /// Sends `event` to every lockd sharing the store that wants events
    /// (through ``deliverEvents(to:)``); never waits.
    func publish(_ event: LockEvent)

    /// Whether this process has watchers: while true, events published by
    /// any lockd reach ``deliverEvents(to:)`` as ``StoreEvent/lock(_:)``.
    func setEventInterest(_ interested: Bool)

    /// Returns once events published from now on reach this process (after
    /// ``setEventInterest(_:)``), or after `timeout` when the store is out.
    func waitForEvents(timeout: Duration) async

    /// ``release(_:token:)``, saying whose lease ended (for its event); nil
    /// when the token does not hold the lock.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func releaseReportingHolder(_ name: LockName, token: LeaseToken) async throws(LockError) -> Holder?

    /// ``releaseReportingHolder(_:token:)`` answered through `completion`,
    /// as ``acquire(_:cancellation:completion:)`` is.
    func releaseReportingHolder(_ name: LockName, token: LeaseToken, cancellation: CallCancellation,
                                completion: @escaping StoreCompletion<Holder?>)

    /// ``forceRelease(_:fence:)``, saying whose lease ended; nil when no
    /// live lease of `name` has that fence.
    /// - Throws: ``LockError/unavailable(_:)`` when the store cannot serve.
    func forceReleaseReportingHolder(_ name: LockName, fence: Int64) async throws(LockError) -> (token: LeaseToken, holder: Holder)?
}

extension LockStore {
    /// Stores keep no replicas unless they say so.
    public var canReplicate: Bool { false }
}

/// A store whose lock operations never wait (the in-memory one): each is a
/// short critical section in this process. The engine calls these directly,
/// so a request that need not wait is answered without a task (see
/// ``LockEngine/acquireAtOnce(_:)``); each means what the ``LockStore``
/// operation of the same name means. A class: the engine's reference to
/// it is then one pointer, copied by a retain (an opaque existential's copy
/// goes through its type's value witnesses, on every request).
public protocol ImmediateLockStore: LockStore, AnyObject {
    /// ``LockStore/acquire(_:)``, at once.
    func acquireAtOnce(_ attempt: AcquireAttempt) throws(LockError) -> AcquireResult
    /// ``LockStore/release(_:token:)``, at once.
    func releaseAtOnce(_ name: LockName, token: LeaseToken) -> Bool
    /// ``LockStore/giveBack(_:token:grant:evenIfClaimed:)``, at once.
    func giveBackAtOnce(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) -> Bool
    /// ``LockStore/releaseReportingHolder(_:token:)``, at once.
    func releaseReportingHolderAtOnce(_ name: LockName, token: LeaseToken) -> Holder?
}
