import LockdTestSupport
import Testing

@testable import LockdHTTP

/// A head's plain field lines read as the decoder reads them now (the
/// usual ones in blocks, the others by the one-pass line) against session
/// 26's loop (``PartialHead/referenceAddPlainFieldLines(_:from:sectionLength:maxSection:maxCount:fault:faultLine:)``),
/// on generated and mutated heads (``WholeHeadDifferentialTests/head(_:)``)
/// under limits the heads reach: where each stops, the section's length,
/// the fault, its line and its error, the fields and values, and what the
/// head's fields decide (framing, keep-alive, `100-continue`) must all be
/// the same.
@Suite struct PlainFieldLinesDifferentialTests {
    static func outcome(_ head: [UInt8], limits: HTTPRequestLimits, reference: Bool) -> String {
        // The field lines start after the request line.
        guard let lineEnd = head.firstIndex(of: 0x0A) else { return "no request line" }
        var partial = PartialHead()
        var sectionLength = 0
        var fault: PartialHead.FieldFault?
        var faultLine = 0
        let next = head.withUnsafeBytes { input in
            reference
                ? partial.referenceAddPlainFieldLines(
                    input, from: lineEnd + 1, sectionLength: &sectionLength, maxSection: limits.maxHeaderSectionLength,
                    maxCount: limits.maxHeaderCount, fault: &fault, faultLine: &faultLine)
                : partial.addPlainFieldLines(
                    input, from: lineEnd + 1, sectionLength: &sectionLength, maxSection: limits.maxHeaderSectionLength,
                    maxCount: limits.maxHeaderCount, fault: &fault, faultLine: &faultLine)
        }
        let error = fault.map { fault in
            head.withUnsafeBytes { input in
                fault.error(line: UnsafeRawBufferPointer(rebasing: input[faultLine..<next - 2]), maxCount: limits.maxHeaderCount)
            }
        }
        let fields = partial.headers.map { "\($0.name)=\(Array($0.value.utf8))" }
        return "next=\(next) section=\(sectionLength) fault=\(String(describing: fault)) at \(faultLine) \(String(describing: error)) "
            + "fields=\(fields) framing=\(partial.framing(limits: limits)) usual=\(String(describing: partial.usualFraming(maxBodyLength: limits.maxBodyLength))) "
            + "keepAlive=\(partial.keepAlive) continue=\(partial.expectsContinue)"
    }

    @Test func generatedHeadsReadAsSessionTwentySixReadThem() {
        var random = SplitMix64(seed: 0x33D1FF)
        let limitSets = [
            HTTPHeadOutcomeCorpusTests.limits,
            HTTPRequestLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 160, maxHeaderCount: 8, maxBodyLength: 64),
            HTTPRequestLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 60, maxHeaderCount: 3, maxBodyLength: 64),
            HTTPRequestLimits(),
        ]
        var mismatches: [String] = []
        var usualRead = 0
        for iteration in 0..<40_000 {
            let head = WholeHeadDifferentialTests.head(&random)
            let limits = limitSets[iteration % limitSets.count]
            let actual = Self.outcome(head, limits: limits, reference: false)
            let expected = Self.outcome(head, limits: limits, reference: true)
            if actual != expected {
                mismatches.append("\(String(decoding: head, as: UTF8.self).debugDescription): \(actual) instead of \(expected)")
            }
            if actual.contains("fields=[\""), !actual.contains("fault=Optional") { usualRead += 1 }
        }
        #expect(usualRead > 5_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(5))")
    }
}
