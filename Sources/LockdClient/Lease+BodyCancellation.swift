import Synchronization

/// `withLock`'s body is cancelled when its lease is lost with no task of its
/// own watching for the loss: the loss itself (``Lease/update(_:)``) cancels the
/// body's task, on whichever thread saw it. A watcher task beside the body cost
/// a task's creation, scheduling and cancellation on every `withLock`
/// (benchmarks/sdk), where losses are rare.
extension Lease {
    /// Runs `work` in the current task (the body's child task), which a loss of
    /// the lease cancels until `work` returns.
    nonisolated(nonsending) func cancelledOnLoss<T>(_ work: nonisolated(nonsending) () async -> T) async -> T {
        withUnsafeCurrentTask { task in
            if let task { bodyTask.withLock { $0 = BodyTask(task: task) } }
        }
        // A loss before the registration found no task to cancel: see it here.
        if isLost { cancelBody() }
        let result = await work()
        bodyTask.withLock { $0 = nil }
        return result
    }

    /// Cancels the task running `withLock`'s body, if one runs.
    func cancelBody() {
        bodyTask.withLock { $0?.task.cancel() }
    }
}

/// The task running `withLock`'s body, kept to be cancelled from another thread.
///
/// `@unchecked Sendable` is safe here: an `UnsafeCurrentTask` must not be used
/// once its task has ended, and this one is touched only under the lease's
/// `bodyTask` lock, from which the task itself removes it before the body's
/// work returns — so the task is still running whenever it is cancelled.
/// Cancelling is safe from any thread (`Task.cancel()` does the same). The
/// body's cancellation handlers run inside that lock, which only the body's own
/// task takes again, after they have returned.
struct BodyTask: @unchecked Sendable {
    let task: UnsafeCurrentTask
}
