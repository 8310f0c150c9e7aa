import ArgumentParser
import Foundation
import LockdClient

#if canImport(Glibc)
import Glibc
#endif

/// The options every client subcommand takes: which lockd, with which secret,
/// and how long to keep trying while it cannot be reached.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "lockd's URL, http:// or https:// (env LOCKD_SERVER; default http://127.0.0.1:7070).", valueName: "url"))
    var server: String?

    @Option(name: .customLong("auth-token"), parsing: .unconditional, help: ArgumentHelp(
        "Bearer secret for a lockd that requires one (env LOCKD_AUTH_TOKEN, which keeps it out of `ps`; default: none).",
        valueName: "secret"))
    var authToken: String?

    @Option(help: ArgumentHelp(
        "How long to keep trying while lockd cannot be reached or answers 503 — and how long one request may take beyond the wait it asks for (default 10s).",
        valueName: "duration"), transform: DurationText.parse)
    var timeout: Duration?

    /// The default server, as PRODUCT.md and `lockd --listen`'s default agree.
    static let defaultServer = "http://127.0.0.1:7070"

    /// A client for the chosen lockd.
    /// - Parameter owner: The label shown to `lockd status` for leases this client takes.
    /// - Throws: `ValidationError` for a URL that is not http:// or https://.
    func makeClient(owner: String? = nil) throws -> LockClient {
        let text = server ?? Self.environment("LOCKD_SERVER") ?? Self.defaultServer
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false else {
            throw ValidationError("--server / LOCKD_SERVER must be an http:// or https:// URL, as in \(Self.defaultServer); got '\(text)'")
        }
        if let timeout, timeout <= .zero {
            throw ValidationError("--timeout must be more than 0, as in 10s")
        }
        let secret = authToken ?? Self.environment("LOCKD_AUTH_TOKEN")
        return LockClient(serverURL: url, owner: owner, timeout: timeout ?? .seconds(10), bearerToken: secret)
    }

    /// A variable of the environment; nil when unset or empty.
    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}
