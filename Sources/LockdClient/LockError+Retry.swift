import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
            guard let error = underlying as? URLError else { return true }
            return !Self.permanentURLErrors.contains(error.code)
        case .held, .limitMismatch, .leaseLost, .notHeld, .invalidRequest, .unauthorized, .forbidden:
            return false
        }
    }

    /// `self`, or — when `self` only says that the call's own deadline cut a
    /// request short — the earlier failure, which says why lockd was not
    /// reached: a refused connection, a certificate this client does not trust
    /// (URLSession on Linux reports that as an unknown error, so it is retried).
    func orEarlier(_ earlier: LockError?) -> LockError {
        guard let earlier, case .transport(let underlying) = self, let error = underlying as? URLError,
              error.code == .timedOut, error.userInfo.isEmpty  // RemoteLocks' own: URLSession's carry a description
        else { return self }
        return earlier
    }

    /// lockd's `Retry-After`, for an answer that carried one.
    var retryAfter: Duration? {
        if case .unavailable(let retryAfter) = self { retryAfter } else { nil }
    }

    /// Transport failures that come from the client's own settings (a bad URL, TLS
    /// trust) and that no retry can fix.
    private static let permanentURLErrors: Set<URLError.Code> = [
        .badURL, .unsupportedURL, .cancelled, .userCancelledAuthentication, .userAuthenticationRequired,
        .secureConnectionFailed, .serverCertificateHasBadDate, .serverCertificateUntrusted,
        .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid, .clientCertificateRejected,
        .clientCertificateRequired, .appTransportSecurityRequiresSecureConnection,
    ]
}
