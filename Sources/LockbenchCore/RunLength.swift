/// Parses a run length such as `30`, `30s`, `1500ms` or `2m` into seconds.
///
/// ```swift
/// RunLength.seconds(from: "2m")    // 120
/// RunLength.seconds(from: "soon")  // nil
/// ```
public enum RunLength {
    /// The length in seconds, or nil when `text` is not a positive number
    /// with an optional `ms`, `s` or `m` unit.
    public static func seconds(from text: String) -> Double? {
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = Substring(text)
        var scale = 1.0
        if let unit = units.first(where: { text.hasSuffix($0.suffix) }) {
            number = number.dropLast(unit.suffix.count)
            scale = unit.scale
        }
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        return value * scale
    }
}
