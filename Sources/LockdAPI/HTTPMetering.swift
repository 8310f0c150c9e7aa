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
    /// The same, found by their words (``WordTable``).
    private let routeTable: WordTable
    private let durations: [CoreMetrics.Timer]
    private let requests: RequestCounters
    private let accessLog: AccessLog?

    /// - Parameters:
    ///   - routes: the router's route names.
    ///   - accessLog: where request lines go; nil writes none.
    init(routes: [String], factory: any MetricsFactory, accessLog: AccessLog?) {
        routeNames = routes + [Self.noRoute]
        routeTable = WordTable(routeNames)
        durations = routeNames.map { Timer(label: "lockd_http_request_duration_seconds", dimensions: [("route", $0)], factory: factory) }
        requests = RequestCounters(routes: routeNames, factory: factory)
        self.accessLog = accessLog
    }

    /// Only the access log reads the path.
    var readsPath: Bool { accessLog != nil }

    func answered(_ exchange: HTTPExchange) {
        let route = exchange.route.flatMap(routeTable.index(of:)) ?? routeNames.count - 1
        // The timer and the counter are used unretained: `durations` and the
        // counters' slots hold them strongly for as long as this object
        // lives, and neither ever drops one. Retained, each was retained and
        // released around its call (~40 instructions a request each).
        Unmanaged.passUnretained(durations[route])._withUnsafeGuaranteedRef {
            $0.recordNanoseconds(Int64(clamping: exchange.durationNanoseconds))
        }
        requests.counter(route: route, method: exchange.method, status: exchange.status.code)._withUnsafeGuaranteedRef {
            $0.increment()
        }
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
    /// `methods.count`, as a literal: the static array is behind a lazy
    /// initializer, checked on each read (as a table of it was).
    private static let methodCount = 7
    /// The method slots: each common method, then `other`, then `none` (no method: an unreadable request).
    private static let methodSlots = methodCount + 2
    private static let statusSlots = 18

    private let routes: [String]
    private let factory: any MetricsFactory
    private let slots: Mutex<[CoreMetrics.Counter?]>
    private let others = Mutex<[String: CoreMetrics.Counter]>([:])
    /// The common methods' names (``WordTable``), held here rather than
    /// in a static behind a lazy initializer.
    private let methodTable: WordTable

    init(routes: [String], factory: any MetricsFactory) {
        self.routes = routes
        self.factory = factory
        slots = Mutex(Array(repeating: nil, count: routes.count * Self.methodSlots * Self.statusSlots))
        assert(Self.methods.count == Self.methodCount, "methodCount is not methods.count")
        methodTable = WordTable(Self.methods.map(\.rawValue))
    }

    /// The slot of a common status, by a jump table rather than a scan.
    @inline(__always)
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

    private func methodSlot(_ method: HTTPMethod?) -> Int {
        guard let method else { return Self.methodCount + 1 }
        return methodTable.index(of: method.rawValue) ?? Self.methodCount
    }

    /// The counter of `route`, `method` and `status`, unretained: the slots
    /// (or `others`) hold it strongly from when it is made for as long as
    /// this object lives, and never drop one.
    func counter(route: Int, method: HTTPMethod?, status: Int) -> Unmanaged<CoreMetrics.Counter> {
        if let statusSlot = Self.statusSlot(status), routes.indices.contains(route) {
            let slot = (route * Self.methodSlots + methodSlot(method)) * Self.statusSlots + statusSlot
            if let counter = slots.withLock({ $0[slot].map(Unmanaged.passUnretained) }) { return counter }
            // Made outside the lock; a racing request's counter, if first, is kept.
            let made = make(route, method, status)
            return slots.withLock { slots in
                if let counter = slots[slot] { return Unmanaged.passUnretained(counter) }
                slots[slot] = made
                return Unmanaged.passUnretained(made)
            }
        }
        let key = "\(route) \(Self.methodLabel(method)) \(status)"
        return others.withLock { others in
            if let counter = others[key] { return Unmanaged.passUnretained(counter) }
            let counter = make(route, method, status)
            others[key] = counter
            return Unmanaged.passUnretained(counter)
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

/// A few strings, found by position: by their two words in a table indexed
/// by a hash of them, then (a string not there, or equal but built
/// elsewhere) as ``KnownStrings`` finds them. ``KnownStrings`` compares
/// each candidate's words in turn: ~70 instructions to find a route name
/// among a dozen, ~35 a method among seven; one slot is read here.
struct WordTable: Sendable {
    private struct Slot {
        var first: UInt64 = 0
        var second: UInt64 = 0
        /// The string's position + 1; 0: the slot is empty.
        var position = 0
    }

    /// 64 slots: a dozen strings seldom share one (a string that loses its
    /// slot to another is found by the scan).
    private static let slotBits = 6
    private let slots: [Slot]
    private let scan: KnownStrings

    init(_ strings: [String]) {
        scan = KnownStrings(strings)
        var slots = [Slot](repeating: Slot(), count: 1 << Self.slotBits)
        if MemoryLayout<String>.size == 16 {
            // The first of equal strings keeps the slot, as the scan finds the first.
            for (position, string) in strings.enumerated() {
                let (first, second) = Self.words(of: string)
                let slot = Self.slot(first, second)
                if slots[slot].position == 0 { slots[slot] = Slot(first: first, second: second, position: position + 1) }
            }
        }
        self.slots = slots
    }

    /// The position of the first string equal to `string`, or nil.
    func index(of string: String) -> Int? {
        if MemoryLayout<String>.size == 16 {
            let (first, second) = Self.words(of: string)
            let found = slots[Self.slot(first, second)]
            // Equal words are equal strings.
            if found.position != 0, found.first == first, found.second == second { return found.position - 1 }
        }
        return scan.index(of: string)
    }

    private static func words(of string: String) -> (UInt64, UInt64) {
        withUnsafeBytes(of: string) { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    private static func slot(_ first: UInt64, _ second: UInt64) -> Int {
        let mixed = (first ^ (second &* 0x9E37_79B9_7F4A_7C15)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> UInt64(64 - slotBits))
    }
}
