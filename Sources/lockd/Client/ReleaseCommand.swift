import ArgumentParser
import LockdClient

/// `lockd release NAME --lock-token TOKEN`: gives a lease back.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Give a lease back; prints {\"name\", \"released\": true}.",
        discussion: """
            Exit status: 0 released; 70 the token held no lease on the lock (it had \
            expired, or was released before); 69 lockd could not be reached (the lease \
            ends at its TTL); 64 lockd refused the request.

            Example:
              lockd release deploy:web --lock-token "$token"
            """
    )

    @Argument(help: "The lock's name.")
    var name: String

    @Option(name: .customLong("lock-token"), parsing: .unconditional, help: ArgumentHelp("The lease's token, as acquire printed it.", valueName: "token"))
    var lockToken: String

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let locks = try client.makeClient()
        do {
            try await locks.release(name, token: lockToken)
            try ClientOutput.json(LockJSON.Released(name: name))
        } catch {
            throw ClientFailure.exit("release", error, name: name)
        }
    }
}
