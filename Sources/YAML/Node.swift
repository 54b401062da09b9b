/// A position in a YAML source, 1-based, as editors count it.
public struct Mark: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The 1-based line number.
    public var line: Int
    /// The 1-based column number, counted in Unicode scalars.
    public var column: Int

    /// Creates a mark at the given 1-based line and column.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }

    /// Orders by value.
    public static func < (lhs: Mark, rhs: Mark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// How a scalar was written in the source, or should be written by the emitter.
public enum ScalarStyle: String, Sendable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    case literal
    case folded
}

/// The type a plain scalar resolves to under the YAML 1.2 core schema (plus YAML 1.1 booleans, which Kubernetes'
/// decoders still honour).
public enum ScalarType: String, Sendable, Hashable {
    case string
    case int
    case float
    case bool
    case null
}

/// One node of a YAML document: a scalar, a sequence or a mapping, with its source position, tag and style.
///
/// Mappings keep their pairs in source order. Two nodes compare equal with `==` when their content, tags and styles
/// are equal *and* they sit at the same marks; use ``hasSameContent(as:)`` to compare trees from different sources.
public struct Node: Sendable, Hashable {
    /// The content of a node.
    public enum Content: Sendable, Hashable {
        case scalar(String, ScalarStyle)
        case sequence([Node])
        case mapping([Pair])
    }

    /// A key/value pair of a mapping.
    public struct Pair: Sendable, Hashable {
        /// The key node (always a scalar in the documents we accept).
        public var key: Node
        /// The value node.
        public var value: Node

        /// Creates a pair.
        public init(key: Node, value: Node) {
            self.key = key
            self.value = value
        }
    }

    /// The node's content.
    public var content: Content
    /// The explicit tag as written, resolved to its full form (`!!str` becomes `tag:yaml.org,2002:str`), or `nil`.
    public var tag: String?
    /// Where the node starts in its source.
    public var mark: Mark

    /// Creates a node.
    public init(_ content: Content, tag: String? = nil, mark: Mark = Mark(line: 0, column: 0)) {
        self.content = content
        self.tag = tag
        self.mark = mark
    }
}

extension Node {
    /// Creates a scalar node; the style decides nothing about quoting when emitted (the emitter quotes where needed).
    public static func scalar(
        _ value: String,
        style: ScalarStyle = .plain,
        mark: Mark = Mark(line: 0, column: 0)
    ) -> Node {
        Node(.scalar(value, style), mark: mark)
    }

    /// Creates a sequence node.
    public static func sequence(_ items: [Node], mark: Mark = Mark(line: 0, column: 0)) -> Node {
        Node(.sequence(items), mark: mark)
    }

    /// Creates a mapping node from pairs in the given order.
    public static func mapping(_ pairs: [(String, Node)], mark: Mark = Mark(line: 0, column: 0)) -> Node {
        Node(.mapping(pairs.map { Pair(key: .scalar($0.0), value: $0.1) }), mark: mark)
    }

    /// The scalar's text, or `nil` for a sequence or mapping.
    public var scalar: String? {
        if case .scalar(let s, _) = content { return s }
        return nil
    }

    /// The scalar's style, or `nil` for a sequence or mapping.
    public var scalarStyle: ScalarStyle? {
        if case .scalar(_, let style) = content { return style }
        return nil
    }

    /// The items of a sequence, or `nil`.
    public var sequence: [Node]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// The pairs of a mapping, or `nil`.
    public var mapping: [Pair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The value for a scalar key in a mapping, or `nil` when absent or when this is not a mapping.
    ///
    /// - Complexity: O(n) in the number of pairs.
    public subscript(key: String) -> Node? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.first { $0.key.scalar == key }?.value
    }

    /// Whether this node is a plain, untagged `null`, `Null`, `NULL`, `~` or empty scalar.
    public var isNull: Bool { resolvedType == .null }

    /// The type this scalar resolves to: quoted, block or `!!str`-tagged scalars are strings; plain ones follow the
    /// core schema (see ``ScalarType``).
    ///
    /// `nil` for sequences and mappings.
    public var resolvedType: ScalarType? {
        guard case .scalar(let text, let style) = content else { return nil }
        if let tag {
            switch tag {
            case "tag:yaml.org,2002:str": return .string
            case "tag:yaml.org,2002:int": return .int
            case "tag:yaml.org,2002:float": return .float
            case "tag:yaml.org,2002:bool": return .bool
            case "tag:yaml.org,2002:null": return .null
            default: return .string
            }
        }
        guard style == .plain else { return .string }
        return ScalarResolver.resolve(text)
    }

    /// Whether two trees have the same content, tags and mapping order, ignoring marks and scalar styles that do not
    /// change a scalar's resolved type.
    ///
    /// Mapping keys compare by text: keys are strings in the documents we accept.
    public func hasSameContent(as other: Node) -> Bool {
        guard tag == other.tag else { return false }
        switch (content, other.content) {
        case (.scalar(let a, _), .scalar(let b, _)):
            return a == b && resolvedType == other.resolvedType
        case (.sequence(let a), .sequence(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.hasSameContent(as: $1) }
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count
                && zip(a, b).allSatisfy { $0.key.scalar == $1.key.scalar && $0.value.hasSameContent(as: $1.value) }
        default:
            return false
        }
    }
}

/// One document of a YAML stream.
public struct Document: Sendable, Hashable {
    /// The root node, or `nil` for an empty document (`---` followed by nothing, or a comment-only file).
    public var root: Node?
    /// Where the document starts.
    public var mark: Mark

    /// Creates a document.
    public init(root: Node?, mark: Mark) {
        self.root = root
        self.mark = mark
    }
}
