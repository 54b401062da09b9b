internal import YAML

/// Small constructors for building manifests as ordered YAML trees.
///
/// Strings are scalars of style `.doubleQuoted` ("this is a string": the emitter writes them plain when that keeps
/// them strings); numbers and booleans are `.plain` scalars.
enum M {
    static func str(_ s: String) -> Node { Node(.scalar(s, .doubleQuoted)) }
    static func int(_ i: Int) -> Node { Node(.scalar(String(i), .plain)) }
    static func bool(_ b: Bool) -> Node { Node(.scalar(b ? "true" : "false", .plain)) }
    static func list(_ items: [Node]) -> Node { Node(.sequence(items)) }
    static func strings(_ items: [String]) -> Node { list(items.map(str)) }

    /// A mapping from pairs in order; `nil` values are left out.
    static func map(_ pairs: [(String, Node?)]) -> Node {
        Node(.mapping(pairs.compactMap { key, value in value.map { Node.Pair(key: str(key), value: $0) } }))
    }

    /// A mapping of strings, keys in the given order.
    static func labels(_ pairs: [(String, String)]) -> Node { map(pairs.map { ($0.0, str($0.1)) }) }
}

extension Node {
    /// Returns a copy with `value` set at `key` (appended when absent) in this mapping.
    func setting(_ key: String, _ value: Node) -> Node {
        guard case .mapping(var pairs) = content else { return self }
        if let i = pairs.firstIndex(where: { $0.key.scalar == key }) {
            pairs[i].value = value
        } else {
            pairs.append(Pair(key: M.str(key), value: value))
        }
        var copy = self
        copy.content = .mapping(pairs)
        return copy
    }

    /// Returns a copy without `key`.
    func removing(_ key: String) -> Node {
        guard case .mapping(let pairs) = content else { return self }
        var copy = self
        copy.content = .mapping(pairs.filter { $0.key.scalar != key })
        return copy
    }
}
