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

    /// The route names, then ``noRoute``.
    private let routeNames: [String]
    /// The same, found by a scan (``KnownStrings``), which beats hashing for
    /// a dozen short strings.
    private let routeTable: KnownStrings
    private let durations: [CoreMetrics.Timer]
    private let requests: RequestCounters
    private let accessLog: AccessLog?

    /// - Parameters:
    ///   - routes: the router's route names.
    ///   - accessLog: where request lines go; nil writes none.
    init(routes: [String], factory: any MetricsFactory, accessLog: AccessLog?) {
        routeNames = routes + [Self.noRoute]
        routeTable = KnownStrings(routeNames)
        durations = routeNames.map { Timer(label: "lockd_http_request_duration_seconds", dimensions: [("route", $0)], factory: factory) }
        requests = RequestCounters(routes: routeNames, factory: factory)
        self.accessLog = accessLog
    }

    func answered(_ exchange: HTTPExchange) {
        let route = exchange.route.flatMap(routeTable.index(of:)) ?? routeNames.count - 1
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
    private static let methodTable = KnownStrings(methods.map(\.rawValue))
    /// The method slots: each common method, then `other`, then `none` (no method: an unreadable request).
    private static let methodSlots = methods.count + 2
    private static let statusSlots = 18

    private let routes: [String]
    private let factory: any MetricsFactory
    private let slots: Mutex<[CoreMetrics.Counter?]>
    private let others = Mutex<[String: CoreMetrics.Counter]>([:])

    init(routes: [String], factory: any MetricsFactory) {
        self.routes = routes
        self.factory = factory
        slots = Mutex(Array(repeating: nil, count: routes.count * Self.methodSlots * Self.statusSlots))
    }

    /// The slot of a common status, by a jump table rather than a scan.
    private static func statusSlot(_ status: Int) -> Int? {
        switch status {
        case 200: 0
        case 201: 1
        case 204: 2
        case 400: 3
        case 404: 4
        case 405: 5
        case 406: 6
        case 408: 7
        case 409: 8
        case 413: 9
        case 414: 10
        case 415: 11
        case 417: 12
        case 431: 13
        case 500: 14
        case 501: 15
        case 503: 16
        case 505: 17
        default: nil
        }
    }

    private static func methodSlot(_ method: HTTPMethod?) -> Int {
        guard let method else { return methods.count + 1 }
        return methodTable.index(of: method.rawValue) ?? methods.count
    }

    func counter(route: Int, method: HTTPMethod?, status: Int) -> CoreMetrics.Counter {
        if let statusSlot = Self.statusSlot(status), routes.indices.contains(route) {
            let slot = (route * Self.methodSlots + Self.methodSlot(method)) * Self.statusSlots + statusSlot
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
