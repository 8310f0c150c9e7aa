@testable import LockdRedis
import RESP
import Synchronization

extension RedisTestHarness {
    /// Sends `first`, then `second`, on the first loop's connection in one
    /// turn of that loop, as two callers whose commands meet there would:
    /// `second` is pipelined behind `first` however busy the machine is (two
    /// tasks, or a sleep between two sends, order nothing on a loaded one).
    /// - Returns: each command's reply or error.
    func sendBackToBack(_ first: RedisCommand, _ second: RedisCommand) async -> (Result<RESPValue, RedisError>, Result<RESPValue, RedisError>) {
        let router = client.routers[0]
        let firstID = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let secondID = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        return await withCheckedContinuation { continuation in
            router.loop.execute {
                guard let connection = router.singleConnection() else {
                    let error = router.noSingleMaster()
                    return continuation.resume(returning: (.failure(error), .failure(error)))
                }
                // Loop-confined: both callbacks run on this loop.
                let replies = Replies { continuation.resume(returning: $0) }
                connection.send(first.arguments, id: firstID, waiter: .callback { replies.first = $0 })
                connection.send(second.arguments, id: secondID, waiter: .callback { replies.second = $0 })
            }
        }
    }
}

/// The two replies of ``RedisTestHarness/sendBackToBack(_:_:)``, handed on once both came.
private final class Replies {
    var first: Result<RESPValue, RedisError>? { didSet { finishIfDone() } }
    var second: Result<RESPValue, RedisError>? { didSet { finishIfDone() } }
    private let done: ((Result<RESPValue, RedisError>, Result<RESPValue, RedisError>)) -> Void

    init(done: @escaping ((Result<RESPValue, RedisError>, Result<RESPValue, RedisError>)) -> Void) {
        self.done = done
    }

    private func finishIfDone() {
        guard let first, let second else { return }
        done((first, second))
    }
}
