import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@testable import LockdClient

@Suite("Backoff, AcquirePlan and WaitLimit (no server)")
struct RetryPlanTests {
    private let start = ContinuousClock.now
    private static let unavailable = LockError.unavailable(retryAfter: nil)
    private static let held = LockError.held(holders: [], retryAfter: .seconds(1))

    @Test("backoff doubles from 50 ms to 2 s with jitter, and is never shorter than Retry-After")
    func backoff() {
        var backoff = Backoff()
        var steps: [Duration] = []
        for _ in 0..<10 { steps.append(backoff.next(retryAfter: nil)) }
        for (index, step) in steps.enumerated() {
            let full = min(Backoff.ceiling, Backoff.initial * (1 << index))
            #expect(step >= full / 2 && step <= full, "step \(index): \(step)")
        }
        #expect(backoff.next(retryAfter: .seconds(5)) == .seconds(5))
        backoff.reset()
        #expect(backoff.next(retryAfter: nil) <= Backoff.initial)
    }

    @Test("failures and retryable errors: 503, connection failures; not held, lost, invalid, or a server that is not lockd")
    func retryable() {
        #expect(Self.unavailable.isRetryable)
        #expect(LockError.transport(URLError(.cannotConnectToHost)).isRetryable)
        #expect(LockError.transport(URLError(.networkConnectionLost)).isRetryable)
        #expect(LockError.transport(URLError(.timedOut)).isRetryable)
        #expect(!LockError.transport(URLError(.unsupportedURL)).isRetryable)
        #expect(!LockError.transport(URLError(.serverCertificateUntrusted)).isRetryable)
        #expect(LockError.transport(TransportFailure(.cannotConnect, "refused")).isRetryable)
        #expect(LockError.transport(TransportFailure(.connectionLost, "reset")).isRetryable)
        #expect(LockError.transport(TransportFailure(.timedOut, "late")).isRetryable)
        #expect(!LockError.transport(TransportFailure(.tls, "untrusted")).isRetryable)
        #expect(!LockError.transport(TransportFailure(.badURL, "ftp")).isRetryable)
        #expect(!LockError.transport(UnexpectedResponse(status: 404)).isRetryable)
        #expect(!Self.held.isRetryable)
        #expect(!LockError.leaseLost.isRetryable)
        #expect(!LockError.invalidRequest(detail: "no").isRetryable)
        #expect(LockError.unavailable(retryAfter: .seconds(3)).retryAfter == .seconds(3))
    }

    @Test("a call that runs out of time reports the failure before its own deadline, not the deadline")
    func theCauseOutlivesTheDeadline() {
        let certificate = LockError.transport(URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "SSL certificate problem"]))
        let ownDeadline = LockError.transport(TransportFailure(.timedOut, "no answer within the call's timeout"))
        let describes: (LockError) -> String? = {
            guard case .transport(let error) = $0 else { return nil }
            return (error as? URLError)?.userInfo[NSLocalizedDescriptionKey] as? String
        }
        #expect(describes(ownDeadline.orEarlier(certificate)) == "SSL certificate problem")
        #expect(describes(certificate.orEarlier(nil)) == "SSL certificate problem")
        #expect(describes(ownDeadline.orEarlier(nil)) == nil)
        // Anything that says more than the deadline is kept.
        #expect(describes(Self.unavailable.orEarlier(certificate)) == nil)
        let sessionTimeout = LockError.transport(URLError(.timedOut, userInfo: [NSLocalizedDescriptionKey: "timed out after 60 s"]))
        #expect(describes(sessionTimeout.orEarlier(certificate)) == "timed out after 60 s")
    }

    @Test("a long wait is asked for in pieces of at most the server's maximum; held with time left asks again")
    func longWaitInPieces() {
        var plan = AcquirePlan(start: start, wait: .seconds(150), timeout: .seconds(30))
        #expect(plan.waitToAsk(now: start, limit: .seconds(60)) == .seconds(60))
        #expect(plan.next(after: Self.held, now: start + .seconds(60), sentAt: start, asked: .seconds(60)) == .retry(after: .zero))
        #expect(plan.waitToAsk(now: start + .seconds(120), limit: .seconds(60)) == .seconds(30))
        #expect(plan.next(after: Self.held, now: start + .seconds(150), sentAt: start + .seconds(120), asked: .seconds(30)) == .fail)
    }

    @Test("without a wait, held and failures are retried for ever")
    func waitUntilGranted() {
        var plan = AcquirePlan(start: start, wait: nil, timeout: .seconds(1))
        #expect(plan.waitToAsk(now: start + .seconds(3600), limit: .seconds(60)) == .seconds(60))
        #expect(plan.next(after: Self.held, now: start + .seconds(3600), sentAt: start + .seconds(3540), asked: .seconds(60)) == .retry(after: .zero))
        guard case .retry = plan.next(after: Self.unavailable, now: start + .seconds(7200), sentAt: start, asked: .seconds(60)) else {
            Issue.record("an unbounded wait gave up on a failure")
            return
        }
    }

    @Test("a try retries failures for the client's timeout, honouring Retry-After within it")
    func tryRetriesForTheTimeout() {
        var plan = AcquirePlan(start: start, wait: .zero, timeout: .seconds(5))
        #expect(plan.waitToAsk(now: start, limit: .seconds(60)) == .zero)
        #expect(plan.next(after: LockError.unavailable(retryAfter: .seconds(2)), now: start, sentAt: start, asked: .zero) == .retry(after: .seconds(2)))
        #expect(plan.next(after: LockError.unavailable(retryAfter: .seconds(9)), now: start + .seconds(2), sentAt: start, asked: .zero)
                == .retry(after: .seconds(3)))
        #expect(plan.next(after: Self.unavailable, now: start + .seconds(5), sentAt: start, asked: .zero) == .fail)
        #expect(plan.next(after: Self.held, now: start + .seconds(1), sentAt: start, asked: .zero) == .fail)
        #expect(plan.next(after: LockError.invalidRequest(detail: "ttl_ms"), now: start, sentAt: start, asked: .zero) == .fail)
    }

    @Test("a wait longer than the timeout retries failures for the whole wait")
    func retriesForTheWholeWait() {
        var plan = AcquirePlan(start: start, wait: .seconds(100), timeout: .seconds(5))
        guard case .retry = plan.next(after: Self.unavailable, now: start + .seconds(90), sentAt: start, asked: .seconds(60)) else {
            Issue.record("gave up before the wait was over")
            return
        }
        #expect(plan.next(after: Self.unavailable, now: start + .seconds(100), sentAt: start, asked: .seconds(60)) == .fail)
    }

    @Test("a held answered much sooner than asked backs off instead of spinning")
    func earlyHeldBacksOff() {
        var plan = AcquirePlan(start: start, wait: .seconds(30), timeout: .seconds(5))
        guard case .retry(let delay) = plan.next(after: Self.held, now: start + .milliseconds(5), sentAt: start, asked: .seconds(30)) else {
            Issue.record("gave up with time left")
            return
        }
        #expect(delay > .zero)
    }

    @Test("the wait limit comes from lockd's refusal, or halves when the refusal names none")
    func waitLimit() {
        let limit = WaitLimit()
        #expect(limit.current == .seconds(60))
        #expect(!limit.lower(after: .seconds(60), refusal: "ttl_ms must be between 100 and 86400000"))
        #expect(limit.lower(after: .seconds(60), refusal: "wait_ms must be between 0 and 1000"))
        #expect(limit.current == .seconds(1))
        #expect(!limit.lower(after: .seconds(1), refusal: "wait_ms must be between 0 and 1000"))

        let unnamed = WaitLimit()
        #expect(unnamed.lower(after: .seconds(60), refusal: "wait_ms is too long"))
        #expect(unnamed.current == .seconds(30))
        #expect(!unnamed.lower(after: .milliseconds(100), refusal: "wait_ms is too long"))
    }
}
