import Logging
import ServiceLifecycle
import UnixSignals

/// Something SIGHUP reloads: the TLS certificate, the auth file.
struct ReloadHook: Sendable {
    /// What it reloads, for the log.
    let name: String
    /// Reads the files again and swaps them in; throws (keeping the old
    /// ones in use) when they cannot be used.
    let reload: @Sendable () throws -> Void
}

/// Reloads every hook on SIGHUP, until graceful shutdown. A hook that fails
/// is logged at error with the reason, and whatever it reloads stays as it
/// was: lockd keeps serving with the old certificate rather than none.
/// SIGHUP is caught even with nothing to reload, so that `systemctl reload`
/// (or a closed terminal) never ends lockd.
struct ReloadOnHangup: Service {
    let hooks: [ReloadHook]
    /// SIGHUP, trapped by the caller before lockd listens.
    let signals: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown { [hooks, signals, logger] in
            for await _ in signals {
                guard !hooks.isEmpty else {
                    logger.info("SIGHUP: nothing to reload (no --tls-cert-file, no --auth-file)")
                    continue
                }
                logger.info("SIGHUP: reloading")
                for hook in hooks {
                    do {
                        try hook.reload()
                        logger.notice("reloaded", metadata: ["what": "\(hook.name)"])
                    } catch {
                        logger.error("cannot reload; keeping the one in use", metadata: ["what": "\(hook.name)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
