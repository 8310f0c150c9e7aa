@testable import LockdHTTP

extension PartialHead {
    /// Session 26's loop over a head's plain field lines (main 7274b5e's
    /// ``PartialHead/addPlainFieldLines(_:from:sectionLength:maxSection:maxCount:fault:faultLine:)``),
    /// kept as the reference: every line read by the one-pass line
    /// (``PartialHead/addPlainFieldLine(_:from:limit:maxCount:fault:)``),
    /// none by ``PartialHead/usualFieldLine(_:from:limit:)``.
    mutating func referenceAddPlainFieldLines(
        _ input: UnsafeRawBufferPointer, from start: Int, sectionLength: inout Int, maxSection: Int, maxCount: Int,
        fault: inout FieldFault?, faultLine: inout Int
    ) -> Int {
        var offset = start
        while offset < input.count, input[offset] != HTTPSyntax.cr {
            guard let end = addPlainFieldLine(
                input, from: offset, limit: maxSection &- sectionLength &- 2, maxCount: maxCount, fault: &fault)
            else { break }
            sectionLength &+= end &- offset &+ 2
            if fault != nil {
                faultLine = offset
                return end &+ 2
            }
            offset = end &+ 2
        }
        return offset
    }
}
