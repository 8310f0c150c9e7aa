extension Duration {
    /// Whole milliseconds, rounded toward zero and clamped to `Int`, as the wire wants them.
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = millis.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflowAgain { return seconds < 0 ? .min : .max }
        return Int(total)
    }
}
