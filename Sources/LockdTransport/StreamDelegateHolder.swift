/// A stream's delegate in an object of its own, which the stream keeps
/// both held and unretained (``StreamSocket``'s `delegateHolder` and
/// `lentDelegate`).
///
/// The read hands its bytes to the delegate through the unretained one. A
/// `let` of an object the call borrows cannot change during the call, so
/// Swift calls the delegate without a retain and a release (~40
/// instructions a read, two reads a Redis lock request). Read from the
/// stream's own mutable field, it was retained around every call, as the
/// call might change that field.
///
/// The holder lives while the stream holds it. A stream that drops it
/// while it delivers (it closes during the call) retires it to its loop
/// (``EventLoop/retire(_:)``), which holds it until the iteration ends.
final class StreamDelegateHolder {
    /// The delegate, for the holder's whole life.
    let delegate: any StreamSocketDelegate

    init(_ delegate: any StreamSocketDelegate) {
        self.delegate = delegate
    }
}
