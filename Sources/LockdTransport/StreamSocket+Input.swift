import LockdTLS

extension StreamSocket {
    /// Bytes asked of the kernel (or of OpenSSL) per read into the stream's own buffer.
    static let readSize = 16 << 10

    /// How many received bytes wait unconsumed (decrypted, for TLS).
    public var bufferedInputCount: Int { input.count }

    /// Whether ``resumeInput()`` would find input to offer: received bytes
    /// waiting, or (with TLS) records OpenSSL holds. An owner that flushes
    /// anyway can skip ``resumeInput()`` without it — the flush updates what
    /// the socket waits for, which ``resumeInput()`` would otherwise do too.
    public var hasInputToResume: Bool {
        !input.isEmpty || tls?.hasBufferedInput == true
    }

    /// Offers buffered input to the delegate again — the owner can consume
    /// more now (loop thread only). With TLS, records OpenSSL holds are
    /// decrypted and offered too. Reading resumes once less than
    /// ``Options/maxBufferedInput`` waits.
    /// - Returns: whether the delegate was offered input.
    @discardableResult
    public func resumeInput() -> Bool {
        assertInLoop()
        guard isOpen, !delivering, !outputShut else { return false }
        var offered = false
        if !input.isEmpty {
            offered = true
            deliverBuffered()
        }
        if isOpen, let tls, tls.hasBufferedInput, input.count < options.maxBufferedInput {
            offered = true
            decryptAndDeliver(tls)
        }
        updateInterest()
        return offered
    }

    /// One read per readiness event.
    func readEvent() {
        if outputShut || isRefusing {
            return discardInput()
        }
        guard let tls else { return readPlaintext() }
        let outcome = withReadTarget { target, count in
            socket.read(into: target, count: count)
        } deliver: { ciphertext in
            // Only the connection's first byte tells a plaintext peer apart.
            if isServer, !peerSpoke, let first = ciphertext.first {
                peerSpoke = true
                if Self.looksLikePlaintext(first) { return refusePlaintext() }
            }
            tls.receive(ciphertext)
        }
        guard readSucceeded(outcome), !isClosed else { return }
        if case .handshaking = phase {
            continueHandshake()
            guard isOpen else { return }
        }
        decryptAndDeliver(tls)
        guard !isClosed else { return }
        // A read can leave OpenSSL with something to say (a key update, an
        // alert), and can unblock a write that waited on the peer.
        if writeAwaitsInput {
            writeAwaitsInput = false
            return writableEvent()
        }
        if tls.hasOutput, case .failure(let reason) = sendCiphertext(from: tls) {
            return closeByItself(reason)
        }
        updateInterest()
    }

    /// One read of a plaintext stream. The usual read — into the loop's
    /// buffer, offered in place — runs in this one frame (the read's
    /// outcome and the delivery inline, the rarer paths out of line): as
    /// three calls it cost ~60 instructions more an event in frames alone.
    func readPlaintext() {
        guard input.isEmpty, !loop.readBufferInUse else { return readPlaintextIntoInput() }
        let buffer = loop.readBuffer
        guard let base = buffer.baseAddress else { return }
        let outcome = socket.read(into: base, count: buffer.count)
        guard readSucceeded(outcome), case .bytes(let count) = outcome else { return }
        deliverInPlace(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        updateInterest()
    }

    /// A read appended to the bytes the owner left unconsumed.
    @inline(never)
    private func readPlaintextIntoInput() {
        var outcome = Socket.ReadResult.wouldBlock
        _ = input.fill(minimum: Self.readSize) { pointer, count in
            outcome = socket.read(into: pointer, count: count)
            if case .bytes(let read) = outcome { return read }
            return 0
        }
        guard readSucceeded(outcome) else { return }
        deliverBuffered()
        updateInterest()
    }

    /// Decrypts every record OpenSSL holds (while the owner has room) and
    /// offers the plaintext; the records of one read are offered together.
    func decryptAndDeliver(_ tls: TLSSession) {
        while isOpen, input.count < options.maxBufferedInput, tls.hasBufferedInput {
            var ended: StreamCloseReason?
            var filled = 0
            var full = false
            if input.isEmpty, !loop.readBufferInUse, let base = loop.readBuffer.baseAddress {
                let capacity = loop.readBuffer.count
                while filled < capacity {
                    let result = tls.read(into: base + filled, count: capacity - filled)
                    guard case .bytes(let count) = result else {
                        ended = Self.endOfRead(result)
                        break
                    }
                    filled += count
                }
                full = filled == capacity
                if filled > 0 { deliverInPlace(UnsafeRawBufferPointer(start: base, count: filled)) }
            } else {
                while input.count < options.maxBufferedInput {
                    var result = TLSSession.ReadResult.needsInput
                    _ = input.fill(minimum: Self.readSize) { pointer, count in
                        result = tls.read(into: pointer, count: count)
                        if case .bytes(let read) = result { return read }
                        return 0
                    }
                    guard case .bytes(let count) = result else {
                        ended = Self.endOfRead(result)
                        break
                    }
                    filled += count
                }
                full = input.count >= options.maxBufferedInput
                if filled > 0 { deliverBuffered() }
            }
            if let ended {
                // What arrived before a close_notify or a bad record was offered first.
                return closeByItself(ended)
            }
            // Records are left in OpenSSL only when the plaintext filled the buffer.
            if !full { break }
        }
    }

    /// nil for "needs more ciphertext"; otherwise why the stream ends.
    private static func endOfRead(_ result: TLSSession.ReadResult) -> StreamCloseReason? {
        switch result {
        case .bytes, .needsInput: nil
        case .closed: .peerClosed
        case .failed(let error): .tlsFailed(error)
        }
    }

    /// Offers bytes that live in the loop's read buffer; keeps what is left.
    @inline(__always)
    private func deliverInPlace(_ bytes: UnsafeRawBufferPointer) {
        // The delegate called unretained: its holder lives through the call
        // even if the delegate closes the stream (see `delegate`'s setter).
        guard let lentDelegate else { return }
        delivering = true
        loop.readBufferInUse = true
        let consumed = lentDelegate._withUnsafeGuaranteedRef { $0.delegate.streamReceived(self, bytes) }
        loop.readBufferInUse = false
        delivering = false
        guard !isClosed, consumed < bytes.count else { return }
        input.append(UnsafeRawBufferPointer(rebasing: bytes[max(0, consumed)...]))
    }

    /// Offers the stream's own buffer; drops what was consumed.
    private func deliverBuffered() {
        guard let delegate else { return }
        delivering = true
        let consumed = delegate.streamReceived(self, input.unread)
        delivering = false
        guard !isClosed else { return }
        input.consume(consumed)
    }

    /// Reads into the loop's buffer and hands the bytes to `deliver`.
    private func withReadTarget(
        read: (UnsafeMutableRawPointer, Int) -> Socket.ReadResult,
        deliver: (UnsafeRawBufferPointer) -> Void
    ) -> Socket.ReadResult {
        if !loop.readBufferInUse, let base = loop.readBuffer.baseAddress {
            let outcome = read(base, loop.readBuffer.count)
            if case .bytes(let count) = outcome {
                loop.readBufferInUse = true
                deliver(UnsafeRawBufferPointer(start: base, count: count))
                loop.readBufferInUse = false
            }
            return outcome
        }
        var scratch = [UInt8](repeating: 0, count: Self.readSize)
        return scratch.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return .wouldBlock }
            let outcome = read(base, buffer.count)
            if case .bytes(let count) = outcome { deliver(UnsafeRawBufferPointer(start: base, count: count)) }
            return outcome
        }
    }

    /// Whether bytes came; an end of file or a failure closes the stream.
    @inline(__always)
    private func readSucceeded(_ outcome: Socket.ReadResult) -> Bool {
        switch outcome {
        case .bytes: return true
        case .wouldBlock: return false
        case .endOfFile, .failed: readEnded(outcome)
        }
        return false
    }

    /// Closes the stream for an end of file or a failed read (out of line:
    /// the reads that succeed make no room for it).
    @inline(never)
    private func readEnded(_ outcome: Socket.ReadResult) {
        switch outcome {
        case .bytes, .wouldBlock: return
        case .endOfFile: closeByItself(.peerClosed)
        case .failed(let code): closeByItself(.failed(TransportError("read", code: code)))
        }
    }

    // MARK: Dropping input

    private var isRefusing: Bool {
        if case .refusing = phase { return true }
        return false
    }

    /// Most bytes dropped after shutting output before giving up on a peer.
    static let maxDiscardedBytes = 1 << 20

    /// After ``shutdownOutput()`` or a plaintext refusal: reads raw bytes
    /// and offers them (undecrypted) only to be counted, until the peer closes.
    private func discardInput() {
        let outcome = withReadTarget { target, count in
            socket.read(into: target, count: count)
        } deliver: { bytes in
            if case .refusing(let discarded) = phase {
                phase = .refusing(discarded: discarded + bytes.count)
            } else if let delegate {
                _ = delegate.streamReceived(self, bytes)
            }
        }
        switch outcome {
        case .bytes:
            if case .refusing(let discarded) = phase, discarded > Self.maxDiscardedBytes { closeByItself(.plaintextRefused) }
        case .wouldBlock:
            return
        case .endOfFile, .failed:
            closeByItself(isRefusing ? .plaintextRefused : .peerClosed)
        }
    }

    /// A TLS record starts with a content type below 0x20; HTTP with a method's capital letter.
    private static func looksLikePlaintext(_ first: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first)
    }

    /// Answers a plaintext peer of a TLS server in clear, then waits for it to close.
    private func refusePlaintext() {
        if let reply = delegate?.plaintextRefusal(self) {
            _ = reply.withUnsafeBytes { socket.write($0) }
        }
        socket.shutdownWrite()
        tls = nil
        phase = .refusing(discarded: 0)
    }
}
