internal import Foundation

/// Python's string, list and dict methods on template values.
extension TemplateRenderer {
    mutating func method(
        _ base: TemplateValue,
        _ name: String,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair]
    ) throws(TemplateError) -> TemplateValue {
        func arg(_ position: Int, _ key: String, _ defaultValue: TemplateValue = .undefined) -> TemplateValue {
            Self.argument(args, named, position, key, defaultValue)
        }
        func string(_ position: Int, _ key: String) throws(TemplateError) -> String {
            guard case .string(let s) = arg(position, key) else {
                throw TemplateError(.type, "\(name)() argument must be str, not \(typeName(arg(position, key)))")
            }
            return s
        }
        func optionalString(_ position: Int, _ key: String) throws(TemplateError) -> String? {
            let v = arg(position, key, .none)
            if v == .none { return nil }
            return try string(position, key)
        }
        switch base {
        case .string(let s):
            switch name {
            case "strip", "lstrip", "rstrip":
                return .string(TemplateBuiltins.strip(s, try optionalString(0, "chars"), name))
            case "split", "rsplit":
                let limit = Self.integer(arg(1, "maxsplit", .int(-1))) ?? -1
                let separator = try optionalString(0, "sep")
                if separator == "" { throw TemplateError(.type, "empty separator") }
                return .list(
                    TemplateBuiltins.split(s, separator, limit: limit, fromRight: name == "rsplit").map { .string($0) }
                )
            case "splitlines":
                return .list(TemplateBuiltins.splitLines(s).map { .string($0) })
            case "startswith", "endswith":
                var candidates: [TemplateValue] = [arg(0, "prefix")]
                if let tuple = candidates[0].sequence { candidates = tuple }
                var scalars = Array(s.unicodeScalars)
                if let start = Self.integer(arg(1, "start", .none)) {
                    scalars = Array(scalars[min(scalars.count, start < 0 ? max(0, scalars.count + start) : start)...])
                }
                for c in candidates {
                    guard case .string(let p) = c else {
                        throw TemplateError(.type, "\(name) first arg must be str or a tuple of str")
                    }
                    let pattern = Array(p.unicodeScalars)
                    if name == "startswith"
                        ? scalars.starts(with: pattern) : scalars.reversed().starts(with: pattern.reversed())
                    {
                        return .bool(true)
                    }
                }
                return .bool(false)
            case "upper": return .string(s.uppercased())
            case "lower", "casefold": return .string(s.lowercased())
            case "title": return .string(TemplateBuiltins.pythonTitle(s))
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "swapcase":
                return .string(
                    String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) })
                )
            case "replace":
                let count = Self.integer(arg(2, "count", .int(-1))) ?? -1
                return .string(
                    TemplateBuiltins.replace(
                        s,
                        try string(0, "old"),
                        try string(1, "new"),
                        count: count < 0 ? nil : count
                    )
                )
            case "find", "rfind", "index", "rindex":
                let needle = Array(try string(0, "sub").unicodeScalars)
                let hay = Array(s.unicodeScalars)
                var found = -1
                if needle.count <= hay.count {
                    let positions = Array(0...(hay.count - needle.count))
                    for i in name.hasPrefix("r") ? positions.reversed() : positions
                    where Array(hay[i..<(i + needle.count)]) == needle {
                        found = i
                        break
                    }
                }
                if found < 0, name.hasSuffix("index") { throw TemplateError(.type, "substring not found") }
                return .int(found)
            case "count":
                let needle = try string(0, "sub")
                if needle.isEmpty { return .int(s.unicodeScalars.count + 1) }
                return .int(TemplateBuiltins.split(s, needle, limit: -1, fromRight: false).count - 1)
            case "join":
                var parts: [String] = []
                for item in try iterate(arg(0, "iterable")) {
                    guard case .string(let p) = item else {
                        throw TemplateError(.type, "sequence item: expected str instance, \(typeName(item)) found")
                    }
                    parts.append(p)
                }
                return .string(parts.joined(separator: s))
            case "format": return .string(try TemplateBuiltins.braceFormat(s, args, named, self))
            case "isdigit", "isnumeric", "isdecimal":
                return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
            case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
            case "isalnum":
                return .bool(
                    !s.isEmpty
                        && s.unicodeScalars.allSatisfy {
                            $0.properties.isAlphabetic || $0.properties.numericType != nil
                        }
                )
            case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(TemplateBuiltins.isSpace))
            case "isupper", "islower":
                let cased = s.unicodeScalars.filter { $0.properties.isCased }
                guard !cased.isEmpty else { return .bool(false) }
                return .bool(name == "isupper" ? s == s.uppercased() : s == s.lowercased())
            case "istitle": return .bool(!s.isEmpty && s == TemplateBuiltins.pythonTitle(s))
            case "zfill":
                let width = Self.integer(arg(0, "width")) ?? 0
                var digits = s
                var sign = ""
                if let f = digits.first, f == "-" || f == "+" {
                    sign = String(f)
                    digits.removeFirst()
                }
                let padding = max(0, width - s.unicodeScalars.count)
                return .string(sign + String(repeating: "0", count: padding) + digits)
            case "center", "ljust", "rjust":
                let width = Self.integer(arg(0, "width")) ?? 0
                let fill = try optionalString(1, "fillchar") ?? " "
                let align = name == "center" ? "^" : name == "ljust" ? "<" : ">"
                return .string(TemplateBuiltins.pad(s, width: width, align: align, fill: fill))
            case "partition", "rpartition":
                let separator = try string(0, "sep")
                let parts = TemplateBuiltins.split(s, separator, limit: 1, fromRight: name == "rpartition")
                if parts.count == 2 { return .tuple([.string(parts[0]), .string(separator), .string(parts[1])]) }
                return name == "partition"
                    ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)])
            case "removeprefix":
                let p = try string(0, "prefix")
                return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s)
            case "removesuffix":
                let p = try string(0, "suffix")
                return .string(s.hasSuffix(p) && !p.isEmpty ? String(s.dropLast(p.count)) : s)
            default: break
            }
        case .dict(let pairs):
            switch name {
            case "items": return .list(pairs.map { .tuple([$0.keyValue, $0.value]) })
            case "keys": return .list(pairs.map(\.keyValue))
            case "values": return .list(pairs.map(\.value))
            case "get":
                return Self.lookup(pairs, arg(0, "key")) ?? arg(1, "default", .none)
            case "copy": return base
            default:
                throw TemplateError(.security, "access to attribute '\(name)' of 'dict' object is unsafe.")
            }
        case .list(let items):
            switch name {
            case "index":
                guard let i = items.firstIndex(where: { Self.equal($0, arg(0, "value")) }) else {
                    throw TemplateError(.type, "\(arg(0, "value").repr) is not in list")
                }
                return .int(i)
            case "count": return .int(items.filter { Self.equal($0, arg(0, "value")) }.count)
            case "copy": return base
            default:
                throw TemplateError(.security, "access to attribute '\(name)' of 'list' object is unsafe.")
            }
        case .object(let o):
            if case .tuple(let items) = o.kind {
                if name == "count" { return .int(items.filter { Self.equal($0, arg(0, "value")) }.count) }
                if name == "index", let i = items.firstIndex(where: { Self.equal($0, arg(0, "value")) }) {
                    return .int(i)
                }
            }
        default: break
        }
        throw TemplateError(.type, "'\(typeName(base))' object has no callable attribute '\(name)'")
    }
}

/// Python's text functions as chat templates use them: whitespace, split, title case, `%` and `str.format`
/// formatting, `strftime`, and `json.dumps`.
enum TemplateBuiltins {
    /// Python's `str.isspace` for one code point.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    static func strip(_ s: String, _ chars: String?, _ mode: String) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? isSpace($0) }
        var scalars = Substring(s).unicodeScalars[...]
        if mode != "rstrip" { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if mode != "lstrip" { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Python's `str.split` / `str.rsplit`: on a separator, or on whitespace runs when it is `nil`.
    static func split(_ s: String, _ separator: String?, limit: Int, fromRight: Bool) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func text(_ r: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(r)) }
        guard let separator else {
            var words: [ArraySlice<Unicode.Scalar>] = []
            var i = 0
            var splits = 0
            let source = fromRight ? Array(scalars.reversed()) : scalars
            while i < source.count {
                while i < source.count, isSpace(source[i]) { i += 1 }
                guard i < source.count else { break }
                if limit >= 0, splits == limit {
                    var end = source.count
                    while end > i, isSpace(source[end - 1]) { end -= 1 }
                    words.append(source[i..<end])
                    break
                }
                let start = i
                while i < source.count, !isSpace(source[i]) { i += 1 }
                words.append(source[start..<i])
                splits += 1
            }
            return fromRight ? words.reversed().map { text(ArraySlice($0.reversed())) } : words.map(text)
        }
        let pattern = Array(separator.unicodeScalars)
        var positions: [Int] = []
        var i = 0
        while i + pattern.count <= scalars.count {
            if Array(scalars[i..<(i + pattern.count)]) == pattern {
                positions.append(i)
                i += pattern.count
            } else {
                i += 1
            }
        }
        if limit >= 0, positions.count > limit {
            positions = fromRight ? Array(positions.suffix(limit)) : Array(positions.prefix(limit))
        }
        var parts: [String] = []
        var start = 0
        for p in positions {
            parts.append(text(scalars[start..<p]))
            start = p + pattern.count
        }
        parts.append(text(scalars[start...]))
        return parts
    }

    /// Python's `str.splitlines()` (without the line ends).
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        let breaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
        var previousCR = false
        for c in s.unicodeScalars {
            if c == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = c == "\r"
            if breaks.contains(c.value) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        if old.isEmpty {
            var out = ""
            var n = 0
            for c in s.unicodeScalars {
                if count.map({ n < $0 }) ?? true {
                    out += new
                    n += 1
                }
                out.unicodeScalars.append(c)
            }
            if count.map({ n < $0 }) ?? true { out += new }
            return out
        }
        let parts = split(s, old, limit: count ?? -1, fromRight: false)
        return parts.joined(separator: new)
    }

    /// Python's `str.title()`: a cased letter after an uncased character starts a word.
    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            let cased = c.properties.isCased
            let piece = String(c)
            out += cased ? (previousCased ? piece.lowercased() : piece.uppercased()) : piece
            previousCased = cased || c.properties.isCaseIgnorable && previousCased && c.properties.isCased
        }
        return out
    }

    /// jinja2's `title` filter: words split at whitespace, `-`, `(`, `{`, `[`, `<`; each capitalized.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var word = ""
        let separators: Set<Character> = ["-", "(", "{", "[", "<"]
        func flush() {
            if !word.isEmpty { out += word.prefix(1).uppercased() + word.dropFirst().lowercased() }
            word = ""
        }
        for c in s {
            if c.isWhitespace || separators.contains(c) {
                flush()
                out.append(c)
            } else {
                word.append(c)
            }
        }
        flush()
        return out
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func pad(_ s: String, width: Int, align: String, fill: String) -> String {
        let count = s.unicodeScalars.count
        guard width > count else { return s }
        let total = width - count
        switch align {
        case "<": return s + String(repeating: fill, count: total)
        case ">": return String(repeating: fill, count: total) + s
        default:
            // Python's str.center puts the extra character on the left when the total and the width are odd.
            let left = total / 2 + (total & width & 1)
            return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
        }
    }

    /// Python's `format % args` for the conversions templates use (`s`, `r`, `d`, `i`, `f`, `x`, `%`).
    static func percentFormat(
        _ format: String,
        _ args: TemplateValue,
        _ r: TemplateRenderer
    ) throws(TemplateError)
        -> String
    {
        var values = args.sequence ?? [args]
        if case .object(let o) = args, case .generator = o.kind { values = [args] }
        if case .list = args { values = [args] }
        let mapping: [TemplateValue.Pair]? = if case .dict(let p) = args { p } else { nil }
        var out = ""
        let s = Array(format.unicodeScalars)
        var i = 0
        var next = 0
        while i < s.count {
            guard s[i] == "%" else {
                out.unicodeScalars.append(s[i])
                i += 1
                continue
            }
            i += 1
            var key: String?
            if i < s.count, s[i] == "(" {
                var j = i + 1
                while j < s.count, s[j] != ")" { j += 1 }
                key = String(String.UnicodeScalarView(s[(i + 1)..<j]))
                i = j + 1
            }
            var flags = ""
            while i < s.count, "-+ #0".unicodeScalars.contains(s[i]) {
                flags.unicodeScalars.append(s[i])
                i += 1
            }
            var width = ""
            while i < s.count, s[i].properties.numericType != nil {
                width.unicodeScalars.append(s[i])
                i += 1
            }
            var precision: Int?
            if i < s.count, s[i] == "." {
                i += 1
                var p = ""
                while i < s.count, s[i].properties.numericType != nil {
                    p.unicodeScalars.append(s[i])
                    i += 1
                }
                precision = Int(p) ?? 0
            }
            guard i < s.count else { throw TemplateError(.type, "incomplete format") }
            let conversion = s[i]
            i += 1
            if conversion == "%" {
                out += "%"
                continue
            }
            let value: TemplateValue
            if let key {
                guard let m = mapping else { throw TemplateError(.type, "format requires a mapping") }
                value = m.first { $0.key == key }?.value ?? .undefined
            } else {
                guard next < values.count else { throw TemplateError(.type, "not enough arguments for format string") }
                value = values[next]
                next += 1
            }
            var piece: String
            switch conversion {
            case "s": piece = try r.str(value)
            case "r", "a": piece = value.repr
            case "d", "i", "u":
                guard let n = TemplateRenderer.number(value) else {
                    throw TemplateError(.type, "%\(conversion) format: a real number is required")
                }
                piece = String(Int(n))
            case "f", "F", "e", "E", "g", "G":
                guard let n = TemplateRenderer.number(value) else {
                    throw TemplateError(.type, "must be real number, not \(r.typeName(value))")
                }
                piece = String(format: "%.\(precision ?? 6)\(conversion)", n)
            case "x", "X", "o":
                guard let n = TemplateRenderer.integer(value) else {
                    throw TemplateError(.type, "%\(conversion) format: an integer is required")
                }
                piece = String(n, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
            case "c":
                if let scalar = TemplateRenderer.integer(value).flatMap({ Unicode.Scalar(UInt32($0)) }) {
                    piece = String(scalar)
                } else {
                    piece = try r.str(value)
                }
            default: throw TemplateError(.type, "unsupported format character '\(conversion)'")
            }
            if "sra".unicodeScalars.contains(conversion), let precision {
                piece = String(String.UnicodeScalarView(piece.unicodeScalars.prefix(precision)))
            }
            if flags.contains("+"), "dif".unicodeScalars.contains(conversion), !piece.hasPrefix("-") {
                piece = "+" + piece
            }
            if let w = Int(width) {
                let fill =
                    flags.contains("0") && !flags.contains("-") && !"sra".unicodeScalars.contains(conversion)
                    ? "0" : " "
                piece = pad(piece, width: w, align: flags.contains("-") ? "<" : ">", fill: fill)
            }
            out += piece
        }
        if mapping == nil, next < values.count {
            throw TemplateError(.type, "not all arguments converted during string formatting")
        }
        return out
    }

    /// Python's `str.format` with `{}`, `{0}`, `{name}`, attribute and index fields, `!r`/`!s` and simple specs.
    static func braceFormat(
        _ format: String,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair],
        _ r: TemplateRenderer
    ) throws(TemplateError) -> String {
        let s = Array(format.unicodeScalars)
        var out = ""
        var i = 0
        var automatic = 0
        while i < s.count {
            if s[i] == "{", i + 1 < s.count, s[i + 1] == "{" {
                out += "{"
                i += 2
                continue
            }
            if s[i] == "}", i + 1 < s.count, s[i + 1] == "}" {
                out += "}"
                i += 2
                continue
            }
            guard s[i] == "{" else {
                out.unicodeScalars.append(s[i])
                i += 1
                continue
            }
            var j = i + 1
            while j < s.count, s[j] != "}" { j += 1 }
            guard j < s.count else { throw TemplateError(.type, "Single '{' encountered in format string") }
            var field = String(String.UnicodeScalarView(s[(i + 1)..<j]))
            i = j + 1
            var spec = ""
            if let colon = field.firstIndex(of: ":") {
                spec = String(field[field.index(after: colon)...])
                field = String(field[..<colon])
            }
            var conversion: Character?
            if let bang = field.firstIndex(of: "!") {
                conversion = field[field.index(after: bang)...].first
                field = String(field[..<bang])
            }
            let head = String(field.prefix { $0 != "." && $0 != "[" })
            var value: TemplateValue
            if head.isEmpty {
                guard automatic < args.count else { throw TemplateError(.type, "Replacement index out of range") }
                value = args[automatic]
                automatic += 1
            } else if let n = Int(head) {
                guard n < args.count else { throw TemplateError(.type, "Replacement index \(n) out of range") }
                value = args[n]
            } else {
                guard let v = named.first(where: { $0.key == head })?.value else {
                    throw TemplateError(.type, "KeyError: '\(head)'")
                }
                value = v
            }
            var rest = Substring(field.dropFirst(head.count))
            while let c = rest.first {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" && $0 != "]" }
                rest = rest.dropFirst(name.count)
                if c == "[" {
                    rest = rest.dropFirst()
                    value = try r.item(value, Int(name).map { .int($0) } ?? .string(String(name)))
                } else {
                    value = try r.attribute(value, String(name))
                }
            }
            var piece = conversion == "r" ? value.repr : try r.str(value)
            if !spec.isEmpty {
                var align = ">"
                var fill = " "
                var specChars = Array(spec)
                if specChars.count >= 2, "<>^".contains(specChars[1]) {
                    fill = String(specChars[0])
                    align = String(specChars[1])
                    specChars.removeFirst(2)
                } else if let f = specChars.first, "<>^".contains(f) {
                    align = String(f)
                    specChars.removeFirst()
                } else if case .string = value {
                    align = "<"
                }
                let digits = String(specChars.prefix { $0.isNumber })
                let tail = String(specChars.dropFirst(digits.count))
                if tail.hasPrefix("."), tail.hasSuffix("f"), let n = TemplateRenderer.number(value) {
                    piece = String(format: "%\(tail)", n)
                }
                if let w = Int(digits) { piece = pad(piece, width: w, align: align, fill: fill) }
            }
            out += piece
        }
        return out
    }

    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// Python's `datetime.strftime` (glibc's directives, C locale) of a moment in the local time zone, as
    /// transformers' `strftime_now` formats `datetime.now()`.
    static func strftime(_ format: String, _ date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .weekday, .nanosecond],
            from: date
        )
        let year = c.year ?? 1970
        let month = c.month ?? 1
        let day = c.day ?? 1
        let hour = c.hour ?? 0
        let minute = c.minute ?? 0
        let second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func number(_ n: Int, _ width: Int, _ flag: Character?) -> String {
            if flag == "-" { return String(n) }
            let text = String(n)
            let padding = String(repeating: flag == "_" ? " " : "0", count: max(0, width - text.count))
            return padding + text
        }
        var out = ""
        var chars = Array(format)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", !chars.isEmpty else {
                out.append(ch)
                continue
            }
            var flag: Character?
            if let f = chars.first, f == "-" || f == "_" || f == "0" {
                flag = f
                chars.removeFirst()
            }
            guard let d = chars.popFirst() else { break }
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch d {
            case "Y": out += String(year)
            case "y": out += number(year % 100, 2, flag)
            case "m": out += number(month, 2, flag)
            case "d": out += number(day, 2, flag)
            case "e": out += number(day, 2, flag ?? "_")
            case "H": out += number(hour, 2, flag)
            case "I": out += number(hour12, 2, flag)
            case "M": out += number(minute, 2, flag)
            case "S": out += number(second, 2, flag)
            case "f": out += number((c.nanosecond ?? 0) / 1000, 6, flag)
            case "j": out += number(dayOfYear, 3, flag)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "A": out += weekdays[weekday]
            case "a": out += String(weekdays[weekday].prefix(3))
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "w": out += String(weekday)
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "F": out += "\(year)-\(number(month, 2, nil))-\(number(day, 2, nil))"
            case "D": out += "\(number(month, 2, nil))/\(number(day, 2, nil))/\(number(year % 100, 2, nil))"
            case "T": out += "\(number(hour, 2, nil)):\(number(minute, 2, nil)):\(number(second, 2, nil))"
            case "R": out += "\(number(hour, 2, nil)):\(number(minute, 2, nil))"
            case "c":
                out +=
                    "\(weekdays[weekday].prefix(3)) \(months[month - 1].prefix(3)) \(number(day, 2, "_")) "
                    + "\(number(hour, 2, nil)):\(number(minute, 2, nil)):\(number(second, 2, nil)) \(year)"
            case "x": out += "\(number(month, 2, nil))/\(number(day, 2, nil))/\(number(year % 100, 2, nil))"
            case "X": out += "\(number(hour, 2, nil)):\(number(minute, 2, nil)):\(number(second, 2, nil))"
            case "n": out += "\n"
            case "t": out += "\t"
            case "%": out += "%"
            default:
                out.append("%")
                if let flag { out.append(flag) }
                out.append(d)
            }
        }
        return out
    }

    /// Python's `json.dumps(value, ensure_ascii=…, indent=…, separators=…, sort_keys=…)`.
    static func json(
        _ value: TemplateValue,
        ensureASCII: Bool,
        indent: TemplateValue,
        separators: TemplateValue,
        sortKeys: Bool,
        renderer: TemplateRenderer
    ) throws(TemplateError) -> String {
        var indentText: String?
        switch indent {
        case .none, .undefined: indentText = nil
        case .string(let s): indentText = s
        default: indentText = String(repeating: " ", count: max(0, TemplateRenderer.integer(indent) ?? 0))
        }
        var itemSeparator = indentText == nil ? ", " : ","
        var keySeparator = ": "
        if let pair = separators.sequence, pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1]
        {
            itemSeparator = a
            keySeparator = b
        }
        func encode(_ v: TemplateValue, _ level: Int) throws(TemplateError) -> String {
            let newline = indentText.map { "\n" + String(repeating: $0, count: level + 1) } ?? ""
            let closing = indentText.map { "\n" + String(repeating: $0, count: level) } ?? ""
            switch v {
            case .none: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .double(let d):
                if d.isNaN { return "NaN" }
                if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
                return TemplateValue.pythonFloat(d)
            case .string(let s): return jsonString(s, ensureASCII: ensureASCII)
            case .dict(var pairs):
                if pairs.isEmpty { return "{}" }
                if sortKeys {
                    pairs.sort {
                        $0.key.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.key.unicodeScalars.map(\.value))
                    }
                }
                var parts: [String] = []
                for p in pairs {
                    parts.append(
                        newline + jsonString(jsonKey(p), ensureASCII: ensureASCII) + keySeparator
                            + (try encode(p.value, level + 1))
                    )
                }
                return "{" + parts.joined(separator: itemSeparator) + closing + "}"
            default:
                if let items = v.sequence, !(v.isGenerator) {
                    if items.isEmpty { return "[]" }
                    var parts: [String] = []
                    for item in items { parts.append(newline + (try encode(item, level + 1))) }
                    return "[" + parts.joined(separator: itemSeparator) + closing + "]"
                }
                let type = v.isGenerator ? "generator" : renderer.typeName(v)
                throw TemplateError(.type, "Object of type \(type) is not JSON serializable")
            }
        }
        return try encode(value, 0)
    }

    /// How `json.dumps` writes a dict key that is not a string.
    static func jsonKey(_ pair: TemplateValue.Pair) -> String {
        switch pair.nonStringKey {
        case .bool(let b)?: return b ? "true" : "false"
        case .none?: return "null"
        default: return pair.key
        }
    }

    static func jsonString(_ s: String, ensureASCII: Bool) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += "\\u" + TemplateValue.hex(c.value, width: 4)
                } else if ensureASCII, c.value > 0x7E {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + TemplateValue.hex(0xD800 + (v >> 10), width: 4)
                        out += "\\u" + TemplateValue.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + TemplateValue.hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

extension TemplateValue {
    var isGenerator: Bool {
        if case .object(let o) = self, case .generator = o.kind { return true }
        return false
    }
}
