/// A YAML input that cannot be turned into a node tree, with where and why.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, a struct over a private enum so new kinds do not break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case syntax = "yaml-syntax"
            case tooLarge = "yaml-too-large"
            case tooDeep = "yaml-too-deep"
            case aliasExpansion = "yaml-alias-expansion"
            case invalidUTF8 = "yaml-invalid-utf8"
            case duplicateKey = "yaml-duplicate-key"
            case tabIndentation = "yaml-tab-indentation"
            case unsupported = "yaml-unsupported"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// libyaml rejected the text.
        public static let syntax = Code(.syntax)
        /// The input is over ``ParseLimits/maxBytes``.
        public static let tooLarge = Code(.tooLarge)
        /// Nesting is over ``ParseLimits/maxDepth``.
        public static let tooDeep = Code(.tooDeep)
        /// Aliases expand to more than ``ParseLimits/maxNodes`` nodes ("billion laughs").
        public static let aliasExpansion = Code(.aliasExpansion)
        /// The bytes are not UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A mapping has the same key twice.
        public static let duplicateKey = Code(.duplicateKey)
        /// Tabs are used for indentation.
        public static let tabIndentation = Code(.tabIndentation)
        /// A construct we do not accept (non-scalar keys).
        public static let unsupported = Code(.unsupported)

        /// A stable name such as `yaml-syntax`.
        public var description: String { value.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// What is wrong, for people.
    public var message: String
    /// Where.
    public var mark: Mark

    /// Creates an error.
    public init(_ code: Code, _ message: String, at mark: Mark) {
        self.code = code
        self.message = message
        self.mark = mark
    }

    /// `line:column: message`.
    public var description: String { "\(mark): \(message)" }
}

/// Bounds that keep hostile input from using unbounded time or memory.
public struct ParseLimits: Sendable, Hashable {
    /// The largest input accepted, in bytes.
    public var maxBytes: Int
    /// The deepest nesting of sequences and mappings accepted.
    public var maxDepth: Int
    /// The most nodes a stream may produce after alias expansion.
    public var maxNodes: Int

    /// Creates limits.
    public init(maxBytes: Int = 8 << 20, maxDepth: Int = 100, maxNodes: Int = 1_000_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    /// 8 MiB, depth 100, one million nodes.
    public static let `default` = ParseLimits()
}
