import CoreMetrics
import LockdHTTP
import Synchronization

/// Counts and times every response the server writes — routed answers, 404,
/// 405 and the server's own answers to unreadable requests — and, with
/// `--access-log`, writes one line per request (``AccessLog``).
///
/// `lockd_http_request_duration_seconds{route}` has one handle per route,
/// made here. `lockd_http_requests_total{route,method,status}` has too many
/// combinations to make up front, so each is made on first use and kept in a
/// table; a request that finds its counter made pays one uncontended lock
/// and one atomic add.
final class HTTPMetering: HTTPExchangeObserver {
    /// The route label of requests no route answered.
    static let noRoute = "none"

    /// The route names, then ``noRoute``; found by a scan, which beats
    /// hashing for a dozen short (inline) strings.
    private let routeNames: [String]
    private let durations: [CoreMetrics.Timer]
    private let requests: RequestCounters
    private let accessLog: AccessLog?

    /// - Parameters:
    ///   - routes: the router's route names.
    ///   - accessLog: where request lines go; nil writes none.
    init(routes: [String], factory: any MetricsFactory, accessLog: AccessLog?) {
        routeNames = routes + [Self.noRoute]
        durations = routeNames.map { Timer(label: "lockd_http_request_duration_seconds", dimensions: [("route", $0)], factory: factory) }
        requests = RequestCounters(routes: routeNames, factory: factory)
        self.accessLog = accessLog
    }

    func answered(_ exchange: HTTPExchange) {
        // Lengths first: most names differ in length, and `==` on two that
        // differ calls into the standard library.
        let route = exchange.route.flatMap { route in
            routeNames.firstIndex { $0.utf8.count == route.utf8.count && $0 == route }
        } ?? routeNames.count - 1
        durations[route].recordNanoseconds(Int64(clamping: exchange.durationNanoseconds))
        requests.counter(route: route, method: exchange.method, status: exchange.status.code).increment()
        accessLog?.record(exchange, route: routeNames[route])
    }
}

/// `lockd_http_requests_total` by route, method and status: made on first use,
/// then found in a slot under a lock held for one array read (an
/// `AtomicLazyReference` per slot cost ~0.6 k instructions a load: its
/// generic code is not specialized across modules). Common methods and
/// statuses have slots; anything else goes to a locked dictionary (rare by
/// construction).
private final class RequestCounters: Sendable {
    private static let methods: [HTTPMethod] = [.get, .head, .post, .put, .delete, .patch, .options]
    private static let statuses = [200, 201, 204, 400, 404, 405, 406, 408, 409, 413, 414, 415, 417, 431, 500, 501, 503, 505]
    private static let capacity = 2_048

    private let routes: [String]
    private let factory: any MetricsFactory
    private let slots: Mutex<[CoreMetrics.Counter?]>
    private let others = Mutex<[String: CoreMetrics.Counter]>([:])

    init(routes: [String], factory: any MetricsFactory) {
        self.routes = routes
        self.factory = factory
        slots = Mutex(Array(repeating: nil, count: Self.capacity))
    }

    func counter(route: Int, method: HTTPMethod?, status: Int) -> CoreMetrics.Counter {
        let methodSlot = method.flatMap { method in Self.methods.firstIndex { $0 == method } } ?? Self.methods.count
        let index = (route * (Self.methods.count + 1) + methodSlot) * Self.statuses.count
        if let statusSlot = Self.statuses.firstIndex(of: status), index + statusSlot < Self.capacity {
            let slot = index + statusSlot
            if let counter = slots.withLock({ $0[slot] }) { return counter }
            // Made outside the lock; a racing request's counter, if first, is kept.
            let made = make(route, method, status)
            return slots.withLock { slots in
                if let counter = slots[slot] { return counter }
                slots[slot] = made
                return made
            }
        }
        let key = "\(route) \(Self.methodLabel(method)) \(status)"
        return others.withLock { others in
            if let counter = others[key] { return counter }
            let counter = make(route, method, status)
            others[key] = counter
            return counter
        }
    }

    /// Methods other than the common ones share the label `other`, so a
    /// client cannot grow the series count by inventing methods.
    private static func methodLabel(_ method: HTTPMethod?) -> String {
        method.map { methods.contains($0) ? $0.rawValue : "other" } ?? "none"
    }

    private func make(_ route: Int, _ method: HTTPMethod?, _ status: Int) -> CoreMetrics.Counter {
        Counter(label: "lockd_http_requests_total", dimensions: [
            ("route", routes[route]), ("method", Self.methodLabel(method)), ("status", String(status)),
        ], factory: factory)
    }
}
