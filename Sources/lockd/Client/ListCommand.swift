import ArgumentParser
import LockdClient

/// `lockd list [--prefix P]`: every held lock, as JSON.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List held locks as JSON (never a token).",
        discussion: """
            Prints {"locks": [status, …]}, each as `lockd status` prints one, fetching \
            every page.

            Exit status: 0 answered; 69 lockd could not be reached; 64 lockd refused \
            the request (a malformed prefix).

            Example:
              lockd list --prefix deploy: | jq -r '.locks[].name'
            """
    )

    @Option(help: ArgumentHelp("Only names that start with this (default: all).", valueName: "prefix"))
    var prefix: String = ""

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let locks = try client.makeClient()
        do {
            var all: [LockJSON.Status] = []
            for try await status in locks.list(prefix: prefix, pageSize: 1000) { all.append(LockJSON.Status(status)) }
            try ClientOutput.json(LockJSON.List(locks: all))
        } catch {
            throw ClientFailure.exit("list", error)
        }
    }
}
