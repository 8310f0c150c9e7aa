import ArgumentParser
import LockdClient

/// `lockd status NAME`: who holds a lock, as JSON.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show who holds a lock, as JSON (never a token).",
        discussion: """
            Prints {"name", "held", "holders": [{"owner", "fence", "expires_at", "ttl_ms"}]}; \
            ttl_ms is what remains. A free or never-used name is {"held": false, "holders": []}.

            Exit status: 0 answered (held or not); 69 lockd could not be reached; \
            64 lockd refused the request (a malformed name).

            Example:
              lockd status deploy:web | jq -r '.holders[] | "\\(.owner) until \\(.expires_at)"'
            """
    )

    @Argument(help: "The lock's name.")
    var name: String

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let locks = try client.makeClient()
        do {
            try ClientOutput.json(LockJSON.Status(try await locks.status(name)))
        } catch {
            throw ClientFailure.exit("status", error, name: name)
        }
    }
}
