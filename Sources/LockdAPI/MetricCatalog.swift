/// Every series lockd exports on `/metrics`: its help text and, for
/// histograms, its buckets. One place, so an operator can read what lockd
/// measures, and so no series goes out without `# HELP`.
///
/// The layers below create their handles through swift-metrics with these
/// names (``DescribedMetricsFactory`` adds the help and buckets); the series
/// read at scrape time (`process_*`, `lockd_build_info`, the Redis and
/// connection gauges) are written by ``ScrapeTimeMetrics``.
enum MetricCatalog {
    /// A series' description.
    struct Entry {
        let help: String
        let buckets: [Duration]?

        init(_ help: String, buckets: [Duration]? = nil) {
            self.help = help
            self.buckets = buckets
        }
    }

    /// 100 µs to 60 s: a Redis round trip (≈ 0.1–1 ms) and a minute-long
    /// wait each land in a bucket of their own size.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2_500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2_500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]

    /// Waits go up to `--max-wait-ms` (at most an hour).
    static let waitBuckets: [Duration] = latencyBuckets + [.seconds(300), .seconds(900), .seconds(3_600)]

    /// Leases last up to a day (`ttl_ms` ≤ 86 400 000).
    static let holdBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(10), .milliseconds(100), .milliseconds(500),
        .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        .seconds(300), .seconds(900), .seconds(3_600), .seconds(14_400), .seconds(86_400),
    ]

    static let entries: [String: Entry] = [
        "lockd_http_requests_total": Entry(
            "HTTP requests answered, by route, method and status; route \"none\" when no route matched or the request could not be read."),
        "lockd_http_request_duration_seconds": Entry(
            "Time from a request's first byte to its response, by route; an acquire's includes its wait.",
            buckets: waitBuckets),
        "lockd_acquires_total": Entry(
            "Acquires by outcome: granted (201), retried (200), held and timed_out (409), invalid (400), unavailable and cancelled (503)."),
        "lockd_wait_duration_seconds": Entry(
            "Time from an acquire's arrival to its grant or give-up, by outcome (invalid requests are not counted).",
            buckets: waitBuckets),
        "lockd_hold_duration_seconds": Entry(
            "Time from a grant by this instance to the lease's release or expiry.", buckets: holdBuckets),
        "lockd_locks_held": Entry("Leases granted by this instance and neither released nor expired yet."),
        "lockd_waiters": Entry("Acquires waiting in this instance now."),
        "lockd_redis_replication_timeouts_total": Entry(
            "Grants and renewals with durability replicated that no Redis replica acknowledged in time (answered 503; a grant is undone)."),
        "lockd_waiters_restored_total": Entry("Waiters put back into a queue the store had lost (a Redis restart without persistence, say)."),
        "lockd_leases_ended_total": Entry(
            "Leases ended: released through this instance, or lost (a renew or release came after the lease was gone)."),
        "lockd_event_streams_open": Entry("Event streams (GET /events) open on this instance now."),
        "lockd_events_sent_total": Entry("Lock events queued for event stream readers (one per event per stream)."),
        "lockd_event_streams_dropped_total": Entry(
            "Event streams this instance closed because the reader fell behind its bounded backlog."),
        "lockd_leases_expired_total": Entry("Leases granted by this instance that ran out without being released."),
        "lockd_store_call_duration_seconds": Entry("Round trips to the lock store (Redis), by operation.", buckets: latencyBuckets),
        "lockd_auth_requests_total": Entry(
            "Requests of clients of the auth file, by client id and outcome: granted, or forbidden (403: no grant for the route and name)."),
        "lockd_auth_force_releases_total": Entry("Leases a client ended by force-release (DELETE /locks/{name}?fence=F), by client id."),
        "lockd_auth_unauthorized_total": Entry("Requests answered 401: no bearer token, or one no client of the auth file has."),
        "lockd_store_errors_total": Entry("Lock store calls that failed, by operation and kind of failure."),
    ]
}
