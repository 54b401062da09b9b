/// A problem loading or running a model: a code and a message naming the file, tensor or field.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, a struct over a private enum so new kinds do not break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A required file is missing.
        public static let missingFile = Code("missing-file")
        /// The architecture is not supported.
        public static let unsupportedArchitecture = Code("unsupported-architecture")
        /// A tensor dtype is not supported.
        public static let unsupportedDType = Code("unsupported-dtype")
        /// A tensor has the wrong shape or is absent.
        public static let shapeMismatch = Code("shape-mismatch")
        /// A file ends before its header says.
        public static let truncatedFile = Code("truncated-file")
        /// A file cannot be parsed.
        public static let invalidFile = Code("invalid-file")
        /// A LoRA adapter is malformed, out of range or does not fit the model.
        public static let invalidAdapter = Code("invalid-adapter")
        /// The prompt does not fit in the model's context.
        public static let promptTooLong = Code("prompt-too-long")
        /// The prompt has no tokens.
        public static let emptyPrompt = Code("empty-prompt")
        /// Serving limits that cannot serve the model (`--max-num-batched-tokens`, the KV cache budget).
        public static let invalidLimits = Code("invalid-limits")

        /// The code's name.
        public var description: String { name }
    }

    /// The kind of problem.
    public var code: Code
    /// What is wrong, for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `message [code]`.
    public var description: String { "\(message) [\(code)]" }
}
