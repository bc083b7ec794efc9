/// Serializes ``JSONValue``s compactly.
///
/// With ``Escaping/php`` (the default) the output matches what PHP's `json_encode` writes
/// with default flags: `/` as `\/` and every non-ASCII character as `\uXXXX`.
public enum JSONWriter {
    /// How strings are escaped.
    public enum Escaping: Sendable {
        /// PHP's defaults: pure ASCII output.
        case php
        /// Minimal RFC 8259 escaping, raw UTF-8 kept.
        case minimal
    }

    /// Encodes a value to bytes.
    public static func encode(_ value: JSONValue, escaping: Escaping = .php) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, escaping: escaping, to: &output)
        return output
    }

    /// Appends the encoding of `value` to `output`.
    public static func write(_ value: JSONValue, escaping: Escaping = .php, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, escaping: escaping, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, escaping: escaping, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, escaping: escaping, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, escaping: escaping, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Appends a JSON string literal.
    public static func writeString(_ text: String, escaping: Escaping = .php, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output.append(contentsOf: #"\""#.utf8)
            case "\\": output.append(contentsOf: #"\\"#.utf8)
            case "/" where escaping == .php: output.append(contentsOf: #"\/"#.utf8)
            case "\n": output.append(contentsOf: #"\n"#.utf8)
            case "\r": output.append(contentsOf: #"\r"#.utf8)
            case "\t": output.append(contentsOf: #"\t"#.utf8)
            case "\u{08}": output.append(contentsOf: #"\b"#.utf8)
            case "\u{0C}": output.append(contentsOf: #"\f"#.utf8)
            default:
                if scalar.value < 0x20 || (escaping == .php && scalar.value >= 0x80) {
                    for unit in String(scalar).utf16 { appendEscape(unit, to: &output) }
                } else {
                    output.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(_ unit: UInt16, to output: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        output.append(contentsOf: #"\u"#.utf8)
        output.append(digits[Int(unit >> 12 & 0xF)])
        output.append(digits[Int(unit >> 8 & 0xF)])
        output.append(digits[Int(unit >> 4 & 0xF)])
        output.append(digits[Int(unit & 0xF)])
    }
}
