import LockdTransport
import RESP

extension RedisClient {
    /// ``run(_:keyCount:arguments:idempotent:)`` answered through
    /// `completion` rather than awaited: for a caller on one of the client's
    /// loops that runs no task (an HTTP request answered from the reply).
    ///
    /// With a single server or Sentinel, `completion` runs on the loop of
    /// the connection the call went out on — the caller's, when it runs on
    /// one of the client's loops — as soon as the reply is read; no task is
    /// made. In a cluster (redirections and retries wait) the call runs in a
    /// task of its own and `completion` runs there.
    ///
    /// The reply is read during `completion` (``RedisScriptReply``), where
    /// it arrived when it can be: a script's usual reply, an array of
    /// integers and strings, is then never decoded into a ``RESPValue``.
    ///
    /// `cancellation` stands for the caller's task: cancelled before the
    /// call is written, the call is never sent; after, its reply is read
    /// and dropped. Either way `completion` gets `cancelled` — in the
    /// second case only once the reply came (or the connection failed), so
    /// that what the caller does next cannot reach Redis before the call.
    public func run(
        _ script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments, idempotent: Bool = false,
        cancellation: CallCancellation, completion: @escaping @Sendable (borrowing RedisScriptReply) -> Void
    ) {
        run(ClosureScriptCall(client: self, script: script, keyCount: keyCount, arguments: arguments, completion: completion),
            idempotent: idempotent, cancellation: cancellation)
    }

    /// Runs `call`, answered through its ``RedisScriptCall/replied(_:)``, as
    /// ``run(_:keyCount:arguments:idempotent:cancellation:completion:)`` answers
    /// its completion: for a caller whose state lives in a subclass of the
    /// call, one object a call.
    ///
    /// `now`: a ``MonotonicClock`` reading the caller took just before, on
    /// this thread, for its own use (a call's duration): the command's
    /// deadline then starts from it when the call is sent at once (on the
    /// loop's thread), instead of from a reading of its own (~35
    /// instructions). A call sent later, or again, reads the clock.
    public func run(_ call: RedisScriptCall, idempotent: Bool = false, cancellation: CallCancellation, now: UInt64? = nil) {
        guard !isCluster else {
            return cancellation.startTask { [self] in
                do throws(RedisError) {
                    let value = try await run(call.script, keyCount: call.keyCount, arguments: call.arguments, idempotent: idempotent)
                    RedisScriptReply.reading(value) { call.answer($0) }
                } catch {
                    call.answer(RedisScriptReply(failure: error))
                }
            }
        }
        if cancellation.isCancelled { return call.answer(RedisScriptReply(failure: RedisError(.cancelled, message: "the caller was cancelled"))) }
        cancellation.onCancel(call)
        send(call, now: now)
    }

    /// ``run(_:idempotent:cancellation:now:)`` for a call that holds its
    /// caller's cancellation itself until it is answered (a store's call
    /// keeping the engine's answer): the cancellation is lent, not retained
    /// for the run and released after (~40 instructions a call).
    ///
    /// It is used only before the call can be answered — whether it is
    /// cancelled, then the call installed as its step, which answers
    /// nothing at once (``RedisScriptCall/callCancelled()`` only schedules
    /// the cancel on the loop) — so the call, unanswered, holds it
    /// throughout. In a cluster the call runs in a task, which may answer
    /// it before its step is installed: the cancellation is then held.
    ///
    /// The call is taken over (`consuming`): its caller's reference becomes
    /// the one its reply's waiter holds, where the waiter retained one of
    /// its own and the caller released its after the run (~40 instructions
    /// a call). Only a ready connection takes it (see
    /// ``RedisScriptCall/send(now:handing:)``); otherwise it is let go of
    /// here, after the send, as before.
    public func run(_ call: consuming RedisScriptCall, lentCancellation cancellation: Unmanaged<CallCancellation>, now: UInt64? = nil) {
        guard !isCluster else { return run(call, cancellation: cancellation.takeUnretainedValue(), now: now) }
        if Self.isCancelled(cancellation, elseInstalling: call) {
            return call.answer(RedisScriptReply(failure: RedisError(.cancelled, message: "the caller was cancelled")))
        }
        guard call.isOnLoop else { return send(call, now: now) }
        let reference = Unmanaged.passRetained(consume call)
        // Lent to its own send: the waiter holds the reference once it is
        // taken, and a taken call is not answered during the send.
        let taken = reference._withUnsafeGuaranteedRef { $0.send(now: now, handing: reference) }
        if !taken { reference.release() }
    }

    /// Whether `cancellation` is cancelled; if not, `call` is installed as
    /// its step. (A function of its own, `call` borrowed: captured from
    /// the run's consuming parameter, it was retained for the closure.)
    @inline(__always)
    private static func isCancelled(_ cancellation: Unmanaged<CallCancellation>, elseInstalling call: RedisScriptCall) -> Bool {
        cancellation._withUnsafeGuaranteedRef { cancellation -> Bool in
            if cancellation.isCancelled { return true }
            cancellation.onCancel(call)
            return false
        }
    }

    /// Sends `call`, on its loop: at once when this is its loop's thread.
    @inline(__always)
    private func send(_ call: RedisScriptCall, now: UInt64?) {
        if call.isOnLoop {
            call.send(now: now)
        } else {
            call.loop.execute { call.send() }
        }
    }
}
