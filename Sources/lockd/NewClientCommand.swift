import ArgumentParser
import LockdAuth

/// `lockd new-client ID --grant ACTIONS=PATTERN …`: a fresh secret, printed
/// once, and the auth-file entry that grants it.
struct NewClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-client",
        abstract: "Make a client for the auth file: a fresh secret (printed once) and its entry.",
        discussion: """
            Prints the secret (256 random bits; lockd keeps only its SHA-256), then the entry \
            to add to the "clients" array of the --auth-file; send SIGHUP to lockd to load it. \
            The client sends the secret as Authorization: Bearer SECRET (lockd acquire … --auth-token).

            Example:
              lockd new-client billing-worker --grant lock,read=billing:* --grant read=orders
            """
    )

    @Argument(help: "The client's id: 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (shown on its leases, logs and metrics).")
    var id: String

    @Option(name: .long, help: ArgumentHelp(
        "ACTIONS=PATTERN: actions lock, read, admin (comma-separated) on a name (orders), the names starting with a prefix (billing:*), or every name (*). Repeat for more.",
        valueName: "actions=pattern"))
    var grant: [String] = []

    func run() throws {
        let client: NewClient
        do {
            client = try NewClient(id: id, grants: grant)
        } catch {
            throw ValidationError(error.message)
        }
        print("""
            # The secret of '\(client.id)' (shown this once; lockd keeps only its SHA-256):
            \(client.secret)
            # Its entry for the "clients" array of the auth file:
            \(client.entry)
            """)
    }
}
