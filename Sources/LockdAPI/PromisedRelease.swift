import LockEngine
import LockdHTTP
import LockdTransport

/// A holder's release answered when its store's reply is read (on Redis):
/// the name, token, promise and the request's log in one object that the
/// promise's start and the store's callback capture alone (see
/// ``PromisedAcquire``; capturing their parts, the two closures were two
/// allocations, each freed after).
///
/// `@unchecked Sendable`: the `let`s are `Sendable`; `promise` and `log`
/// are set by ``start(_:_:)``, which the server runs once, before the
/// engine is called, and read by ``answer(_:)`` only in the engine's
/// callback, which the engine and store hand over through their own
/// synchronization (as they hand over the callback itself) and which runs
/// once; `promise` is cleared there after its response is given.
/// `@exclusivity(unchecked)`: each access is a whole read or write, none
/// nested in another to the same one (see ``PromisedAcquire``).
final class PromisedRelease: @unchecked Sendable {
    private let engine: LockEngine
    /// One info line per 10 s for answers of 503 (the API's).
    private let unavailableLog: Throttle
    private let name: LockName
    private let token: LeaseToken
    @exclusivity(unchecked) private var promise: HTTPPromise?
    @exclusivity(unchecked) private var log: AnswerLog?

    init(_ name: LockName, token: LeaseToken, engine: LockEngine, unavailableLog: Throttle) {
        self.name = name
        self.token = token
        self.engine = engine
        self.unavailableLog = unavailableLog
    }

    /// The promised answer's start: asks the engine, which calls back once.
    func start(_ context: HTTPRequestContext, _ promise: HTTPPromise) {
        self.promise = promise
        log = AnswerLog(context)
        engine.release(name, token: token, cancellation: promise.cancellation) { [self] result in answer(result) }
    }

    private func answer(_ result: Result<Void, LockError>) {
        // Both set by `start`, before the engine was asked.
        guard let promise, let log else { return }
        promise.succeed(LockAPI.released(result, name: name, log, unavailableLog: unavailableLog))
        self.promise = nil
    }
}
