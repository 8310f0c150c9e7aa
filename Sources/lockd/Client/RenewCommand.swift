import ArgumentParser
import LockdClient

/// `lockd renew NAME --lock-token TOKEN`: extends a lease and prints it as JSON.
struct RenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Extend a lease and print it as JSON.",
        discussion: """
            Prints the lease with its new expiry; same token, same fence.

            Exit status: 0 renewed; 70 the token holds no lease on the lock (it expired \
            or was released: whatever it protected may have run unprotected); \
            69 lockd could not be reached; 64 lockd refused the request.

            Example:
              lockd renew deploy:web --lock-token "$token" --ttl 10m
            """
    )

    @Argument(help: "The lock's name.")
    var name: String

    @Option(name: .customLong("lock-token"), parsing: .unconditional, help: ArgumentHelp("The lease's token, as acquire printed it.", valueName: "token"))
    var lockToken: String

    @Option(help: ArgumentHelp(
        "The new time to live, from now (100ms to 24h; default: the lease's current TTL).", valueName: "duration"),
        transform: DurationText.parse)
    var ttl: Duration?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let locks = try client.makeClient()
        do {
            try ClientOutput.json(LockJSON.Lease(try await locks.renew(name, token: lockToken, ttl: ttl)))
        } catch {
            throw ClientFailure.exit("renew", error, name: name)
        }
    }
}
