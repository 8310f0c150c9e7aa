import CZlib
import Foundation

/// Decompresses gzip bodies the way a client would — with zlib's own
/// `inflate`, or with the system's `gzip -d` — so tests check lockd's
/// compressor against decoders it does not share code with.
///
/// ```swift
/// let reply = try await client.readResponse()
/// #expect(try Gunzip.inflate(reply.body) == identityBody)
/// ```
public enum Gunzip {
    /// The content of exactly one gzip member filling all of `input`.
    /// - Throws: ``TestFailure`` when zlib finds it malformed, truncated or followed by more bytes.
    public static func inflate(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // 16 + 15: a gzip wrapper, any window up to 32 KB.
        guard lockd_inflate_init2(&stream, 16 + 15) == Z_OK else { throw TestFailure("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status = Z_OK
        try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while status == Z_OK {
                chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[..<(chunk.count - Int(stream.avail_out))])
                if status == Z_BUF_ERROR, stream.avail_in == 0 { throw TestFailure("gzip data is truncated") }
            }
        }
        guard status == Z_STREAM_END else { throw TestFailure("inflate failed with status \(status)") }
        guard stream.avail_in == 0 else { throw TestFailure("\(stream.avail_in) bytes follow the gzip member") }
        return output
    }

    /// `input` decompressed by the system's `gzip -d` in a child process.
    /// - Throws: ``TestFailure`` when gzip fails or reports an error.
    public static func systemGunzip(_ input: [UInt8]) async throws -> [UInt8] {
        let directory = NSTemporaryDirectory() + "gunzip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let compressed = directory + "/body.gz"
        try Data(input).write(to: URL(fileURLWithPath: compressed))
        // gzip -d replaces body.gz with body, and reports errors on stderr (into `log`).
        let log = directory + "/gzip.log"
        let termination = try await offThePool {
            let gzip = try ChildProcess(executable: "/usr/bin/env", arguments: ["gzip", "-d", compressed], outputPath: log)
            return gzip.waitForExit(timeout: .seconds(30))
        }
        guard termination == .exited(0) else {
            let message = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure("gzip -d ended \(String(describing: termination)): \(message)")
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/body")))
    }
}
