internal import YAML

/// Collects diagnostics and field positions while one input document is decoded.
///
/// Decoding never stops at the first problem: every unknown field and every type mismatch becomes a diagnostic, and
/// the decoded value keeps whatever could be read.
final class DecodeContext {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// The mark of each decoded field's value, keyed by its path (`resource.instanceType`, `inference.adapters[0]`).
    private(set) var marks: [String: Mark] = [:]

    init(file: String) {
        self.file = file
    }

    func record(_ path: String, _ mark: Mark) {
        marks[path] = mark
    }

    func error(_ code: String, _ message: String, at mark: Mark, notes: [String] = []) {
        diagnostics.append(
            Diagnostic(
                .error,
                code: code,
                message: message,
                location: SourceLocation(file: file, mark: mark),
                notes: notes
            )
        )
    }

    /// Reports a value of the wrong YAML type, saying what was expected and what was found.
    func typeMismatch(_ path: String, expected: String, found node: Node) {
        var notes: [String] = []
        if expected == "a string", let scalar = node.scalar {
            notes.append("quote it to make it a string: \(path.split(separator: ".").last ?? ""): \"\(scalar)\"")
        }
        error(
            DiagnosticCode.schema,
            "\(path): expected \(expected), found \(node.kindDescription)",
            at: node.mark,
            notes: notes
        )
    }
}

extension Node {
    /// A short description of the node's kind and value for messages (`integer 1`, `a mapping`).
    var kindDescription: String {
        switch content {
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        case .scalar(let text, _):
            switch resolvedType ?? .string {
            case .string: return "string \"\(text)\""
            case .int: return "integer \(text)"
            case .float: return "number \(text)"
            case .bool: return "boolean \(text)"
            case .null: return "null"
            }
        }
    }
}

/// Reads one YAML mapping strictly: every key must be read by the decoder or it is reported as unknown, with a
/// "did you mean" suggestion when a known key is close.
struct MappingReader {
    let node: Node
    let path: String
    let context: DecodeContext
    private var known: [String] = []

    /// Creates a reader, or reports a type mismatch and returns `nil` when the node is not a mapping.
    init?(_ node: Node, path: String, context: DecodeContext) {
        guard node.mapping != nil else {
            context.typeMismatch(path, expected: "a mapping", found: node)
            return nil
        }
        self.node = node
        self.path = path
        self.context = context
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node for `key` (nil when absent or null), marking the key as known.
    mutating func value(_ key: String) -> Node? {
        known.append(key)
        guard let pair = node.mapping?.first(where: { $0.key.scalar == key }) else { return nil }
        context.record(childPath(key), pair.value.mark)
        if pair.value.isNull, pair.value.tag == nil { return nil }
        return pair.value
    }

    /// The mark of the key itself, for diagnostics about the presence of a field.
    func keyMark(_ key: String) -> Mark? {
        node.mapping?.first(where: { $0.key.scalar == key })?.key.mark
    }

    mutating func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        guard v.resolvedType == .string, let s = v.scalar else {
            context.typeMismatch(childPath(key), expected: "a string", found: v)
            return nil
        }
        return s
    }

    mutating func int(_ key: String) -> Int? {
        guard let v = value(key) else { return nil }
        guard v.resolvedType == .int, let s = v.scalar, let i = Int(s) else {
            context.typeMismatch(childPath(key), expected: "an integer", found: v)
            return nil
        }
        return i
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        guard v.resolvedType == .bool, let s = v.scalar else {
            context.typeMismatch(childPath(key), expected: "a boolean", found: v)
            return nil
        }
        return ["true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"].contains(s)
    }

    mutating func stringList(_ key: String) -> [String]? {
        guard let v = value(key) else { return nil }
        guard let items = v.sequence else {
            context.typeMismatch(childPath(key), expected: "a list of strings", found: v)
            return nil
        }
        var result: [String] = []
        for (i, item) in items.enumerated() {
            let itemPath = "\(childPath(key))[\(i)]"
            context.record(itemPath, item.mark)
            if item.resolvedType == .string, let s = item.scalar {
                result.append(s)
            } else {
                context.typeMismatch(itemPath, expected: "a string", found: item)
            }
        }
        return result
    }

    mutating func stringMap(_ key: String) -> [(key: String, value: String, mark: Mark)]? {
        guard let v = value(key) else { return nil }
        guard let pairs = v.mapping else {
            context.typeMismatch(childPath(key), expected: "a map of strings", found: v)
            return nil
        }
        var result: [(key: String, value: String, mark: Mark)] = []
        for pair in pairs {
            guard let k = pair.key.scalar else { continue }
            let itemPath = "\(childPath(key)).\(k)"
            context.record(itemPath, pair.value.mark)
            if pair.value.resolvedType == .string, let s = pair.value.scalar {
                result.append((k, s, pair.value.mark))
            } else {
                context.typeMismatch(itemPath, expected: "a string", found: pair.value)
            }
        }
        return result
    }

    /// Reports every key that was not read, with a suggestion when one of the known keys is close.
    func finish(extraHint: String? = nil) {
        for pair in node.mapping ?? [] {
            guard let key = pair.key.scalar, !known.contains(key) else { continue }
            var message = "unknown field \"\(key)\" in \(path.isEmpty ? "the object" : path)"
            if let suggestion = Suggestion.closest(to: key, in: known) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            var notes: [String] = []
            if let extraHint { notes.append(extraHint) }
            context.error(DiagnosticCode.unknownField, message, at: pair.key.mark, notes: notes)
        }
    }
}

/// "Did you mean" suggestions by edit distance.
enum Suggestion {
    /// The candidate closest to `word` when it is close enough to be a likely typo (case-insensitive).
    static func closest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(lowered, candidate.lowercased())
            if best == nil || d < best?.1 ?? .max { best = (candidate, d) }
        }
        guard let (candidate, d) = best else { return nil }
        let limit = max(1, min(3, candidate.count / 3))
        return d <= limit ? candidate : nil
    }

    /// Damerau-Levenshtein distance (optimal string alignment) over Unicode scalars.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }
}
