import LockEngine
import LockdHTTP
import LockdTransport
import Logging

/// How an acquire is answered — its metrics recorded, the grant's JSON or
/// the failure's problem written — with only what that needs: a promised or
/// waiting acquire captures this rather than the whole ``LockAPI`` (copying
/// the API into the closure, and destroying it, cost ~0.6 k instructions).
/// A class: captured, it is one reference retained, where a struct of its
/// three was three (a Redis acquire captures it twice: ~0.12 k
/// instructions with the releases).
final class AcquireAnswers: Sendable {
    /// The engine, to give back a grant whose answer is dropped.
    let engine: LockEngine
    let metrics: AcquireMetrics
    /// One info line per 10 s for answers of 503 (the API's).
    let unavailableLog: Throttle

    init(engine: LockEngine, metrics: AcquireMetrics, unavailableLog: Throttle) {
        self.engine = engine
        self.metrics = metrics
        self.unavailableLog = unavailableLog
    }

    /// The answer to a grant; `droppable` when it may be dropped unwritten,
    /// when it needs an `onDropped` that gives the grant back:
    /// - the client may be gone before its answer is written — or have
    ///   half-closed, which counts as gone — though the engine handed the
    ///   grant over (``HTTPRequestContext/answerMayBeDropped(now:)``);
    /// - the answer may be written only after the grant's
    ///   ``AcquireGrant/deliverBy`` (its loop stalled, or lockd was stopped,
    ///   after the engine's check): it is then dropped, and 503 goes instead
    ///   (``HTTPResponse/deadline``).
    ///
    /// A grant answered in place, as its request is read, is dropped only
    /// for a hang-up its loop may not have seen (most often none: it then
    /// costs neither the closure nor a look at the socket), and carries no
    /// deadline: the engine's check and the write run in one go on the
    /// loop, with nothing queued between them — a stop there is as likely
    /// as one just after the server's own check, which no deadline catches
    /// (the closure it would need cost ~1.2 k instructions a grant). One
    /// answered from a task or a store's callback can always be dropped,
    /// and be late: its write waits its turn on the loop.
    ///
    /// The grant is consumed: borrowed, the caller's `AcquireGrant?` was
    /// destroyed after the answer through the runtime's generic `Optional`
    /// witness, which looks the type up (~0.1 k instructions an acquire).
    /// Never inlined: inlined into ``LockAPI``'s acquire, the caller's
    /// optional was destroyed through that witness again (~0.25 k
    /// instructions a POST in memory).
    @inline(never)
    func granted(_ grant: consuming AcquireGrant, _ context: HTTPRequestContext, startedAt started: UInt64,
                 droppable: Bool = true) -> HTTPResponse {
        metrics.record(grant.isRetry ? .retried : .granted, startedAt: started)
        if context.logs(.debug) { Self.logGranted(grant, to: context.logger) }
        let status: HTTPStatus = grant.isRetry ? .ok : .created
        // Made once, as returned (set on a copy, its onDropped cost a copy
        // of the whole response).
        guard droppable else { return LockAPI.json(status, LockJSON.lease(grant.lease)) }
        return droppableAnswer(grant, status: status)
    }

    /// The answer to a grant that may be dropped unwritten: late, or its
    /// client gone (see ``granted(_:_:startedAt:droppable:)``; a promised
    /// acquire's is ``PromisedAcquire``'s).
    private func droppableAnswer(_ grant: consuming AcquireGrant, status: HTTPStatus) -> HTTPResponse {
        // Made whole: given the deadline and the closure on a `var` after,
        // the whole response was copied and the original destroyed (~0.3 k
        // instructions a grant that may be dropped).
        let body = LockJSON.lease(grant.lease)
        let deadline = grant.deliverBy
        let undelivered = consume grant
        return LockAPI.json(status, body, deadline: deadline, onDropped: { [engine] in engine.giveBackUndelivered(undelivered) })
    }

    /// Counts a grant answered by a holder of these answers
    /// (``PromisedAcquire``). Never inlined: reached there as
    /// `answers.metrics`, the metrics were retained around the call and
    /// released after (~40 instructions a grant); here they are this
    /// object's own `let`, lent.
    @inline(never)
    func recordGrant(isRetry: Bool, startedAt started: UInt64) {
        metrics.record(isRetry ? .retried : .granted, startedAt: started)
    }

    /// ``LockEngine/acquire(_:cancellation:taskExecutor:completion:)``, for a holder of
    /// these answers (never inlined, as ``recordGrant(isRetry:startedAt:)``:
    /// reached as `answers.engine`, the engine was retained around the call).
    @inline(never)
    func acquire(_ request: AcquireRequest, cancellation: CallCancellation, taskExecutor: (any TaskExecutor)?,
                 completion: @escaping @Sendable (consuming Result<AcquireGrant, LockError>) -> Void) {
        engine.acquire(request, cancellation: cancellation, taskExecutor: taskExecutor, completion: completion)
    }

    /// The debug line of a grant.
    static func logGranted(_ grant: borrowing AcquireGrant, to logger: Logger) {
        logger.debug("lease granted", metadata: [
            "lock.name": "\(grant.lease.name)", "lock.fence": .stringConvertible(grant.lease.fence),
            "lock.retry": .stringConvertible(grant.isRetry),
        ])
    }

    /// The answer to an acquire that failed (after waiting `waitMs`, for its metrics).
    func failed(_ error: LockError, name: LockName?, waitMs: Int64, _ context: HTTPRequestContext,
                startedAt started: UInt64) -> HTTPResponse {
        metrics.record(AcquireMetrics.Outcome(error, waitMs: waitMs), startedAt: started)
        return LockAPI.failure(error, name: name, waitedMs: waitMs, context, unavailableLog: unavailableLog)
    }

    /// ``failed(_:name:waitMs:_:startedAt:)`` given from a store's callback (`log` is its request's).
    func failed(_ error: LockError, name: LockName?, waitMs: Int64, _ log: AnswerLog,
                startedAt started: UInt64) -> HTTPResponse {
        metrics.record(AcquireMetrics.Outcome(error, waitMs: waitMs), startedAt: started)
        return LockAPI.failure(error, name: name, waitedMs: waitMs, logger: log.logger, unavailableLog: unavailableLog)
    }
}
