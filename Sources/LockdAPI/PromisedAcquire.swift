import LockEngine
import LockdHTTP

/// An acquire answered when its store's reply is read (on Redis; one that
/// may wait is answered so when its first reply grants it, else when its
/// wait ends): the request, the promise, the request's log and, once
/// granted, the grant its answer hands over, in one object that every
/// closure of the answer captures alone — the promise's start, the store's
/// callback and the answer's `onDropped`. A closure that captures one
/// object is that object, retained, with no context of its own; capturing
/// their parts, the three closures were three allocations, each freed
/// after (~0.6 k instructions a Redis acquire with their copies).
///
/// `@unchecked Sendable`: the `let`s are `Sendable`; each `var` is written
/// once before the step that reads it is handed on, and never while
/// another thread reads it:
/// - `promise` and `log` are set by ``start(_:_:)``, which the server runs
///   once, before the engine is called; ``answer(_:)`` reads them only in
///   the engine's callback, which the engine and store hand over through
///   their own synchronization (as they hand over the callback itself), and
///   runs once. `promise` is cleared there, after its response is given.
/// - `undelivered` is set as the grant's response is made, inside
///   ``answer(_:)``, before that response is given; ``giveBack()`` is that
///   response's `onDropped`, which the server runs at most once, after the
///   response reached it (on its connection's loop, or at once inside
///   `succeed` when the connection has closed — after the write).
///
/// The `var`s are `@exclusivity(unchecked)`: each access is a whole read or
/// write, none nested in another to the same one, and the run-time check
/// of a class's stored property cost ~0.1 k instructions an access.
final class PromisedAcquire: @unchecked Sendable {
    private let answers: AcquireAnswers
    private let request: AcquireRequest
    /// When the request was read (monotonic nanoseconds).
    private let started: UInt64
    /// How long the request asked to wait (its failure's metrics and answer).
    private let waitMs: Int64
    /// The request's promise (``start(_:_:)`` to ``answer(_:)``).
    @exclusivity(unchecked) private var promise: HTTPPromise?
    /// What the answer logs through (``AnswerLog``; set by ``start(_:_:)``).
    @exclusivity(unchecked) private var log: AnswerLog?
    /// The grant the answer hands over, until it is written or given back.
    @exclusivity(unchecked) private var undelivered: AcquireGrant?

    init(_ request: AcquireRequest, answers: AcquireAnswers, startedAt started: UInt64, waitMs: Int64) {
        self.request = request
        self.answers = answers
        self.started = started
        self.waitMs = waitMs
    }

    /// The promised answer's start: asks the engine, which calls back once.
    func start(_ context: HTTPRequestContext, _ promise: HTTPPromise) {
        self.promise = promise
        log = AnswerLog(context)
        // A request that may wait goes on, if it must wait, in a task on
        // its loop, as its own task did (read only then: ~20 instructions).
        answers.acquire(request, cancellation: promise.cancellation, taskExecutor: waitMs > 0 ? context.eventLoop : nil) {
            [self] result in answer(result)
        }
    }

    /// Gives the promise the answer to `result`: made with the request's log
    /// metadata bound (inside `succeed`), the result moved into it.
    private func answer(_ result: consuming Result<AcquireGrant, LockError>) {
        // Both set by `start`, before the engine was asked.
        guard let promise, let log else { return }
        // Taken out of the variable the answer's autoclosure captures: used
        // there as it is, the result was copied (its grant, ~0.1 k
        // instructions) and destroyed after. (Set just above, so `take()`
        // gives it.)
        var outcome = Optional(consume result)
        promise.succeed(response(to: outcome.take().unsafelyUnwrapped, log))
        self.promise = nil
    }

    private func response(to result: consuming Result<AcquireGrant, LockError>, _ log: AnswerLog) -> HTTPResponse {
        switch consume result {
        case .success(let grant): granted(grant, log)
        case .failure(let error): answers.failed(error, name: request.name, waitMs: waitMs, log, startedAt: started)
        }
    }

    /// ``AcquireAnswers/granted(_:_:startedAt:)``'s answer, handing over a
    /// grant kept here: always droppable, given back by ``giveBack()``.
    private func granted(_ grant: consuming AcquireGrant, _ log: AnswerLog) -> HTTPResponse {
        answers.recordGrant(isRetry: grant.isRetry, startedAt: started)
        if log.logsDebug { AcquireAnswers.logGranted(grant, to: log.logger) }
        let status: HTTPStatus = grant.isRetry ? .ok : .created
        let body = LockJSON.lease(grant.lease)
        let deadline = grant.deliverBy
        undelivered = consume grant
        return LockAPI.json(status, body, deadline: deadline, onDropped: { [self] in giveBack() })
    }

    /// The answer's `onDropped`: its client is gone, or it is late.
    private func giveBack() {
        guard let grant = undelivered.take() else { return }
        answers.engine.giveBackUndelivered(grant)
    }
}
