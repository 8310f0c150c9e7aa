import ArgumentParser
import LockdClient

/// `lockd acquire NAME`: takes a lock and prints the lease as JSON. The lease
/// is not renewed: the script renews it with `lockd renew`, or lets it expire.
struct AcquireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acquire",
        abstract: "Take a lock and print the lease as JSON.",
        discussion: """
            Prints {"name", "token", "fence", "ttl_ms", "expires_at", "owner"} on one line. \
            Nothing renews the lease: renew it with `lockd renew` before its TTL runs out, \
            and give it back with `lockd release`.

            Exit status: 0 granted; 75 held by someone else for all of --wait; \
            69 lockd could not be reached; 64 lockd refused the request.

            Example:
              lease=$(lockd acquire deploy:web --ttl 10m --wait 30s) || exit
              token=$(jq -r .token <<<"$lease")
              ./deploy.sh --fence "$(jq -r .fence <<<"$lease")"
              lockd release deploy:web --lock-token "$token"
            """
    )

    @Argument(help: "The lock's name: 1-255 bytes of A-Z a-z 0-9 . _ : -")
    var name: String

    @Option(help: ArgumentHelp(
        "How long to wait for the lock to come free; 0 tries once (default 0).", valueName: "duration"),
        transform: DurationText.parse)
    var wait: Duration?

    @Option(help: ArgumentHelp(
        "primary, or replicated: granted only once a Redis replica has the lease, else 503 (default: the server's --durability).",
        valueName: "durability"), transform: Self.durability)
    var durability: Durability?

    @OptionGroup var lease: LeaseOptions
    @OptionGroup var client: ClientOptions

    private static func durability(_ text: String) throws -> Durability {
        guard let durability = Durability(rawValue: text) else {
            throw ValidationError("--durability must be primary or replicated, got '\(text)'")
        }
        return durability
    }

    func run() async throws {
        let locks = try client.makeClient(owner: lease.ownerLabel)
        do {
            let granted = try await locks.acquire(
                name, ttl: lease.leaseTTL, wait: wait ?? .zero, autoRenew: false, limit: lease.limit, mode: lease.mode,
                durability: durability, lockDelay: lease.lockDelay)
            try ClientOutput.json(LockJSON.Lease(granted))
        } catch {
            throw ClientFailure.exit("acquire", error, name: name)
        }
    }
}
