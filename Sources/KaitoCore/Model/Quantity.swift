/// A Kubernetes resource quantity such as `7.12Gi`, `87Gi` or `500m`, kept with its original text.
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value in base units (bytes for memory and storage).
    public var value: Double
    /// The text as written.
    public var text: String

    private static let binary: [String: Double] = [
        "Ki": 1024, "Mi": 1_048_576, "Gi": 1_073_741_824, "Ti": 1_099_511_627_776,
        "Pi": 1_125_899_906_842_624, "Ei": 1_152_921_504_606_846_976,
    ]
    private static let decimal: [String: Double] = [
        "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    ]

    /// Parses a quantity; returns `nil` when the text is not a Kubernetes quantity.
    public init?(_ text: String) {
        let trimmed = text
        guard !trimmed.isEmpty else { return nil }
        let scalars = Array(trimmed.unicodeScalars)
        var numberEnd = 0
        if numberEnd < scalars.count, scalars[numberEnd] == "+" || scalars[numberEnd] == "-" { numberEnd += 1 }
        var digits = 0
        var sawDot = false
        while numberEnd < scalars.count {
            let c = scalars[numberEnd]
            if c.properties.numericType != nil, c.isASCII {
                digits += 1
            } else if c == ".", !sawDot {
                sawDot = true
            } else {
                break
            }
            numberEnd += 1
        }
        guard digits > 0 else { return nil }
        let numberText = String(String.UnicodeScalarView(scalars[0..<numberEnd]))
        let suffix = String(String.UnicodeScalarView(scalars[numberEnd...]))
        guard let number = Double(numberText) else { return nil }
        if let factor = Self.binary[suffix] ?? Self.decimal[suffix] {
            self.value = number * factor
        } else if let first = suffix.first, first == "e" || first == "E",
            let exponent = Int(suffix.dropFirst()), abs(exponent) < 30
        {
            var v = number
            for _ in 0..<abs(exponent) { v = exponent > 0 ? v * 10 : v / 10 }
            self.value = v
        } else {
            return nil
        }
        self.text = text
    }

    /// Creates a quantity from a number of bytes, written in whole `Gi`.
    public init(gibibytes: Double) {
        self.value = gibibytes * 1_073_741_824
        self.text = Self.formatGi(gibibytes)
    }

    /// The value in GiB.
    public var gibibytes: Double { value / 1_073_741_824 }

    /// The text as written.
    public var description: String { text }

    /// The value printed as Kaito prints sizes in messages: two decimals and `Gi` (Go's `%.2fGi`).
    public var formattedGi: String { Self.formatFixed(gibibytes, decimals: 2) + "Gi" }

    /// Formats whole or fractional GiB without trailing zeros (`16Gi`, `7.5Gi`).
    static func formatGi(_ gib: Double) -> String {
        // Whole values print as integers while they are exact in an Int (a hostile `count` multiplies past it).
        if gib == gib.rounded(), abs(gib) < 9e15 { return "\(Int(gib))Gi" }
        return "\(gib)Gi"
    }

    /// Formats a non-negative number with a fixed number of decimals, rounding half away from zero.
    static func formatFixed(_ x: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = x < 0
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        var fractionText = String(fraction)
        while fractionText.count < decimals { fractionText = "0" + fractionText }
        return (negative ? "-" : "") + (decimals > 0 ? "\(whole).\(fractionText)" : "\(whole)")
    }

    /// Orders by value.
    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value < rhs.value }
    /// Equal values.
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value == rhs.value }
    /// Hashes the value.
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
