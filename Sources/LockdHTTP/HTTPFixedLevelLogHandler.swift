import Logging

/// A log handler whose `logLevel` is a stored value, changed only by
/// setting it on the handler (or its logger): never by shared state read
/// when the level is asked for.
///
/// The server reads such a handler's level once, when it is made
/// (``HTTPRequestContext/logs(_:)``): its logger is its own copy, held in
/// a `let`, so no one can set that level afterwards. A handler that may
/// change its level at run time some other way (a class, or a struct
/// reading a shared box) must not conform: it is asked on every check.
public protocol HTTPFixedLevelLogHandler: LogHandler {}

// swift-log's own: `StreamLogHandler.logLevel` is a stored property, and
// `SwiftLogNoOpLogHandler`'s is always `.critical`.
extension StreamLogHandler: HTTPFixedLevelLogHandler {}
extension SwiftLogNoOpLogHandler: HTTPFixedLevelLogHandler {}

/// Reads a logger's level once, for a handler that cannot change it.
enum HTTPFixedLevelLogHandlers {
    /// `logger`'s level when its handler is an ``HTTPFixedLevelLogHandler``;
    /// nil when it must be asked each time.
    static func level(of logger: Logger) -> Logger.Level? {
        logger.handler is any HTTPFixedLevelLogHandler ? logger.logLevel : nil
    }
}
