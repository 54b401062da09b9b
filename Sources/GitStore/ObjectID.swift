internal import CGit2

/// A git object id (SHA-1).
public struct ObjectID: Hashable, Sendable, CustomStringConvertible {
    /// The 20 raw bytes.
    public var bytes: [UInt8]

    init(_ oid: git_oid) {
        var copy = oid
        bytes = withUnsafeBytes(of: &copy.id) { Array($0) }
    }

    /// Parses 40 hex digits (either case).
    public init?(hex: String) {
        var result: [UInt8] = []
        result.reserveCapacity(20)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                guard result.count < 20 else { return nil }
                result.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard result.count == 20, high == nil else { return nil }
        bytes = result
    }

    var raw: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { buffer in
            for (i, byte) in bytes.enumerated() where i < buffer.count { buffer[i] = byte }
        }
        return oid
    }

    /// The 40 hex digits.
    public var description: String {
        bytes.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// The first 7 hex digits.
    public var short: String { String(description.prefix(7)) }
}
