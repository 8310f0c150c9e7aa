import Foundation
import LockdTestSupport
import Testing

/// `GET /`: the status page — served as one self-contained HTML document,
/// and rendering a held lock in a real browser (Debian's headless
/// `chromium`), with a screenshot kept for people to look at.
@Suite struct StatusPageTests {
    @Test func thePageIsOneSelfContainedHTMLDocument() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let page = try await lockd.send("GET", "/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.text.hasPrefix("<!doctype html>"))
            #expect(page.text.contains("/events?prefix="), "the page does not read the event stream")
            // It opens the stream before it lists: a change between the two
            // would otherwise be missed for good (a released lease shown held).
            let start = page.text.range(of: "async function start()").map { String(page.text[$0.upperBound...]) } ?? ""
            let opens = start.range(of: "openStream(prefix)")?.lowerBound, lists = start.range(of: "loadAll(prefix)")?.lowerBound
            let opensFirst = if let opens, let lists { opens < lists } else { false }
            #expect(opensFirst, "the page lists before it opens /events")
            // No external assets: nothing is loaded from another origin.
            for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
                #expect(!page.text.contains(external), "the page loads \(external)…")
            }
        }
    }

    @Test(.enabled(if: HeadlessChromium.binary != nil, "Debian's chromium is not installed (apt-get install chromium)"))
    func aHeadlessBrowserRendersAHeldLock() async throws {
        let chromium = try #require(HeadlessChromium.binary)
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let prefix = uniqueLockName() + ":"
            for (index, owner) in ["billing-worker-7", "report-cron"].enumerated() {
                let lease = try await lockd.send("POST", "/locks/\(prefix)job\(index)", body: #"{"ttl_ms":600000,"owner":"\#(owner)"}"#)
                #expect(lease.status == 201)
            }
            let url = "\(lockd.baseURL)/?prefix=\(prefix)"
            let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-status-page.png").path
            try? FileManager.default.removeItem(atPath: screenshot)
            let dom = try await HeadlessChromium.run(chromium, ["--dump-dom", url])
            guard let dom else {
                Issue.record("chromium could not start or did not finish; see its output above")
                return
            }
            #expect(dom.contains("\(prefix)job0"), "the page did not list the held lock")
            #expect(dom.contains("billing-worker-7"))
            #expect(dom.contains("2 locks held"), "\(dom.suffix(2_000))")
            _ = try await HeadlessChromium.run(chromium, ["--screenshot=\(screenshot)", "--window-size=1200,600", url])
            #expect(FileManager.default.fileExists(atPath: screenshot), "no screenshot at \(screenshot)")
            print("status page screenshot: \(screenshot)")
        }
    }
}

/// Debian's `chromium`, run headless for one page.
enum HeadlessChromium {
    /// The browser's path, when it is installed and starts.
    static let binary: String? = {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }()

    /// Runs `chromium --headless` with `arguments` (the page given time to
    /// load its data and stream); its standard output, or nil when it could
    /// not run to the end.
    static func run(_ binary: String, _ arguments: [String]) async throws -> String? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.txt").path
        // Virtual time: the page's fetches complete and its script runs for
        // 2 s of page time, then the DOM or screenshot is taken (the event
        // stream never ends by itself, so waiting for it would never end).
        let process = try ChildProcess(executable: binary, arguments: [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--user-data-dir=\(directory.path)/profile", "--virtual-time-budget=2000",
        ] + arguments, outputPath: output)
        let ended = await offThePool { process.waitForExit(timeout: .seconds(60)) }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard case .exited(0)? = ended else {
            process.terminate(with: SIGKILL)
            print("chromium \(arguments) ended \(String(describing: ended)):\n\(text.suffix(3_000))")
            return nil
        }
        return text
    }
}
