/// A value that only one event loop's thread may touch.
///
/// Lets loop-confined state (a connection's buffers, a registration table)
/// live inside `Sendable` types without a lock on every access: the
/// confinement is checked at run time instead of by the compiler.
///
/// ```swift
/// let buffer = LoopBound([UInt8](), on: loop)
/// loop.execute { buffer.value.append(1) }
/// ```
public struct LoopBound<Value>: @unchecked Sendable {
    // Safe to share: every read and write of `box.value` goes through
    // `value`, which traps unless the caller runs on `loop`'s thread, so the
    // value is only ever touched by that one thread.
    private final class Box {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    private let box: Box
    /// The loop whose thread owns the value.
    public let loop: EventLoop

    /// Wraps `value`; must be called on `loop`'s thread, or before the value
    /// is shared with it.
    public init(_ value: Value, on loop: EventLoop) {
        self.box = Box(value)
        self.loop = loop
    }

    /// The value; traps when read or written off the owning loop's thread.
    public var value: Value {
        get {
            loop.preconditionInEventLoop()
            return box.value
        }
        nonmutating _modify {
            loop.preconditionInEventLoop()
            yield &box.value
        }
        nonmutating set {
            loop.preconditionInEventLoop()
            box.value = newValue
        }
    }
}
