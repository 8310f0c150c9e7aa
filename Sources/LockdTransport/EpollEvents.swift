import CLockdSystem

/// The readiness conditions epoll reports for a file descriptor.
public struct EpollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    /// Creates a set from epoll's bit mask.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bytes can be read, or a listener has a connection to accept.
    public static let readable = EpollEvents(rawValue: CLOCKD_EPOLLIN)
    /// The socket's send buffer has room.
    public static let writable = EpollEvents(rawValue: CLOCKD_EPOLLOUT)
    /// An error is pending on the socket.
    public static let error = EpollEvents(rawValue: CLOCKD_EPOLLERR)
    /// Both directions are closed.
    public static let hangup = EpollEvents(rawValue: CLOCKD_EPOLLHUP)
    /// The peer closed its writing half (it will send nothing more).
    public static let readHangup = EpollEvents(rawValue: CLOCKD_EPOLLRDHUP)
}

/// An object that owns a registered file descriptor and reacts to its readiness.
///
/// The loop calls ``handleEvents(_:)`` on its own thread only, so an
/// implementation may keep loop-confined state (see ``LoopBound``).
public protocol EventHandler: AnyObject, Sendable {
    /// Called on the owning loop's thread when the descriptor is ready.
    func handleEvents(_ events: EpollEvents)
}
