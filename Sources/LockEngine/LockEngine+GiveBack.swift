import LockdTransport
import Logging

/// Giving back grants no client will have.
extension LockEngine {
    /// Gives back, once the store serves, a lease an attempt that failed may
    /// still have taken: a store that stalled answers nothing in time (the
    /// caller is told 503) yet may run the attempt when it wakes, and the
    /// lease would then be held by nobody for its whole TTL. Only a token
    /// lockd made goes back: a client's own token may hold a lease the
    /// client has (a retry), and the client can release that itself.
    /// Its fence unknown, it is whatever lease the token holds — even one
    /// claimed: the request is answered without a lease, and only its own
    /// attempts knew the token (one may have found an earlier one's grant,
    /// whose give-back failed, and claimed it).
    func giveBackIfUnanswered(_ token: LeaseToken, of request: AcquireRequest) {
        giveBackIfUnanswered(token, on: request.name, ownToken: request.token == nil)
    }

    /// ``giveBackIfUnanswered(_:of:)`` for an attempt on `name`; `ownToken`:
    /// the token is one lockd made (the request brought none).
    func giveBackIfUnanswered(_ token: LeaseToken, on name: LockName, ownToken: Bool) {
        guard ownToken else { return }
        giveBackLater(name, token: token, grant: .any, evenIfClaimed: true)
    }

    /// ``releaseQuietly(_:token:grant:evenIfClaimed:announced:)`` in a task, then `then`,
    /// for the call `caller` stands for: started outside any task (a store
    /// reply's callback), the task inherits no request's log metadata, so
    /// it runs in the caller's context (``CallCancellation/inCallerContext(_:)``).
    /// Not ``CallCancellation/startTask(_:)``: the caller is gone, and a
    /// give-back must not be cancelled with it.
    func releaseQuietly(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool, for caller: CallCancellation,
                        then: @escaping @Sendable () -> Void) {
        Task {
            await caller.inCallerContext {
                await releaseQuietly(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
                then()
            }
        }
    }

    /// Gives back a grant whose answer never reached its caller (it hung up,
    /// or half-closed, before the answer was written), as a grant to a
    /// caller that left before it was answered is given back — under a
    /// token lockd made, even if claimed: no client ever had that token.
    ///
    /// It was counted and told to watchers as granted before the answer
    /// went out (``granted(_:for:)``): a give-back that ends it counts as a
    /// release and tells them it was `released` — or the metrics would count
    /// it held, and watchers see it held by a client that had gone, until
    /// it `expired` a whole TTL later.
    ///
    /// A give-back the upkeep does later (the store was out) counts and
    /// tells the same, once it ends the lease.
    public func giveBackUndelivered(_ grant: AcquireGrant) {
        let lease = grant.lease
        Task {
            // A store that counts its leases says whether it counted this one.
            if storeCountsLeases {
                let given = countingStore?.giveBackCountingAtOnce(lease.name, token: lease.token, grant: .fence(lease.fence),
                                                                   evenIfClaimed: grant.lockdMadeToken)
                if given?.counted == true { givenBack(announced: lease, countedByStore: true) }
                return
            }
            guard await releaseQuietly(lease.name, token: lease.token, grant: .fence(lease.fence), evenIfClaimed: grant.lockdMadeToken,
                                       announced: lease)
            else { return }
            givenBack(announced: lease)
        }
    }

    /// Counts `lease`, told as granted and now given back, as released,
    /// and tells watchers — unless this process saw it end already (it
    /// counts no lease it saw run out: watchers were told it `expired`).
    /// `countedByStore`: the store counted it and has ended it (its hold
    /// recorded: ``LeaseCountingStore/giveBackCountingAtOnce(_:token:grant:evenIfClaimed:)``).
    func givenBack(announced lease: Lease, countedByStore: Bool = false) {
        if countedByStore {
            metrics.countedGivenBack()
        } else if !metrics.givenBack(lease.name, token: lease.token) {
            return
        }
        guard store.mayWatch(lease.name) else { return }
        store.publish(LockEvent(.released, name: lease.name, fence: lease.fence, owner: lease.owner, client: nil, mode: lease.mode,
                                atMs: WallClock.milliseconds()))
    }

    /// Gives back a grant no client will have (see
    /// ``LockStore/giveBack(_:token:grant:evenIfClaimed:)``), even from a
    /// cancelled task; when the store cannot be told now, the upkeep task
    /// tells it later (a lease must not outlive its caller by its whole TTL).
    /// `announced`: the lease, when it was counted and told as granted
    /// (the upkeep's give-back then counts and tells its end).
    /// - Returns: Whether the store ended a lease now (false also when it
    ///   could not be asked: the upkeep task asks it later).
    @discardableResult
    func releaseQuietly(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool,
                        announced: Lease? = nil) async -> Bool {
        let store = store
        let ended = await Task {
            try? await store.giveBack(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed)
        }.value
        if let ended { return ended }
        logger.debug("could not give back a grant; trying again in the background", metadata: ["lock.name": "\(name)"])
        giveBackLater(name, token: token, grant: grant, evenIfClaimed: evenIfClaimed, announced: announced)
        return false
    }
}
