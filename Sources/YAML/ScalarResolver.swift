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
        // Every remaining form is ASCII, so bytes decide (a byte of a multi-byte scalar matches no class below).
        var text = text
        return text.withUTF8 { bytes in
            if isInteger(bytes[...]) { return .int }
            if isFloat(bytes[...]) { return .float }
            return .string
        }
    }

    private typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
            || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }

    private static func dropSign(_ s: Bytes) -> Bytes {
        if let first = s.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { return s.dropFirst() }
        return s
    }

    private static func isInteger(_ s: Bytes) -> Bool {
        let body = dropSign(s)
        guard let first = body.first else { return false }
        let second = body.dropFirst().first
        let underscore = UInt8(ascii: "_")
        if first == UInt8(ascii: "0"), second == UInt8(ascii: "x") || second == UInt8(ascii: "X") {
            let digits = body.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy { isHexDigit($0) || $0 == underscore }
        }
        if first == UInt8(ascii: "0"), second == UInt8(ascii: "o") || second == UInt8(ascii: "b") {
            let digits = body.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy { isDigit($0) || $0 == underscore }
        }
        // Decimal with YAML 1.1 underscores, and sexagesimal (190:20:30).
        guard isDigit(first) else { return false }
        let colon = UInt8(ascii: ":")
        if body.contains(colon) {
            return body.allSatisfy { isDigit($0) || $0 == colon || $0 == underscore } && body.last != colon
        }
        return body.allSatisfy { isDigit($0) || $0 == underscore }
    }

    private static func isFloat(_ s: Bytes) -> Bool {
        let body = dropSign(s)
        guard !body.isEmpty else { return false }
        let underscore = UInt8(ascii: "_")
        var digitsBefore = 0
        var digitsAfter = 0
        var index = body.startIndex
        while index < body.endIndex, isDigit(body[index]) || body[index] == underscore {
            if isDigit(body[index]) { digitsBefore += 1 }
            index += 1
        }
        var sawDot = false
        if index < body.endIndex, body[index] == UInt8(ascii: ".") {
            sawDot = true
            index += 1
            while index < body.endIndex, isDigit(body[index]) || body[index] == underscore {
                if isDigit(body[index]) { digitsAfter += 1 }
                index += 1
            }
        }
        guard digitsBefore + digitsAfter > 0 else { return false }
        if index < body.endIndex, body[index] == UInt8(ascii: "e") || body[index] == UInt8(ascii: "E") {
            index += 1
            if index < body.endIndex, body[index] == UInt8(ascii: "+") || body[index] == UInt8(ascii: "-") {
                index += 1
            }
            var exponentDigits = 0
            while index < body.endIndex, isDigit(body[index]) {
                exponentDigits += 1
                index += 1
            }
            guard exponentDigits > 0 else { return false }
            return index == body.endIndex
        }
        if index < body.endIndex, body[index] == UInt8(ascii: ":") {
            // YAML 1.1 sexagesimal float (190:20:30.15).
            return body.allSatisfy {
                isDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || $0 == underscore
            }
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
        return text.utf8.allSatisfy { byte in
            isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
        }
    }
}
