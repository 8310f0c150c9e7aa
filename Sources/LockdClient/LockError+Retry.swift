import Foundation

extension LockError {
    /// Whether the same request may succeed if sent again: lockd could not serve it
    /// (503, a proxy's 5xx) or it did not get an answer through. Never for an
    /// answer lockd meant (held, lost, invalid) or for a server that is not lockd.
    var isRetryable: Bool {
        switch self {
        case .unavailable:
            return true
        case .transport(let underlying):
            if underlying is UnexpectedResponse { return false }
            if let failure = underlying as? TransportFailure { return !failure.isPermanent }
            return !Self.isPermanentURLError(underlying)
        case .held, .limitMismatch, .leaseLost, .notHeld, .invalidRequest, .unauthorized, .forbidden:
            return false
        }
    }

    /// Whether the call that failed so may have reached lockd's store all the
    /// same: its answer was lost on the way (a transport failure), or lockd
    /// answered 503 after sending the call to its store.
    var mayHaveGoneThrough: Bool {
        switch self {
        case .transport, .unavailable: true
        default: false
        }
    }

    /// `self`, or — when `self` only says that the call's own deadline cut a
    /// request short — the earlier failure, which says why lockd was not
    /// reached: a refused connection, a certificate this client does not trust
    /// (URLSession on Linux reports that as an unknown error, so it is retried).
    func orEarlier(_ earlier: LockError?) -> LockError {
        guard let earlier, case .transport(let underlying) = self,
              (underlying as? TransportFailure)?.kind == .timedOut  // the call's own deadline, not URLSession's
        else { return self }
        return earlier
    }

    /// lockd's `Retry-After`, for an answer that carried one.
    var retryAfter: Duration? {
        if case .unavailable(let retryAfter) = self { retryAfter } else { nil }
    }

    /// Whether `error` is one of URLSession's (an `NSURLErrorDomain` error, told by
    /// its domain so that the SDK need not link FoundationNetworking) that come from
    /// the client's own settings — a bad URL, TLS trust — and no retry can fix.
    private static func isPermanentURLError(_ error: any Error) -> Bool {
        guard let error = error as? any CustomNSError, type(of: error).errorDomain == "NSURLErrorDomain" else { return false }
        return permanentURLErrorCodes.contains(error.errorCode)
    }

    /// `URLError.Code`s: badURL, unsupportedURL, cancelled, userCancelledAuthentication,
    /// userAuthenticationRequired, appTransportSecurityRequiresSecureConnection,
    /// secureConnectionFailed, serverCertificateHasBadDate, serverCertificateUntrusted,
    /// serverCertificateHasUnknownRoot, serverCertificateNotYetValid,
    /// clientCertificateRejected, clientCertificateRequired.
    private static let permanentURLErrorCodes: Set<Int> = [
        -1000, -1002, -999, -1012, -1013, -1022, -1200, -1201, -1202, -1203, -1204, -1205, -1206,
    ]
}
