import ArgumentParser
import LockdClient

#if canImport(Glibc)
import Glibc
#endif

/// How `lockd exec` and `lockd acquire` ask for a lease.
struct LeaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How long the lease lasts unless renewed: how long the lock stays taken if this process dies (100ms to 24h; default 30s).",
        valueName: "duration"), transform: DurationText.parse)
    var ttl: Duration?

    @Option(help: ArgumentHelp(
        "Holders the name allows at once (1 to 1000; above 1 a semaphore, every holder giving the same limit; default 1).",
        valueName: "n"))
    var limit: Int = 1

    @Flag(help: "Take a shared (reader) lease of a reader-writer lock: beside other readers, never beside a writer.")
    var shared = false

    @Option(name: .customLong("lock-delay"), help: ArgumentHelp(
        "If the lease expires instead of being released, the lock stays unavailable this much longer, so writes in flight drain (0 to 60s; default 0).",
        valueName: "duration"), transform: DurationText.parse)
    var lockDelay: Duration = .zero

    @Option(help: ArgumentHelp(
        "Label shown to `lockd status` and `lockd list` (at most 256 bytes; default: this host's name and the process id).",
        valueName: "label"))
    var owner: String?

    var mode: LockMode { shared ? .shared : .exclusive }

    /// The lease's TTL, 30 s unless given.
    var leaseTTL: Duration { ttl ?? .seconds(30) }

    /// The owner label: `--owner`, or `HOST pid PID`.
    var ownerLabel: String {
        if let owner { return owner }
        var name = [UInt8](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : "localhost"
        return "\(host) pid \(getpid())"
    }

    func validate() throws {
        guard (1...1000).contains(limit) else {
            throw ValidationError("--limit must be from 1 to 1000, got \(limit)")
        }
        guard lockDelay >= .zero && lockDelay <= .seconds(60) else {
            throw ValidationError("--lock-delay must be from 0 to 60s")
        }
        if shared && limit > 1 {
            throw ValidationError("--shared takes no --limit: readers are not counted")
        }
    }
}
