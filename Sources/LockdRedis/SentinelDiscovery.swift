import RESP

/// Finding the master through the sentinels, as a value: whom to ask next
/// and what an answer means. It performs no I/O; ``SentinelMonitor`` sends
/// what each ``Step`` says and reports the reply.
///
/// It follows Redis's guidelines for Sentinel clients: ask the sentinels in
/// turn with `SENTINEL get-master-addr-by-name`; move the first that answers
/// to the front of the list; check with `ROLE` that the address it gave is a
/// master (a sentinel may still be catching up); fall through to the next
/// sentinel on any failure.
struct SentinelDiscovery {
    /// What to do next.
    enum Step: Equatable {
        /// Send `SENTINEL get-master-addr-by-name` to this sentinel.
        case ask(RedisEndpoint)
        /// Send `ROLE` to this candidate master.
        case checkRole(RedisEndpoint)
        /// The master is here.
        case found(RedisEndpoint)
        /// Every sentinel was tried without finding a master; try again later.
        case gaveUp(RedisError)
    }

    let masterName: String
    /// The sentinels in the order they are asked.
    private(set) var sentinels: [RedisEndpoint]
    private var position = 0
    private var candidate: RedisEndpoint?
    private var problems: [RedisError] = []
    private var preferred: RedisEndpoint?

    init(masterName: String, sentinels: [RedisEndpoint]) {
        self.masterName = masterName
        self.sentinels = sentinels
    }

    /// Starts a round: checks `announced` (the new master a sentinel's
    /// `+switch-master` named) first, else asks the first sentinel.
    mutating func begin(announced: RedisEndpoint? = nil) -> Step {
        problems = []
        // Reordered only between rounds, so that `position` stays right.
        if let preferred, let index = sentinels.firstIndex(of: preferred) {
            sentinels.remove(at: index)
            sentinels.insert(preferred, at: 0)
        }
        preferred = nil
        guard !sentinels.isEmpty else { return .gaveUp(RedisError(.invalidConfiguration, message: "no sentinel is configured")) }
        if let announced {
            // Should the check fail, the sentinels are asked from the first.
            position = -1
            candidate = announced
            return .checkRole(announced)
        }
        position = 0
        candidate = nil
        return .ask(sentinels[0])
    }

    /// Asks `sentinel` first from the next round on: it announced a failover,
    /// so it leads it and names the promoted replica before the others do.
    mutating func prefer(_ sentinel: RedisEndpoint) {
        preferred = sentinel
    }

    /// The sentinel asked last replied (or could not be asked).
    mutating func sentinelReplied(_ result: Result<RESPValue, RedisError>) -> Step {
        guard sentinels.indices.contains(position) else { return next(after: RedisError(.unreachable, message: "no sentinel was asked")) }
        let sentinel = sentinels[position]
        switch result {
        case .success(let reply):
            if let address = Self.masterAddress(reply) {
                // Redis's guidelines: the sentinel that answered is asked first next time.
                sentinels.remove(at: position)
                sentinels.insert(sentinel, at: 0)
                position = 0
                candidate = address
                return .checkRole(address)
            }
            if reply.isNull {
                return next(after: RedisError(.unreachable, message: "the sentinel at \(sentinel) knows no master named '\(masterName)'"))
            }
            return next(after: RedisError(.protocolViolation, message: "the sentinel at \(sentinel) answered in an unexpected way"))
        case .failure(let error):
            return next(after: Self.sentinelError(error, sentinel: sentinel))
        }
    }

    /// The candidate answered `ROLE` (or could not be asked).
    mutating func roleReplied(_ result: Result<RESPValue, RedisError>) -> Step {
        guard let address = candidate else { return next(after: RedisError(.unreachable, message: "no candidate master")) }
        switch result {
        case .success(let reply) where Self.role(reply) == "master":
            return .found(address)
        case .success(let reply):
            let role = Self.role(reply) ?? "something else"
            return next(after: RedisError(.unreachable, message: "\(address), named master by a sentinel, says it is \(role)"))
        case .failure(let error):
            // Settings errors (the master's password) are reported as they are.
            return next(after: error.kind == .authenticationFailed || error.kind == .invalidConfiguration
                ? error : RedisError(.unreachable, message: "the master \(address) named by a sentinel: \(error.message)"))
        }
    }

    private mutating func next(after problem: RedisError) -> Step {
        problems.append(problem)
        candidate = nil
        position += 1
        if position < sentinels.count { return .ask(sentinels[position]) }
        // A setting to fix outranks "unreachable": it is what the operator must act on.
        if let settings = problems.first(where: { $0.kind == .authenticationFailed || $0.kind == .invalidConfiguration }) {
            return .gaveUp(settings)
        }
        let reasons = problems.map(\.message).joined(separator: "; ")
        return .gaveUp(RedisError(.unreachable, message: "no Redis master '\(masterName)' found through the sentinels (\(reasons))"))
    }

    /// A sentinel's failure, worded for the sentinel's settings rather than the master's.
    private static func sentinelError(_ error: RedisError, sentinel: RedisEndpoint) -> RedisError {
        if error.kind == .authenticationFailed {
            return RedisError(.authenticationFailed, code: error.code, message:
                "the sentinel at \(sentinel) refused lockd's credentials: give its password as sentinel_password=… (and sentinel_username=…) in the redis+sentinel:// URL")
        }
        return RedisError(error.kind, code: error.code, message: "the sentinel at \(sentinel): \(error.message)")
    }

    // MARK: Replies

    /// The address in a `SENTINEL get-master-addr-by-name` reply (`[host, port]`).
    static func masterAddress(_ reply: RESPValue) -> RedisEndpoint? {
        guard let fields = reply.array, fields.count == 2, let host = fields[0].string, !host.isEmpty,
              let port = fields[1].int, let port = UInt16(exactly: port), port > 0 else { return nil }
        return RedisEndpoint(host: host, port: port)
    }

    /// The first element of a `ROLE` reply: `master`, `slave` or `sentinel`.
    static func role(_ reply: RESPValue) -> String? {
        reply.array?.first?.string
    }

    /// The sentinel channels that announce a failover of a master: the
    /// promoted replica is confirmed (`+failover-state-reconf-slaves`, from
    /// when on sentinels name it) and the failover ended (`+switch-master`).
    static let announcements = ["+switch-master", "+failover-state-reconf-slaves"]

    /// Whether a message on one of the ``announcements`` channels is about `masterName`.
    static func announcesFailover(channel: String, payload: String, masterName: String) -> Bool {
        switch channel {
        case "+switch-master":
            return switchedMaster(payload, masterName: masterName) != nil
        case "+failover-state-reconf-slaves":
            // "master NAME HOST PORT"
            let words = payload.split(separator: " ")
            return words.count >= 2 && words[0] == "master" && words[1] == masterName
        default:
            return false
        }
    }

    /// The new address in a `+switch-master` message for `masterName`:
    /// `NAME OLD-HOST OLD-PORT NEW-HOST NEW-PORT`.
    static func switchedMaster(_ payload: String, masterName: String) -> RedisEndpoint? {
        let words = payload.split(separator: " ")
        guard words.count == 5, words[0] == masterName, let port = UInt16(words[4]), port > 0 else { return nil }
        return RedisEndpoint(host: String(words[3]), port: port)
    }
}
