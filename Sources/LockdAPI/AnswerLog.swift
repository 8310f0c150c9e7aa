import LockdHTTP
import Logging

/// What a promised answer logs through, taken from its request's context
/// when the answer is promised: the context's logger, and whether it logs
/// debug lines (``HTTPRequestContext/logs(_:)``, a server's fixed level).
///
/// A store's callback that writes the answer then captures this rather
/// than the whole context, whose copy (its parameters, request id, trace
/// parent, route and response filter each retained) and destroy cost a
/// Redis acquire or release ~0.4 k instructions; the answer needs nothing
/// else of it.
struct AnswerLog: Sendable {
    /// The context's ``HTTPRequestContext/logger``: the request's metadata
    /// added by its metadata provider as a line is written, or set on it
    /// as it was read.
    let logger: Logger
    /// ``HTTPRequestContext/logs(_:)`` at `.debug`, asked when the answer
    /// was promised: a server's level is fixed (its handler's, or the one
    /// it was made with), so asked later it says the same.
    let logsDebug: Bool

    /// What `context` logs through.
    init(_ context: HTTPRequestContext) {
        logger = context.logger
        logsDebug = context.logs(.debug)
    }
}
