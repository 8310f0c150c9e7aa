import ArgumentParser
import LockdClient

/// `lockd release NAME --lock-token TOKEN`: gives a lease back; `lockd
/// release NAME --fence F`: an administrator ends the lease with that fence.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Give a lease back, or force-release one by its fence; prints {\"name\", \"released\": true}.",
        discussion: """
            With --lock-token, the holder gives its lease back. With --fence instead, \
            an administrator (a token with the admin grant on the name) ends the live \
            lease with that fence whatever its token; waiters are served as after a \
            release, and the holder finds its lease lost.

            Exit status: 0 released; 70 the token held no lease on the lock (it had \
            expired, or was released before), or no live lease has the fence; 69 lockd \
            could not be reached (the lease ends at its TTL); 77 the auth token was \
            refused or lacks the grant; 64 lockd refused the request.

            Examples:
              lockd release deploy:web --lock-token "$token"
              lockd release deploy:web --fence 48213 --auth-token "$admin"
            """
    )

    @Argument(help: "The lock's name.")
    var name: String

    @Option(name: .customLong("lock-token"), parsing: .unconditional, help: ArgumentHelp("The lease's token, as acquire printed it.", valueName: "token"))
    var lockToken: String?

    @Option(help: ArgumentHelp("Force-release: the fence of the lease to end (lockd status shows it; needs admin).", valueName: "fence"))
    var fence: Int64?

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard (lockToken == nil) != (fence == nil) else {
            throw ValidationError("give exactly one of --lock-token (release) and --fence (force-release)")
        }
    }

    func run() async throws {
        let locks = try client.makeClient()
        do {
            if let fence {
                try await locks.forceRelease(name, fence: fence)
            } else if let lockToken {
                try await locks.release(name, token: lockToken)
            }
            try ClientOutput.json(LockJSON.Released(name: name))
        } catch {
            throw ClientFailure.exit("release", error, name: name)
        }
    }
}
