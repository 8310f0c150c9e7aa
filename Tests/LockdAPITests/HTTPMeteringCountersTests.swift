import Foundation
import LockdHTTP
import LockdTestSupport
import Testing

@testable import LockdAPI

/// The metering's request counters are made on first use and then found
/// without a lock (a slot published once, read by any loop's thread): every
/// series counts exactly the responses of its route, method and status —
/// those made by threads racing to use a series first included — and the
/// uncommon methods and statuses, which have no slot, count as well.
@Suite struct HTTPMeteringCountersTests {
    static let routes = ["acquire", "release", "healthz"]
    static let methods: [HTTPMethod?] = [.get, .post, .delete, .head, .options, HTTPMethod(rawValue: "PURGE"), nil]
    static let statuses = [200, 201, 204, 404, 409, 503, 299, 599]
    static let threads = 4
    static let rounds = 25

    @Test func everySeriesCountsEveryResponseWhenThreadsRaceToMakeIt() throws {
        let metrics = LockdMetrics(store: "memory")
        let metering = HTTPMetering(routes: Self.routes, factory: metrics.factory, accessLog: nil)
        let names: [String?] = Self.routes + [nil]
        // Every thread goes through every series in its own order, so that
        // each series is first used by racing threads.
        DispatchQueue.concurrentPerform(iterations: Self.threads) { thread in
            var combinations: [(String?, HTTPMethod?, Int)] = []
            for route in names { for method in Self.methods { for status in Self.statuses { combinations.append((route, method, status)) } } }
            if thread % 2 == 1 { combinations.reverse() }
            for _ in 0..<Self.rounds {
                for (route, method, status) in combinations {
                    var exchange = HTTPExchange(
                        method: method, path: nil, route: route, status: HTTPStatus(code: status),
                        durationNanoseconds: 1_000, requestID: HTTPRequestID(prefix: "t-", number: 1), remoteAddress: nil)
                    metering.answered(&exchange)
                }
            }
        }
        let scrape = MetricsScrape(String(decoding: metrics.render(openConnections: { 0 }, redis: nil), as: UTF8.self))
        let expected = Double(Self.threads * Self.rounds)
        var seen = 0
        for route in names {
            for status in Self.statuses {
                // Uncommon methods share the label `other` (PURGE is the only one here); no method is `none`.
                for label in ["GET", "POST", "DELETE", "HEAD", "OPTIONS", "other", "none"] {
                    let labels = ["route": route ?? HTTPMetering.noRoute, "method": label, "status": String(status)]
                    let matching = scrape.samples.filter { $0.name == "lockd_http_requests_total" && $0.labels == labels }
                    #expect(matching.count == 1, "\(labels): \(matching.count) series")
                    #expect(matching.first?.value == expected, "\(labels)")
                    seen += 1
                }
            }
            let durations = scrape.samples.filter {
                $0.name == "lockd_http_request_duration_seconds_count" && $0.labels["route"] == route ?? HTTPMetering.noRoute
            }
            #expect(durations.first?.value == expected * Double(Self.methods.count * Self.statuses.count), "\(route ?? "none")")
        }
        #expect(scrape.samples.filter { $0.name == "lockd_http_requests_total" }.count == seen, "no other series")
    }
}
