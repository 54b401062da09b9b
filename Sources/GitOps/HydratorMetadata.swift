internal import Foundation
public import GitStore

/// Argo CD's source hydrator bookkeeping, written by `kaitoc commit --branch` so that Argo CD, its UI and GitOps
/// Promoter read kaitoc's rendered commits as hydrated ones (docs/reference/argocd-hydrator.md).
///
/// The files are byte-for-byte what Argo CD's commit server writes (`commitserver/commit/hydratorhelper.go`,
/// `util/hydrator/hydrator.go`): Go's `encoding/json` with two-space indentation, HTML escaping off, fields in the
/// order of Argo's structs, empty fields left out, a final newline.
public enum HydratorMetadata {
    /// The file name, at the root of the rendered tree and beside each target's manifests.
    public static let fileName = "hydrator.metadata"
    /// The git notes reference of the hydration state: a note `{"drySha":"…"}` on each hydrated commit.
    public static let notesRef = "refs/notes/hydrator.metadata"

    /// A commit related to the dry commit, from its `Argocd-reference-commit-*` trailers (Argo CD's `CommitMetadata`).
    public struct Reference: Sendable, Equatable {
        /// `"Name" <email>` as Go's `mail.Address.String()` writes it.
        public var author = ""
        /// RFC 3339.
        public var date = ""
        /// The subject line.
        public var subject = ""
        /// The body (decoded from the trailer's JSON string).
        public var body = ""
        /// The commit hash (5 to 40 lowercase hex digits).
        public var sha = ""
        /// The repository URL.
        public var repoURL = ""

        var isEmpty: Bool { self == Reference() }
    }

    /// The facts of the dry (source) commit.
    public struct DryCommit: Sendable, Equatable {
        /// The dry commit's full hash.
        public var sha: String
        /// `Name <email>` of its author.
        public var author: String
        /// Its author date, RFC 3339 in UTC.
        public var date: String
        /// The first paragraph of the message.
        public var subject: String
        /// The rest of the message without the recognised trailers.
        public var body: String
        /// The related commit named by its trailers, if any.
        public var reference: Reference?

        /// The facts of a commit, its message parsed as Argo CD parses it (`GetCommitMetadata`, `GetReferences`).
        public init(_ commit: CommitInfo) {
            sha = commit.id.description
            author = "\(commit.author.name) <\(commit.author.email)>"
            date = HydratorMetadata.rfc3339UTC(seconds: commit.author.time)
            let message = commit.message.trimmingCharacters(in: .whitespacesAndNewlines)
            if let range = message.range(of: "\n\n") {
                subject = String(message[..<range.lowerBound])
                (reference, body) = HydratorMetadata.references(in: String(message[range.upperBound...]))
            } else {
                subject = message
                body = ""
                reference = nil
            }
        }
    }

    /// The root `hydrator.metadata`: `repoURL`, `drySha`, `author`, `date`, `subject`, `body`, `references`.
    public static func root(repoURL: String, dry: DryCommit) -> String {
        var fields: [(String, GoJSON)] = []
        if !repoURL.isEmpty { fields.append(("repoURL", .string(repoURL))) }
        fields.append(("drySha", .string(dry.sha)))
        if !dry.author.isEmpty { fields.append(("author", .string(dry.author))) }
        if !dry.date.isEmpty { fields.append(("date", .string(dry.date))) }
        if !dry.subject.isEmpty { fields.append(("subject", .string(dry.subject))) }
        if !dry.body.isEmpty { fields.append(("body", .string(dry.body))) }
        if let reference = dry.reference, !reference.isEmpty {
            var commit: [(String, GoJSON)] = []
            for (key, value) in [
                ("author", reference.author), ("date", reference.date), ("subject", reference.subject),
                ("body", reference.body), ("sha", reference.sha), ("repoUrl", reference.repoURL),
            ] where !value.isEmpty {
                commit.append((key, .string(value)))
            }
            fields.append(("references", .array([.object([("commit", .object(commit))])])))
        }
        return GoJSON.object(fields).rendered(indent: "") + "\n"
    }

    /// A path's `hydrator.metadata`: `repoURL`, `drySha` and the `commands` that reproduce its manifests.
    public static func path(repoURL: String, drySha: String, commands: [String]) -> String {
        var fields: [(String, GoJSON)] = []
        if !repoURL.isEmpty { fields.append(("repoURL", .string(repoURL))) }
        fields.append(("drySha", .string(drySha)))
        if !commands.isEmpty { fields.append(("commands", .array(commands.map(GoJSON.string)))) }
        return GoJSON.object(fields).rendered(indent: "") + "\n"
    }

    /// The note on a hydrated commit: `{"drySha":"…"}` (Go's `json.Marshal`, no newline).
    public static func note(drySha: String) -> String {
        "{\"drySha\":\(GoJSON.quoted(drySha))}"
    }

    // MARK: Trailers (Argo CD util/git/client.go GetReferences)

    /// The reference named by the valid `Argocd-reference-commit-*` lines of a message body (a later line wins), and
    /// the body without those lines (every remaining line ends with a newline, as Argo CD writes it).
    static func references(in body: String) -> (Reference?, String) {
        var reference = Reference()
        var kept = ""
        // bufio.Scanner's lines: no empty token after a final newline, a trailing CR dropped.
        // Split on scalars: "\r\n" is one Character in Swift.
        var lines = body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        for var scalars in lines {
            if scalars.last == "\r" { scalars = scalars.dropLast() }
            let line = String(String.UnicodeScalarView(scalars))
            if !apply(line, to: &reference) { kept += line + "\n" }
        }
        return (reference.isEmpty ? nil : reference, kept)
    }

    /// Applies one trailer line; `false` when it is not a valid `Argocd-reference-commit-*` trailer.
    static func apply(_ line: String, to reference: inout Reference) -> Bool {
        guard line.hasPrefix("Argocd-reference-commit-"), let separator = line.range(of: ": ") else { return false }
        let key = String(line[..<separator.lowerBound])
        let value = String(line[separator.upperBound...])
        switch key {
        case "Argocd-reference-commit-repourl":
            guard isParsableURL(value) else { return false }
            reference.repoURL = value
        case "Argocd-reference-commit-author":
            guard let address = MailAddress(parsing: value) else { return false }
            reference.author = address.description
        case "Argocd-reference-commit-date":
            guard let date = normalizedRFC3339(value) else { return false }
            reference.date = date
        case "Argocd-reference-commit-subject":
            reference.subject = value
        case "Argocd-reference-commit-body":
            guard let data = value.data(using: .utf8),
                let decoded = try? JSONDecoder().decode(String.self, from: data)
            else { return false }
            reference.body = decoded
        case "Argocd-reference-commit-sha":
            guard (5...40).contains(value.utf8.count), value.utf8.allSatisfy({ hexDigits.contains($0) }) else {
                return false
            }
            reference.sha = value
        default:
            return false
        }
        return true
    }

    static let hexDigits = Set("0123456789abcdef".utf8)

    /// Go's `url.Parse` rejects control characters and malformed `%` escapes.
    static func isParsableURL(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x20 || b == 0x7F { return false }
            if b == UInt8(ascii: "%") {
                let isHex: (UInt8) -> Bool = { hexDigits.contains($0) || (0x41...0x46).contains($0) }
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return false }
                i += 2
            }
            i += 1
        }
        return true
    }

    /// An RFC 3339 date as Go's `time.Parse(time.RFC3339, …)` then `Format(time.RFC3339)` leaves it: fractional
    /// seconds dropped, a zero offset written `Z`; `nil` when it does not parse.
    static func normalizedRFC3339(_ value: String) -> String? {
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/#
        guard let m = value.wholeMatch(of: pattern),
            let year = Int(m.1), let month = Int(m.2), let day = Int(m.3),
            let hour = Int(m.4), let minute = Int(m.5), let second = Int(m.6)
        else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[month - 1]).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var offset = String(m.8)
        if offset != "Z" {
            guard let h = Int(offset.dropFirst().prefix(2)), let mm = Int(offset.suffix(2)), h < 24, mm < 60 else {
                return nil
            }
            if h == 0 && mm == 0 { offset = "Z" }
        }
        return "\(m.1)-\(m.2)-\(m.3)T\(m.4):\(m.5):\(m.6)\(offset)"
    }

    /// Seconds since 1970 as RFC 3339 in UTC (`2026-12-03T08:00:00Z`).
    static func rfc3339UTC(seconds: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(seconds))
        )
        func two(_ v: Int?) -> String { v.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        let year = String(c.year ?? 1970)
        let paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        return "\(paddedYear)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))Z"
    }
}

/// An email address as Go's `net/mail` parses (`ParseAddress`) and prints (`Address.String()`) it, for the forms
/// commit trailers use: `Name <user@host>`, `"Name" <user@host>`, `<user@host>` and `user@host`.
struct MailAddress: CustomStringConvertible {
    var name: String
    var address: String

    init?(parsing text: String) {
        let value = text.trimmingCharacters(in: .whitespaces)
        if value.hasSuffix(">"), let open = value.lastIndex(of: "<") {
            var display = value[..<open].trimmingCharacters(in: .whitespaces)
            if display.hasPrefix("\""), display.hasSuffix("\""), display.count >= 2 {
                var unquoted = ""
                var escaped = false
                for c in display.dropFirst().dropLast() {
                    if escaped {
                        unquoted.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        return nil
                    } else {
                        unquoted.append(c)
                    }
                }
                display = unquoted
            } else if display.contains(where: { "<>\"@,;:\\[]()".contains($0) }) {
                return nil
            }
            name = display
            address = String(value[value.index(after: open)..<value.index(before: value.endIndex)])
        } else {
            name = ""
            address = value
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !address.contains(where: { $0.isWhitespace || "<>\"(),;:\\[]".contains($0) })
        else { return nil }
    }

    /// Go's `Address.String()`: a printable ASCII name in quotes (with `\` and `"` escaped), any other name in
    /// RFC 2047 Q-encoding.
    var description: String {
        let angle = "<\(address)>"
        guard !name.isEmpty else { return angle }
        let printable = name.unicodeScalars.allSatisfy {
            ($0.value >= 0x21 && $0.value <= 0x7E) || $0 == " " || $0 == "\t"
        }
        if printable {
            var quoted = "\""
            for c in name {
                if c == "\\" || c == "\"" { quoted.append("\\") }
                quoted.append(c)
            }
            return quoted + "\" " + angle
        }
        var encoded = "=?utf-8?q?"
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: " "): encoded += "_"
            case 0x21...0x7E where byte != UInt8(ascii: "=") && byte != UInt8(ascii: "?") && byte != UInt8(ascii: "_"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "=" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded + "?= " + angle
    }
}

/// JSON as Go's `encoding/json` encoder writes it with `SetIndent("", "  ")` and `SetEscapeHTML(false)`: keys in the
/// given order, `"key": value`, two spaces per level.
indirect enum GoJSON {
    case string(String)
    case array([GoJSON])
    case object([(String, GoJSON)])

    func rendered(indent: String) -> String {
        switch self {
        case .string(let s):
            return Self.quoted(s)
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            let inner = indent + "  "
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            let inner = indent + "  "
            let lines = fields.map { inner + Self.quoted($0.0) + ": " + $0.1.rendered(indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
        }
    }

    /// A Go JSON string: `"` and `\` escaped, `\n \r \t \b \f` short, other control characters `\u00xx`, U+2028 and
    /// U+2029 escaped; `<`, `>` and `&` kept (HTML escaping off).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
