// MARK: - Formatting without Foundation

/// `value` rounded, with thousands separators (`decimals == 0`) or a fixed number of decimals.
public func format(_ value: Double, decimals: Int = 0) -> String {
    guard value.isFinite else { return "-" }
    if decimals == 0 {
        let digits = String(Int(value.rounded()))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 && character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(abs(scaled % Int(scale)))
    return "\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}

public func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

public func leftPad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
