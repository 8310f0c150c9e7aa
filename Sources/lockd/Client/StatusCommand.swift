import ArgumentParser
import LockdClient

/// `lockd status NAME`: who holds a lock, as JSON; `lockd status NAME
/// --fence F`: the holder whose live lease has that fence (a fence check).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show who holds a lock, as JSON (never a token).",
        discussion: """
            Prints {"name", "held", "holders": [{"owner", "fence", "expires_at", "ttl_ms"}]}; \
            ttl_ms is what remains. A free or never-used name is {"held": false, "holders": []}; \
            while a lease that expired keeps the name through its --lock-delay, "delayed_until" \
            says until when.

            With --fence, checks that fence (Chubby's CheckSequencer): prints the one \
            holder whose live lease has it, {"owner", "client", "mode", "fence", \
            "expires_at", "ttl_ms"}, or exits 70 when none has it (released, expired, \
            or never issued).

            Exit status: 0 answered (held or not; with --fence, held); 70 with --fence, \
            no live lease has that fence; 69 lockd could not be reached; 77 the auth \
            token was refused or lacks the read grant; 64 lockd refused the request \
            (a malformed name or fence).

            Examples:
              lockd status deploy:web | jq -r '.holders[] | "\\(.owner) until \\(.expires_at)"'
              lockd status deploy:web --fence 48213 >/dev/null && accept-write
            """
    )

    @Argument(help: "The lock's name.")
    var name: String

    @Option(help: ArgumentHelp("Check this fence: print its holder, or exit 70 if no live lease has it.", valueName: "fence"))
    var fence: Int64?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let locks = try client.makeClient()
        do {
            guard let fence else { return try ClientOutput.json(LockJSON.Status(try await locks.status(name))) }
            guard let holder = try await locks.holder(name, fence: fence) else { throw LockError.notHeld(fence: fence) }
            try ClientOutput.json(LockJSON.Holder(holder))
        } catch {
            throw ClientFailure.exit("status", error, name: name)
        }
    }
}
