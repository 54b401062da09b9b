/// Resolves plain scalars to types: the YAML 1.2 core schema plus the YAML 1.1 forms that Kubernetes' decoders (and
/// many other tools) still read as booleans, numbers or null.
///
/// Conservative on purpose: the emitter quotes any string that some common parser might read as another type.
enum ScalarResolver {
    static func resolve(_ text: String) -> ScalarType {
        // Fast path: most strings start with a letter that no special form starts with.
        if let first = text.utf8.first,
            (first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z"))
                || (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z"))
        {
            switch first {
            case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"),
                UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"):
                break
            default:
                return .string
            }
        }
        switch text {
        case "", "~", "null", "Null", "NULL":
            return .null
        case "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
            "NO",
            "on", "On", "ON", "off", "Off", "OFF":
            return .bool
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            return .float
        default:
            break
        }
        let scalars = Array(text.unicodeScalars)
        if isInteger(scalars) { return .int }
        if isFloat(scalars) { return .float }
        return .string
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    private static func isInteger(_ s: [Unicode.Scalar]) -> Bool {
        var body = s[...]
        if let first = body.first, first == "+" || first == "-" { body = body.dropFirst() }
        guard !body.isEmpty else { return false }
        let text = String(String.UnicodeScalarView(body))
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let digits = body.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy { $0.properties.isASCIIHexDigit || $0 == "_" }
        }
        if text.hasPrefix("0o") || text.hasPrefix("0b") {
            let digits = body.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy { isDigit($0) || $0 == "_" }
        }
        // Decimal with YAML 1.1 underscores, and sexagesimal (190:20:30).
        guard let first = body.first, isDigit(first) else { return false }
        if body.contains(":") {
            return body.allSatisfy { isDigit($0) || $0 == ":" || $0 == "_" } && body.last != ":"
        }
        return body.allSatisfy { isDigit($0) || $0 == "_" }
    }

    private static func isFloat(_ s: [Unicode.Scalar]) -> Bool {
        var body = s[...]
        if let first = body.first, first == "+" || first == "-" { body = body.dropFirst() }
        guard !body.isEmpty else { return false }
        var digitsBefore = 0
        var digitsAfter = 0
        var index = body.startIndex
        while index < body.endIndex, isDigit(body[index]) || body[index] == "_" {
            if isDigit(body[index]) { digitsBefore += 1 }
            index += 1
        }
        var sawDot = false
        if index < body.endIndex, body[index] == "." {
            sawDot = true
            index += 1
            while index < body.endIndex, isDigit(body[index]) || body[index] == "_" {
                if isDigit(body[index]) { digitsAfter += 1 }
                index += 1
            }
        }
        guard digitsBefore + digitsAfter > 0 else { return false }
        if index < body.endIndex, body[index] == "e" || body[index] == "E" {
            index += 1
            if index < body.endIndex, body[index] == "+" || body[index] == "-" { index += 1 }
            var exponentDigits = 0
            while index < body.endIndex, isDigit(body[index]) {
                exponentDigits += 1
                index += 1
            }
            guard exponentDigits > 0 else { return false }
            return index == body.endIndex
        }
        if index < body.endIndex, body[index] == ":" {
            // YAML 1.1 sexagesimal float (190:20:30.15).
            return body.allSatisfy { isDigit($0) || $0 == ":" || $0 == "." || $0 == "_" }
        }
        return index == body.endIndex && (sawDot || digitsBefore > 0)
    }

    /// Whether some common parser might read this plain text as something other than a string: numbers with several
    /// dots (`0.0.1`) are strings in every schema but are quoted anyway, like versions in real manifests.
    static func looksNonString(_ text: String) -> Bool {
        if resolve(text) != .string { return true }
        guard let firstByte = text.utf8.first,
            (firstByte >= UInt8(ascii: "0") && firstByte <= UInt8(ascii: "9")) || firstByte == UInt8(ascii: ".")
                || firstByte == UInt8(ascii: "+") || firstByte == UInt8(ascii: "-")
        else { return false }
        let scalars = Array(text.unicodeScalars)
        if let first = scalars.first, isDigit(first) || first == "." || first == "+" || first == "-" {
            return scalars.allSatisfy { isDigit($0) || $0 == "." || $0 == "_" || $0 == ":" || $0 == "+" || $0 == "-" }
        }
        return false
    }
}
