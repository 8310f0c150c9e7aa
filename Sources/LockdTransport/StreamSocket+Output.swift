import LockdTLS

extension StreamSocket {
    /// The largest piece of plaintext handed to TLS at once: a few records,
    /// so the socket, not the encryption, sets the pace.
    static let encryptionChunk = 64 << 10

    /// Appends plaintext to the output queue (loop thread only); nothing is
    /// sent until ``flush()``, so everything queued in one turn leaves in one
    /// `send`. `body` only appends: it must not call the stream.
    public func queueOutput(_ body: (inout [UInt8]) -> Void) {
        assertInLoop()
        guard !isClosed, !outputShut else { return }
        output.append(body)
    }

    /// Appends to the output queue what `write` writes at the pointer it is
    /// given, where there is room for `maxCount` bytes; `write` returns how
    /// many it wrote, at most `maxCount` (loop thread only). As
    /// ``queueOutput(_:)``, without building an array first: for an owner
    /// that knows a bound on what it writes (a response).
    public func queueOutput(atMost maxCount: Int, _ write: (UnsafeMutableRawPointer) -> Int) {
        assertInLoop()
        guard !isClosed, !outputShut else { return }
        output.write(atMost: maxCount, write)
    }

    /// Bytes queued and not yet on the wire (plaintext not yet sent or
    /// encrypted, and ciphertext not yet sent).
    // Inlinable: an HTTP connection asks two or three times a request, and
    // a call of another module's cost ~12 instructions for four loads.
    @inlinable public var queuedOutputCount: Int {
        output.unsent + (ciphertext.count - ciphertextSent)
    }

    /// Sends the output queue (loop thread only).
    /// - Returns: true when all of it is on the wire; false when the rest
    ///   waits for the socket (then ``StreamSocketDelegate/streamWritable(_:)``
    ///   follows once it has gone); the reason when the stream broke — it is
    ///   then closed, and the delegate is not called.
    @discardableResult
    public func flush() -> Result<Bool, StreamCloseReason> {
        assertInLoop()
        guard !isClosed else { return .failure(.peerClosed) }
        // Nothing queued, no TLS (an HTTP connection settles after reading
        // a request whose answer is promised, and flushes then too): what
        // the general path does, without its calls (~50 instructions).
        if output.unsent == 0, tls == nil {
            if !delivering { updateInterest() }
            return .success(true)
        }
        let result = flushQueued()
        // During a delivery (the owner answering what it was given), the
        // read that delivered updates the interest once it returns, from
        // the state as the owner left it: updated here too, it was worked
        // out twice a request (~45 instructions).
        if case .failure = result { close() } else if !delivering { updateInterest() }
        return result
    }

    /// Writes what the socket takes of `bytes` now, for owners that keep
    /// their own queue (loop thread only). With TLS, bytes are encrypted only
    /// once earlier ciphertext is on the wire, so what is not taken stays the
    /// owner's: unsent means unsent.
    /// - Returns: how many bytes were taken (when fewer than offered,
    ///   ``StreamSocketDelegate/streamWritable(_:)`` follows once the socket
    ///   takes more); the reason when the stream broke — it is then closed.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Result<Int, StreamCloseReason> {
        assertInLoop()
        guard isOpen else { return .failure(.peerClosed) }
        var taken = 0
        let result = send(bytes, taken: &taken)
        switch result {
        case .failure(let reason):
            close()
            return .failure(reason)
        case .success(let done):
            ownerBlocked = !done
            updateInterest()
            return .success(taken)
        }
    }

    /// Ends the sending side gracefully once the queue is out: a TLS
    /// close_notify, then a TCP FIN. Input after this is not decrypted: it is
    /// offered raw to ``StreamSocketDelegate/streamReceived(_:_:)`` only to be
    /// dropped (a lingering close), until the peer closes (loop thread only).
    public func shutdownOutput() {
        assertInLoop()
        guard !isClosed, !outputShut else { return }
        outputShut = true
        output.removeAll()
        input.reset()
        if let tls, isOpen {
            tls.shutdown()
            shutdownAfterFlush = true
            if case .failure = sendCiphertext(from: tls) { return close() }
        } else {
            socket.shutdownWrite()
        }
        updateInterest()
    }

    // MARK: Internals

    /// Whether something waits for the socket to be writable.
    var hasUnsentBytes: Bool {
        ciphertextSent < ciphertext.count || ((output.unsent > 0 || ownerBlocked) && !writeAwaitsInput)
    }

    /// Sends (encrypting first, with TLS) the output queue.
    func flushQueued() -> Result<Bool, StreamCloseReason> {
        guard output.unsent > 0 else { return sendPendingCiphertext() }
        var taken = 0
        let result = output.withUnsentBytes { send($0, taken: &taken) }
        // Once all is sent, small room is kept for the next response; large room is returned.
        output.sent(taken)
        return result
    }

    /// Writes `bytes` (through TLS when on), counting what the stream took.
    /// - Returns: whether all was taken and is on the wire.
    ///
    /// The plaintext send inline in its callers, the encrypted one out of
    /// line: as one function it saved every register and returned its
    /// result through memory for every send (~35 instructions a send, two
    /// a Redis lock request).
    @inline(__always)
    private func send(_ bytes: UnsafeRawBufferPointer, taken: inout Int) -> Result<Bool, StreamCloseReason> {
        guard let tls else {
            sendBlocked = false
            while taken < bytes.count {
                switch socket.write(UnsafeRawBufferPointer(rebasing: bytes[taken...])) {
                case .bytes(let count): taken += count
                case .wouldBlock:
                    sendBlocked = true
                    return .success(false)
                case .failed(let code): return .failure(.failed(TransportError("send", code: code)))
                }
            }
            return .success(true)
        }
        return sendEncrypted(bytes, through: tls, taken: &taken)
    }

    /// ``send(_:taken:)`` through TLS.
    @inline(never)
    private func sendEncrypted(_ bytes: UnsafeRawBufferPointer, through tls: TLSSession, taken: inout Int) -> Result<Bool, StreamCloseReason> {
        while true {
            switch sendCiphertext(from: tls) {
            case .failure(let reason): return .failure(reason)
            case .success(false): return .success(false)
            case .success(true): break
            }
            guard taken < bytes.count else { return .success(true) }
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[taken..<min(bytes.count, taken + Self.encryptionChunk)])
            switch tls.write(chunk) {
            case .bytes(let count):
                taken += count
            case .needsInput:
                writeAwaitsInput = true
                return .success(false)
            case .failed(let error):
                return .failure(.tlsFailed(error))
            }
        }
    }

    private func sendPendingCiphertext() -> Result<Bool, StreamCloseReason> {
        guard let tls else { return .success(true) }
        return sendCiphertext(from: tls)
    }

    /// Moves the session's ciphertext to the wire; true when none is left.
    func sendCiphertext(from tls: TLSSession) -> Result<Bool, StreamCloseReason> {
        tls.takeOutput(into: &ciphertext)
        sendBlocked = false
        while ciphertextSent < ciphertext.count {
            let result = ciphertext.withUnsafeBytes { socket.write(UnsafeRawBufferPointer(rebasing: $0[ciphertextSent...])) }
            switch result {
            case .bytes(let count):
                ciphertextSent += count
            case .wouldBlock:
                sendBlocked = true
                return .success(false)
            case .failed(let code):
                return .failure(.failed(TransportError("send", code: code)))
            }
        }
        ciphertext.removeAll(keepingCapacity: ciphertext.capacity <= 4096)
        ciphertextSent = 0
        if shutdownAfterFlush {
            shutdownAfterFlush = false
            socket.shutdownWrite()
        }
        return .success(true)
    }

    /// The socket takes bytes again: send what waits, then tell the owner.
    func writableEvent() {
        switch flushQueued() {
        case .failure(let reason):
            closeByItself(reason)
        case .success(false):
            updateInterest()
        case .success(true):
            ownerBlocked = false
            updateInterest()
            if isOpen, !outputShut { delegate?.streamWritable(self) }
        }
    }
}
