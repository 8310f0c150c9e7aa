import LockdTransport
import OpenAPIRuntime

/// lockd's HTTP API as plain calls: the generated client, a deadline on every
/// request, and every answer turned into a value or a ``LockError``.
///
/// Acquires that wait go through a client of their own: each holds a connection
/// for as long as it waits, and must not make renewals queue for one.
///
/// A class: every lease and listing keeps the client's, and a cycle's acquire
/// copied it twice as a struct (a retain and a release of each of its parts,
/// ~2k instructions a `withLock` cycle, benchmarks/sdk). Nothing in it changes
/// once made.
final class RemoteLocks: Sendable {
    /// For requests lockd answers at once: renew, release, status, list, a try.
    let prompt: Client
    /// For acquires that wait.
    let waiting: Client
    /// How long a request may take beyond the time lockd is asked to wait, and
    /// how long a call keeps retrying while lockd cannot serve it.
    let timeout: Duration
    /// The longest wait one acquire request asks for.
    let waitLimit: WaitLimit
    /// ``SocketTransport``'s event loop, where the generated client's requests run
    /// (an exchange's answer then resumes its task without a hop to another
    /// thread) and leases renew; `nil` (the global executor) for other transports.
    /// Also says whether the transport keeps each request's deadline itself
    /// (``RequestDeadline``). Acquire, renew and release (``direct``) run on the
    /// caller's executor.
    let executor: EventLoop?
    /// Acquire, renew and release straight over SocketTransport (for `prompt` and
    /// `waiting`), or nil to send them through the generated client.
    let direct: (prompt: DirectLeaseCalls, waiting: DirectLeaseCalls)?

    init(
        prompt: Client,
        waiting: Client,
        timeout: Duration,
        waitLimit: WaitLimit,
        executor: EventLoop? = nil,
        direct: (prompt: DirectLeaseCalls, waiting: DirectLeaseCalls)? = nil
    ) {
        self.prompt = prompt
        self.waiting = waiting
        self.timeout = timeout
        self.waitLimit = waitLimit
        self.executor = executor
        self.direct = direct
    }

    /// A granted lease, exactly as lockd sent it (`201`, or `200` for a retried acquire).
    nonisolated(nonsending) func acquire(
        _ name: String,
        _ request: Components.Schemas.AcquireRequest,
        wait: Duration
    ) async throws -> Components.Schemas.Lease {
        let deadline = ContinuousClock.now + wait + timeout
        let output: Operations.AcquireLock.Output
        if let direct = wait > .zero ? self.direct?.waiting : self.direct?.prompt {
            output = try await performDirect { try await direct.acquireLock(name, request, until: deadline) }
        } else {
            output = try await perform(on: wait > .zero ? waiting : prompt, until: deadline) {
                try await $0.acquireLock(path: .init(name: name), body: .json(request))
            }
        }
        switch output {
        case .created(let response): return try response.body.json
        case .ok(let response): return try response.body.json
        case .badRequest(let response): throw LockError(response)
        case .unauthorized(let response): throw LockError(response)
        case .forbidden(let response): throw LockError(response)
        case .conflict(let response): throw LockError(response)
        case .unsupportedMediaType(let response): throw LockError(response)
        case .serviceUnavailable(let response): throw LockError(response)
        case .default(let status, let response): throw LockError(status: status, response)
        }
    }

    /// The renewed lease; `deadline` bounds the request.
    nonisolated(nonsending) func renew(
        _ name: String,
        token: String,
        ttl: Duration?,
        durability: Components.Schemas.Durability? = nil,
        until deadline: ContinuousClock.Instant
    ) async throws -> Components.Schemas.Lease {
        let body = Components.Schemas.RenewRequest(ttlMs: ttl?.wholeMilliseconds, durability: durability)
        let output: Operations.RenewLock.Output
        if let direct = self.direct?.prompt {
            output = try await performDirect { try await direct.renewLock(name, token: token, body, until: deadline) }
        } else {
            output = try await perform(until: deadline) {
                try await $0.renewLock(path: .init(name: name), headers: .init(lockToken: token), body: .json(body))
            }
        }
        switch output {
        case .ok(let response): return try response.body.json
        case .badRequest(let response): throw LockError(response)
        case .unauthorized(let response): throw LockError(response)
        case .forbidden(let response): throw LockError(response)
        case .conflict: throw LockError.leaseLost
        case .unsupportedMediaType(let response): throw LockError(response)
        case .serviceUnavailable(let response): throw LockError(response)
        case .default(let status, let response): throw LockError(status: status, response)
        }
    }

    /// Releases the lease `token` holds; throws ``LockError/leaseLost`` if it holds none.
    /// `deadline` bounds the request.
    nonisolated(nonsending) func release(_ name: String, token: String, until deadline: ContinuousClock.Instant) async throws {
        let output: Operations.ReleaseLock.Output
        if let direct = self.direct?.prompt {
            output = try await performDirect { try await direct.releaseLock(name, token: token, until: deadline) }
        } else {
            output = try await perform(until: deadline) {
                try await $0.releaseLock(path: .init(name: name), headers: .init(lockToken: token))
            }
        }
        switch output {
        case .noContent: return
        case .badRequest(let response): throw LockError(response)
        case .unauthorized(let response): throw LockError(response)
        case .forbidden(let response): throw LockError(response)
        case .notFound: throw LockError.leaseLost
        case .conflict: throw LockError.leaseLost
        case .serviceUnavailable(let response): throw LockError(response)
        case .default(let status, let response): throw LockError(status: status, response)
        }
    }

    /// Ends the live lease with `fence`, whatever its token (needs `admin`);
    /// throws ``LockError/notHeld(fence:)`` if none has it. `deadline` bounds
    /// the request.
    func forceRelease(_ name: String, fence: Int64, until deadline: ContinuousClock.Instant) async throws {
        let output = try await perform(until: deadline) {
            try await $0.releaseLock(path: .init(name: name), query: .init(fence: fence))
        }
        switch output {
        case .noContent: return
        case .badRequest(let response): throw LockError(response)
        case .unauthorized(let response): throw LockError(response)
        case .forbidden(let response): throw LockError(response)
        case .notFound: throw LockError.notHeld(fence: fence)
        case .conflict: throw LockError.leaseLost
        case .serviceUnavailable(let response): throw LockError(response)
        case .default(let status, let response): throw LockError(status: status, response)
        }
    }

    /// Releases in a task of its own, once, ignoring failures (the lease then
    /// ends at its TTL).
    ///
    /// The transport refuses to start a request in a cancelled task, yet a
    /// cancelled caller must still give the lock back: the separate task does not
    /// inherit the cancellation, and is awaited, so nothing outlives the caller.
    func releaseIgnoringCancellation(_ name: String, token: String) async {
        await Task(executorPreference: executor) { try? await self.release(name, token: token, until: .now + self.timeout) }.value
    }

    /// One lock's status; retried while lockd cannot serve, for up to `timeout`.
    func status(_ name: String) async throws -> LockStatus {
        try await retrying(until: .now + timeout) { deadline in
            let output = try await perform(until: deadline) { try await $0.getLock(path: .init(name: name)) }
            switch output {
            case .ok(let response): return LockStatus(try response.body.json)
            case .badRequest(let response): throw LockError(response)
            case .unauthorized(let response): throw LockError(response)
            case .forbidden(let response): throw LockError(response)
            case .serviceUnavailable(let response): throw LockError(response)
            case .default(let status, let response): throw LockError(status: status, response)
            }
        }
    }

    /// The holder whose live lease has `fence`, or nil (`404 not-held`);
    /// retried while lockd cannot serve, for up to `timeout`.
    func holder(_ name: String, fence: Int64) async throws -> LockHolder? {
        try await retrying(until: .now + timeout) { deadline in
            let output = try await perform(until: deadline) {
                try await $0.getHolder(path: .init(name: name, fence: fence))
            }
            switch output {
            case .ok(let response): return LockHolder(try response.body.json)
            case .notFound: return nil
            case .badRequest(let response): throw LockError(response)
            case .unauthorized(let response): throw LockError(response)
            case .forbidden(let response): throw LockError(response)
            case .serviceUnavailable(let response): throw LockError(response)
            case .default(let status, let response): throw LockError(status: status, response)
            }
        }
    }

    /// The event stream's body, once lockd has answered `200`, and whether
    /// lockd replays the events after `lastEventID` (`Events-Resumed`).
    /// One attempt; `deadline` bounds it until the answer's head.
    func events(prefix: String, lastEventID: String?, until deadline: ContinuousClock.Instant) async throws -> (body: HTTPBody, resumed: Bool) {
        let output = try await perform(until: deadline) {
            try await $0.streamEvents(query: .init(prefix: prefix), headers: .init(lastEventID: lastEventID))
        }
        switch output {
        case .ok(let response): return (try response.body.textEventStream, response.headers.eventsResumed == true)
        case .badRequest(let response): throw LockError(response)
        case .unauthorized(let response): throw LockError(response)
        case .forbidden(let response): throw LockError(response)
        case .serviceUnavailable(let response): throw LockError(response)
        case .default(let status, let response): throw LockError(status: status, response)
        }
    }

    /// One page of held locks and the cursor of the next page (`nil` on the last);
    /// retried while lockd cannot serve, for up to `timeout`.
    func page(prefix: String, limit: Int, cursor: String?) async throws -> (locks: [LockStatus], next: String?) {
        try await retrying(until: .now + timeout) { deadline in
            let output = try await perform(until: deadline) {
                try await $0.listLocks(query: .init(prefix: prefix, limit: limit, cursor: cursor))
            }
            switch output {
            case .ok(let response):
                let page = try response.body.json
                return (page.locks.map(LockStatus.init), page.nextCursor)
            case .badRequest(let response): throw LockError(response)
            case .unauthorized(let response): throw LockError(response)
            case .forbidden(let response): throw LockError(response)
            case .serviceUnavailable(let response): throw LockError(response)
            case .default(let status, let response): throw LockError(status: status, response)
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails in a way no retry can fix, or
    /// `deadline` passes: after 503 and transport failures it waits (``Backoff``,
    /// honouring `Retry-After`) and tries again, the last time at `deadline`.
    ///
    /// - Parameter attempt: One try; gets the deadline to bound its request by.
    nonisolated(nonsending) func retrying<Output>(
        until deadline: ContinuousClock.Instant,
        _ attempt: nonisolated(nonsending) (ContinuousClock.Instant) async throws -> Output
    ) async throws -> Output {
        var backoff = Backoff()
        var cause: LockError?
        while true {
            do {
                return try await attempt(deadline)
            } catch let error as LockError where error.isRetryable {
                cause = error.orEarlier(cause)
                let now = ContinuousClock.now
                guard now < deadline else { throw cause ?? error }
                try await Task.sleep(until: min(now + backoff.next(retryAfter: error.retryAfter), deadline), clock: .continuous)
            }
        }
    }

    /// ``retrying(until:_:)`` for a call that ends something (a release, a
    /// force-release), whose "not found" may be of its own making: `uncertain`
    /// runs whenever an attempt failed in a way that may have let it go
    /// through all the same — its answer lost in transport, or a 503 lockd sent
    /// after handing the call to its store — before that failure is retried
    /// or thrown.
    nonisolated(nonsending) func retryingEnd(
        until deadline: ContinuousClock.Instant,
        uncertain: () -> Void,
        _ attempt: nonisolated(nonsending) (ContinuousClock.Instant) async throws -> Void
    ) async throws {
        try await retrying(until: deadline) { until in
            do {
                try await attempt(until)
            } catch let error as LockError where error.mayHaveGoneThrough {
                uncertain()
                throw error
            }
        }
    }

    /// Whether the current task's executor preference is `executor` already.
    private static func currentTaskPrefers(_ executor: EventLoop) -> Bool {
        withUnsafeCurrentTask { $0?.unownedTaskExecutor == executor.asUnownedTaskExecutor() }
    }

    /// Runs one of ``DirectLeaseCalls``' calls, turning the generated client's
    /// errors into ``LockError`` as ``perform(on:until:_:)`` does.
    ///
    /// On the caller's executor: the exchange itself runs on the transport's loop,
    /// and its answer resumes the caller where it runs. (Pushing the loop as the
    /// task's executor preference around each request cost two task switches and
    /// a hop back per request; a direct call bounds its exchange by its deadline
    /// itself, without the ``RequestDeadline`` task-local.)
    private nonisolated(nonsending) func performDirect<Output: Sendable>(
        _ call: nonisolated(nonsending) @Sendable () async throws -> Output
    ) async throws -> Output {
        do {
            return try await call()
        } catch let error as ClientError {
            throw LockError.from(error)
        }
    }

    /// Runs one generated call under `deadline`, turning the generated client's
    /// errors into ``LockError`` (or `CancellationError`).
    ///
    /// The generated `ClientError` is never passed on: its description prints the
    /// request's headers, which carry the lease token.
    private nonisolated(nonsending) func perform<Output: Sendable>(
        on client: Client? = nil,
        until deadline: ContinuousClock.Instant,
        _ call: nonisolated(nonsending) @escaping @Sendable (Client) async throws -> Output
    ) async throws -> Output {
        let client = client ?? prompt
        do {
            guard let executor else { return try await withDeadline(deadline) { try await call(client) } }
            // SocketTransport: the request runs on its loop, which also keeps the deadline.
            // A task that prefers the loop already (a renewal) pushes no preference again.
            if Self.currentTaskPrefers(executor) {
                return try await RequestDeadline.$current.withValue(deadline) { try await call(client) }
            }
            return try await withTaskExecutorPreference(executor) {
                try await RequestDeadline.$current.withValue(deadline) { try await call(client) }
            }
        } catch let error as ClientError {
            throw LockError.from(error)
        } catch is DeadlineExceeded {
            throw LockError.transport(TransportFailure(.timedOut, "no answer within the call's timeout"))
        }
    }
}
