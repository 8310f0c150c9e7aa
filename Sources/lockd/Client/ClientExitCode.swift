import ArgumentParser
import LockdClient

/// The exit codes `lockd exec` and the JSON subcommands share (sysexits.h).
enum ClientExitCode {
    /// EX_USAGE: lockd refused the request, or the command line is wrong.
    static let usage: Int32 = 64
    /// EX_UNAVAILABLE: lockd could not be reached.
    static let unavailable: Int32 = 69
    /// EX_SOFTWARE: the lease was lost (while the command ran), or a
    /// force-release or a fence check found no lease with its fence.
    static let leaseLost: Int32 = 70
    /// EX_NOPERM: lockd refused the bearer token (401) or its grants (403).
    static let notPermitted: Int32 = 77
    /// EX_TEMPFAIL: the lock could not be had within `--wait`.
    static let lockHeld: Int32 = 75
    /// The shell's "command not found".
    static let notFound: Int32 = 127
    /// The shell's "cannot execute".
    static let notExecutable: Int32 = 126
}

/// How a client subcommand ends on an error, shared by all of them: a message
/// on standard error and the exit code scripts branch on.
enum ClientFailure {
    /// Prints what went wrong and returns the `ExitCode` to throw.
    static func exit(_ subcommand: String, _ error: any Error, name: String? = nil) -> ArgumentParser.ExitCode {
        let subject = name.map { "\($0): " } ?? ""
        switch error {
        case LockError.held(let holders, let retryAfter):
            let by = holders.first.map { " by \($0.owner ?? "fence \($0.fence)")" } ?? ""
            ClientOutput.error(subcommand, "\(subject)held\(by); retry after \(DurationText.format(retryAfter))")
            return ArgumentParser.ExitCode(ClientExitCode.lockHeld)
        case LockError.limitMismatch(let limit):
            // Like a held lock: it can be had once the name is free, or with its limit.
            ClientOutput.error(subcommand, "\(subject)in use with limit \(limit); give --limit \(limit) or try again when it is free")
            return ArgumentParser.ExitCode(ClientExitCode.lockHeld)
        case LockError.leaseLost:
            ClientOutput.error(subcommand, "\(subject)lease lost: this token holds no lease on the lock (expired, released, or never granted)")
            return ArgumentParser.ExitCode(ClientExitCode.leaseLost)
        case LockError.notHeld(let fence):
            // Like a lost lease: the lease with that fence is gone.
            ClientOutput.error(subcommand, "\(subject)not held: no live lease has fence \(fence) (released, expired, or never issued)")
            return ArgumentParser.ExitCode(ClientExitCode.leaseLost)
        case LockError.invalidRequest(let detail):
            ClientOutput.error(subcommand, "\(subject)invalid request: \(detail)")
            return ArgumentParser.ExitCode(ClientExitCode.usage)
        case LockError.unauthorized(let detail):
            ClientOutput.error(subcommand, "\(subject)unauthorized (--auth-token / LOCKD_AUTH_TOKEN): \(detail)")
            return ArgumentParser.ExitCode(ClientExitCode.notPermitted)
        case LockError.forbidden(let detail):
            ClientOutput.error(subcommand, "\(subject)forbidden: \(detail)")
            return ArgumentParser.ExitCode(ClientExitCode.notPermitted)
        case LockError.transport(let underlying):
            var reason = "\(underlying)"
            if let failure = underlying as? TransportFailure, failure.kind == .timedOut { reason = "no answer within --timeout" }
            ClientOutput.error(subcommand, "\(subject)cannot reach lockd: \(reason)")
            return ArgumentParser.ExitCode(ClientExitCode.unavailable)
        default:
            ClientOutput.error(subcommand, "\(subject)cannot reach lockd: \(error)")
            return ArgumentParser.ExitCode(ClientExitCode.unavailable)
        }
    }
}
