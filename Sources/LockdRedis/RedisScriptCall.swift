import LockdTransport
import RESP
import Synchronization

/// One script call answered by callback, with a single server or Sentinel
/// (see ``RedisClient/run(_:cancellation:)``): the reply's waiter, what
/// the caller's cancellation abandons, and what sends the script again —
/// after loading its library when Redis lacks its function, by `EVALSHA`
/// when Redis has no functions, by `EVAL` after `-NOSCRIPT` (as
/// RedisClient+Functions.swift says) — in one object: one allocation a
/// call where a closure per step (three) and a command array cost four.
///
/// A caller subclasses it to hold what reading the reply needs, and reads
/// it in ``replied(_:)``: the call and the caller's state are then one
/// object too (a closure beside the call was one more a call). Given a
/// closure, ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``
/// makes one that calls it.
///
/// `@unchecked Sendable`, safe: every stored property is an immutable
/// Sendable value (the keys and arguments written beforehand, when given,
/// among them) except `form`, `loaded` and `isAnswered`, which only
/// ``send()``, ``received(_:)``, the library load's callback and the
/// answer touch, all on `router.loop`'s thread only (or, in a cluster, in
/// the one task that runs the call). ``callCancelled()`` (any thread) reads
/// only `router` and `id` and sets the atomic `isCancelled`. A subclass's
/// own state must be as safe. ``writeArguments(_:)`` runs while the
/// connection writes the command (inside `state.machine.sendScript`, the
/// connection's bytes lent to it, exclusivity unchecked): it must not call
/// the client, the router or any connection, and reads only immutable state.
open class RedisScriptCall: CallCancellationTarget, @unchecked Sendable {
    /// The client, not retained; `held` holds it, unless the
    /// subclass lends it (``init(lendingClient:script:keyCount:argumentRoom:)``).
    private let lentClient: Unmanaged<RedisClient>
    /// What the call holds, unless its subclass lends it: the client, the
    /// script, and the keys and arguments when written beforehand. One
    /// optional, not three: a lent call's `deinit` tests one nil, where it
    /// released three (~27 instructions a call).
    private let held: Held?
    /// The client, retained for its use (off the hot path: failures, the library's load).
    private var client: RedisClient { lentClient.takeUnretainedValue() }
    /// The router of the loop the call is sent on, not retained (a retain
    /// as the call is made and a release as it is freed, ~40 instructions
    /// a call): the call holds `client`, which holds each of its routers
    /// for its whole life (``RedisClient/routerUnretained()``), so this one
    /// lives while the call does. Used through `_withUnsafeGuaranteedRef`
    /// where it is hot (an `unowned(unsafe)` field was retained around each
    /// use instead), as ``router`` elsewhere.
    private let lentRouter: Unmanaged<LoopRouter>
    /// The router, retained for its use (off the hot path).
    private var router: LoopRouter { lentRouter.takeUnretainedValue() }
    /// The script, not retained; `held` holds it, unless the
    /// subclass lends it (as `lentClient`).
    private let lentScript: RedisScript.Lent
    /// The script, retained for its use (off the hot path, and in a cluster).
    var script: RedisScript { lentScript.script }
    let keyCount: Int
    /// The most bytes ``writeArguments(_:)`` writes.
    let argumentRoom: Int
    /// The keys and arguments written beforehand; nil when the subclass
    /// writes them as the call is sent (``writeArguments(_:)``).
    private var written: RESPEncodedArguments? { held?.written }
    /// The command's id: the same for the library's load and every form
    /// sent again, whose entry is the only one with it by then, so a
    /// cancel finds it.
    private let id: UInt64
    /// Whether ``replied(_:)`` was called (it is, once).
    private var isAnswered = false
    /// The form the call is sent in (loop thread only).
    private var form: RedisScript.Form
    /// Whether the library was loaded for this call already (loop thread only).
    private var loaded = false
    /// Set as the caller cancels, before the loop hears of it: a `-NOSCRIPT`
    /// (or a missing function) read meanwhile must not send the script
    /// again for no one.
    private let isCancelled = Atomic<Bool>(false)

    /// A call of `script` on `client`, with `arguments` written beforehand,
    /// the first `keyCount` of them keys. Run it with ``RedisClient/run(_:cancellation:)``.
    public init(client: RedisClient, script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments) {
        // Each reference stored by its last use (as in the other initializer).
        let router = client.routerUnretained()
        self.form = client.firstForm(script)
        self.id = router._withUnsafeGuaranteedRef { $0.nextID.wrappingAdd(1, ordering: .relaxed).newValue }
        self.keyCount = keyCount
        self.argumentRoom = arguments.bytes.count
        self.lentRouter = router
        self.lentScript = script.lent
        self.lentClient = Unmanaged.passUnretained(client)
        self.held = Held(client: client, script: script, written: arguments)
    }

    /// A call of `script` on `client` whose `keyCount` keys, then its
    /// arguments, the subclass writes each time the call is sent: it
    /// overrides ``writeArguments(_:)``, which writes at most
    /// `argumentRoom` bytes — the sum of its texts,
    /// ``RESPArgumentWriter/overhead`` per argument and
    /// ``RESPArgumentWriter/integerRoom`` per integer always is (given
    /// here, so no subclass can forget it). Sent to a connection ready for
    /// it, they are written straight into the bytes it sends, with no
    /// buffer of their own made, copied and freed per call.
    // The initializers stay designated (each repeats the others' lines):
    // a subclass must call a designated one, and designated initializers
    // cannot delegate to one shared.
    public init(client: RedisClient, script: RedisScript, keyCount: Int, argumentRoom: Int) {
        // Each reference stored by its last use, so that the parameter is
        // moved into the call: stored first and read after, each was
        // copied and the parameter released (three retains and releases
        // more a call, ~120 instructions).
        let router = client.routerUnretained()
        self.form = client.firstForm(script)
        self.id = router._withUnsafeGuaranteedRef { $0.nextID.wrappingAdd(1, ordering: .relaxed).newValue }
        self.keyCount = keyCount
        self.argumentRoom = argumentRoom
        self.lentRouter = router
        self.lentScript = script.lent
        self.lentClient = Unmanaged.passUnretained(client)
        self.held = Held(client: client, script: script, written: nil)
    }

    /// ``init(client:script:keyCount:argumentRoom:)`` for a subclass that
    /// holds, for the call's whole life, what holds `client` and `script`
    /// for theirs (a store whose `let`s they are): neither is retained by
    /// the call (two retains as it is made and two releases as it is
    /// freed, ~80 instructions a call). The subclass's promise is what
    /// keeps them alive: the call may outlive its caller's wait (a cancel,
    /// a late reply read and dropped), so it must hold that owner itself.
    // (Borrowed: an initializer's arguments are taken owned by default, so
    // the caller retained each and this released it.)
    public init(lendingClient client: borrowing RedisClient, script: borrowing RedisScript, keyCount: Int, argumentRoom: Int) {
        let router = client.routerUnretained()
        self.form = client.firstForm(script)
        self.id = router._withUnsafeGuaranteedRef { $0.nextID.wrappingAdd(1, ordering: .relaxed).newValue }
        self.keyCount = keyCount
        self.argumentRoom = argumentRoom
        self.lentRouter = router
        self.lentScript = script.lent
        self.lentClient = Unmanaged.passUnretained(client)
        self.held = nil
    }

    /// What a call that is not lent its client and script holds.
    private struct Held {
        let client: RedisClient
        let script: RedisScript
        let written: RESPEncodedArguments?
    }

    /// Writes the call's keys, then its arguments — each time the call is
    /// sent (again after a library load or `-NOSCRIPT`): always the same,
    /// from state that never changes (on the loop, or in a cluster's call task).
    ///
    /// It runs while the connection writes the command, inside its state
    /// machine's access to the bytes it sends (lent to it, exclusivity
    /// unchecked): it must not call the client, the router or any
    /// connection — one touched from here would corrupt memory silently —
    /// and it reads only immutable state.
    open func writeArguments(_ cursor: inout RESPArgumentCursor) {
        if let written { cursor.append(encoded: written) }
    }

    /// The keys and arguments as one run, for a call not written straight
    /// into a connection's bytes (in a cluster).
    var arguments: RESPEncodedArguments {
        written ?? RESPArgumentWriter.write(capacity: argumentRoom) { writeArguments(&$0) }
    }

    /// The call's outcome, lent for the call (see ``RedisScriptReply``):
    /// called once, on the loop that read the reply (in a cluster, in the
    /// call's task). The call may be held by the caller's cancellation
    /// until the caller's next step: drop here whatever holds the
    /// cancellation, or the two keep each other alive.
    open func replied(_ reply: borrowing RedisScriptReply) {}

    /// The loop the call is sent and answered on.
    final var loop: EventLoop { router.loop }

    /// Whether the calling thread is ``loop``'s. The loop is asked as the
    /// router holds it, not retained for the call and released after
    /// (`inEventLoop` is not inlinable here: read through ``loop``, the
    /// call's caller copied the reference first, ~40 instructions a call);
    /// the router holds its loop for its whole life, and lives while this call does (see `lentRouter`).
    final var isOnLoop: Bool {
        lentRouter._withUnsafeGuaranteedRef { Unmanaged.passUnretained($0.loop)._withUnsafeGuaranteedRef { $0.inEventLoop } }
    }

    /// Hands the command to the master's connection (loop thread only);
    /// `now`, a clock reading taken just before, if there is one.
    func send(now: UInt64? = nil) {
        let reference = Unmanaged.passRetained(self)
        if !send(now: now, handing: reference) { reference.release() }
    }

    /// ``send(now:)``, its reply's waiter given `reference`, a reference
    /// to this call that the caller gives up (``RedisClient/run(_:lentCancellation:now:)``
    /// gives its own), where the waiter retained one of its own.
    ///
    /// - Returns: whether the reference was taken. Only a ready connection
    ///   takes it: its send answers no one, so the call lives on, held by
    ///   the waiter, until the send is over. Otherwise (no master, or a
    ///   connection not ready, which may answer the call at once) the waiter
    ///   holds a reference of its own, as before, and the caller still owns
    ///   `reference`, to let go of once this returns.
    func send(now: UInt64?, handing reference: Unmanaged<RedisScriptCall>) -> Bool {
        guard let connection = lentRouter._withUnsafeGuaranteedRef({ $0.singleConnectionUnretained() }) else {
            received(.failure(router.noSingleMaster()))
            return false
        }
        let now = now ?? MonotonicClock.now()
        // The connection lent unretained while it is ready (a retain and a
        // release, ~40 instructions a call): the router's node holds it,
        // and its table changes only on this loop, by nothing a ready
        // connection's send reaches (``RedisConnection/sendScriptIfReady(_:head:id:handing:now:)``).
        // Any other state may call back (a failure answered at once): the
        // connection is then held as usual.
        let sent = connection._withUnsafeGuaranteedRef { connection in
            lentScript.withHead(form) { connection.sendScriptIfReady(self, head: $0, id: id, handing: reference, now: now) }
        }
        guard !sent else { return true }
        let held = connection.takeUnretainedValue()
        lentScript.withHead(form) { held.sendScript(self, head: $0, id: id, waiter: .script(self), now: now) }
        return false
    }

    /// The command's outcome, decoded (loop thread only): a missing
    /// function loads the library, once, and sends the call again; no
    /// functions at all, or `-OOM`, send it by `EVALSHA`; `-NOSCRIPT` sends the script
    /// itself, once; anything else goes to the caller.
    func received(_ result: Result<RESPValue, RedisError>) {
        switch result {
        case .success(let value):
            RedisScriptReply.reading(value) { answer($0) }
        case .failure(let error):
            if form == .function, client.goesByEvalsha(after: error) {
                guard !isCancelled.load(ordering: .relaxed) else { return answerCancelled() }
                if error.isFunctionNotFound, !loaded { return loadLibrary() }
                form = .cached
                return send()
            }
            if form == .cached, error.code == "NOSCRIPT" {
                guard !isCancelled.load(ordering: .relaxed) else { return answerCancelled() }
                form = .source
                return send()
            }
            client.noticed(error)
            answer(RedisScriptReply(failure: error))
        }
    }

    /// Loads the script's library on the master's connection, then sends
    /// the call again: by `FCALL`, or by `EVALSHA` if Redis refused the
    /// library — or at once by `EVALSHA` while another call loads it (see
    /// ``RedisClient/startLibraryLoad()``; loop thread only).
    private func loadLibrary() {
        loaded = true
        guard let function = script.function, client.startLibraryLoad() else {
            form = .cached
            return send()
        }
        guard let connection = router.singleConnection() else {
            client.libraryLoading.store(false, ordering: .releasing)
            return received(.failure(router.noSingleMaster()))
        }
        connection.send(function.library.load.arguments, id: id, waiter: .callback { [self] result in
            client.libraryLoading.store(false, ordering: .releasing)
            if case .failure(let error) = result, !error.isLibraryLoaded {
                guard error.kind == .refused || error.kind == .permissionDenied else {
                    client.noticed(error)
                    return answer(RedisScriptReply(failure: error))
                }
                _ = client.functionsUnavailable(error)
                form = .cached
            }
            guard !isCancelled.load(ordering: .relaxed) else { return answerCancelled() }
            send()
        })
    }

    private func answerCancelled() {
        answer(RedisScriptReply(failure: RedisError(.cancelled, message: "the caller was cancelled")))
    }

    /// The command's plain reply, read in place (loop thread only).
    func received(inPlace frame: UnsafeRawBufferPointer) {
        answer(RedisScriptReply(unsafeFrame: frame))
    }

    /// Answers the caller, once.
    final func answer(_ reply: borrowing RedisScriptReply) {
        guard !isAnswered else { return }
        isAnswered = true
        replied(reply)
    }

    /// Always later, on the loop: a cancel from the loop itself (the
    /// caller's connection closing) must not answer the caller inside its
    /// own cancellation. The command is dropped if none of it was written,
    /// else its reply is read and dropped; either way the caller gets
    /// `cancelled` — in the second case, as for every script call, only
    /// once the reply came (see ``RedisConnectionStateMachine/cancel(id:now:answeringAtOnce:)``).
    public final func callCancelled() {
        isCancelled.store(true, ordering: .relaxed)
        router.loop.execute { [router, id] in router.cancel(id: id) }
    }
}

/// A call answered through a closure, dropped once called (it may hold the
/// caller's cancellation, which holds the call).
final class ClosureScriptCall: RedisScriptCall, @unchecked Sendable {
    // Safe as its superclass is: `completion` is touched only by the
    // answer, on the loop (or in the call's task).
    private var completion: (@Sendable (borrowing RedisScriptReply) -> Void)?

    init(client: RedisClient, script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments,
         completion: @escaping @Sendable (borrowing RedisScriptReply) -> Void) {
        self.completion = completion
        super.init(client: client, script: script, keyCount: keyCount, arguments: arguments)
    }

    override func replied(_ reply: borrowing RedisScriptReply) {
        let completion = self.completion
        self.completion = nil
        completion?(reply)
    }
}
