internal import CYAML

/// Parses YAML streams into ``Node`` trees with libyaml's event API.
public enum YAMLParser {
    /// Parses a whole multi-document stream.
    ///
    /// An empty or comment-only input gives no documents; `---` followed by nothing gives a document with a `nil` root.
    /// Aliases are expanded (counting against ``ParseLimits/maxNodes``), YAML 1.1 merge keys (`<<`) are applied, and
    /// duplicate keys are rejected.
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 text.
    ///   - limits: Bounds on size, depth and expanded node count.
    /// - Returns: The documents in order.
    /// - Throws: ``YAMLError`` with the position of the first problem.
    public static func parse(_ bytes: [UInt8], limits: ParseLimits = .default) throws(YAMLError) -> [Document] {
        guard bytes.count <= limits.maxBytes else {
            throw YAMLError(
                .tooLarge,
                "input is \(bytes.count) bytes, over the limit of \(limits.maxBytes) bytes",
                at: Mark(line: 1, column: 1)
            )
        }
        try UTF8Check.validate(bytes)
        let builder = TreeBuilder(bytes: bytes, limits: limits)
        return try builder.run()
    }

    /// Parses a whole multi-document stream from a string (see ``parse(_:limits:)-([UInt8],_)``).
    ///
    /// - Throws: ``YAMLError`` with the position of the first problem.
    public static func parse(_ text: String, limits: ParseLimits = .default) throws(YAMLError) -> [Document] {
        try parse(Array(text.utf8), limits: limits)
    }
}

/// Validates UTF-8 and reports the line and column of the first bad byte.
enum UTF8Check {
    static func validate(_ bytes: [UInt8]) throws(YAMLError) {
        var line = 1
        var column = 1
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            var length = 0
            if b < 0x80 {
                length = 1
            } else if b & 0xE0 == 0xC0, b >= 0xC2 {
                length = 2
            } else if b & 0xF0 == 0xE0 {
                length = 3
            } else if b & 0xF8 == 0xF0, b <= 0xF4 {
                length = 4
            }
            var valid = length > 0 && i + length <= n
            if valid, length > 1 {
                for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { valid = false }
                if valid, length == 3 {
                    let cp = (UInt32(b & 0x0F) << 12) | (UInt32(bytes[i + 1] & 0x3F) << 6)
                    if cp < 0x800 || (0xD800...0xDFFF).contains(cp | UInt32(bytes[i + 2] & 0x3F)) { valid = false }
                }
                if valid, length == 4 {
                    let cp = (UInt32(b & 0x07) << 18) | (UInt32(bytes[i + 1] & 0x3F) << 12)
                    if cp < 0x10000 || cp > 0x10FFFF { valid = false }
                }
            }
            guard valid else {
                throw YAMLError(
                    .invalidUTF8,
                    "invalid UTF-8 byte 0x\(String(b, radix: 16, uppercase: true))",
                    at: Mark(line: line, column: column)
                )
            }
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
            i += length
        }
    }
}

/// Owns one `yaml_parser_t` and turns its events into trees.
///
/// Confined to one call of ``YAMLParser/parse(_:limits:)``.
private final class TreeBuilder {
    private var parser = yaml_parser_t()
    private let bytes: [UInt8]
    private let limits: ParseLimits
    private var nodeCount = 0
    /// Anchored nodes and their sizes, for alias expansion.
    private var anchors: [String: (node: Node, size: Int)] = [:]

    /// A collection being built.
    private enum Frame {
        case sequence(items: [Node], tag: String?, mark: Mark, anchor: String?, start: Int)
        case mapping(pairs: [Node.Pair], pendingKey: Node?, tag: String?, mark: Mark, anchor: String?, start: Int)
    }

    private var stack: [Frame] = []

    init(bytes: [UInt8], limits: ParseLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    deinit {
        yaml_parser_delete(&parser)
    }

    func run() throws(YAMLError) -> [Document] {
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(.syntax, "cannot initialise libyaml", at: Mark(line: 1, column: 1))
        }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var result: Result<[Document], YAMLError> = .success([])
        bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            do throws(YAMLError) {
                result = .success(try loop())
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private func mark(_ m: yaml_mark_t) -> Mark { Mark(line: Int(m.line) + 1, column: Int(m.column) + 1) }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: UnsafePointer(pointer))
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private func libyamlError() -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let context = parser.context.map { String(cString: $0) }
        let at = mark(parser.problem_mark)
        if problem.contains("cannot start any token") || problem.contains("tab") {
            if let line = lineText(at.line), line.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                return YAMLError(
                    .tabIndentation,
                    "tab character used for indentation; YAML indentation must use spaces",
                    at: Mark(
                        line: at.line,
                        column: (line.firstIndex(of: "\t").map { line.distance(from: line.startIndex, to: $0) } ?? 0)
                            + 1
                    )
                )
            }
        }
        var message = problem
        if let context { message = "\(context): \(problem)" }
        return YAMLError(.syntax, message, at: at)
    }

    private func lineText(_ number: Int) -> String? {
        var current = 1
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            if current == number { return String(decoding: bytes[start..<i], as: UTF8.self) }
            current += 1
            start = i + 1
        }
        return current == number ? String(decoding: bytes[start...], as: UTF8.self) : nil
    }

    private func count(_ added: Int, at m: Mark) throws(YAMLError) {
        nodeCount += added
        if nodeCount > limits.maxNodes {
            throw YAMLError(
                .aliasExpansion,
                "document expands to more than \(limits.maxNodes) nodes (alias expansion bomb?)",
                at: m
            )
        }
    }

    private static func resolveTag(_ tag: String?) -> String? {
        guard let tag else { return nil }
        if tag == "!" { return nil }
        return tag
    }

    private func loop() throws(YAMLError) -> [Document] {
        var documents: [Document] = []
        var documentRoot: Node?
        var documentMark = Mark(line: 1, column: 1)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw libyamlError() }
            defer { yaml_event_delete(&event) }
            let start = mark(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_DOCUMENT_START_EVENT:
                documentRoot = nil
                documentMark = start
                anchors = [:]
            case YAML_DOCUMENT_END_EVENT:
                // libyaml reports an empty document as an empty plain scalar.
                if let root = documentRoot, root.tag == nil, root.scalar == "", root.scalarStyle == .plain {
                    documentRoot = nil
                }
                documents.append(Document(root: documentRoot, mark: documentMark))
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let value = Self.string(scalar.value, length: Int(scalar.length))
                let style: ScalarStyle
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                try count(1, at: start)
                let node = Node(.scalar(value, style), tag: Self.resolveTag(Self.string(scalar.tag)), mark: start)
                if let anchor = Self.string(scalar.anchor) { anchors[anchor] = (node, 1) }
                try add(node, root: &documentRoot)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let anchored = anchors[name] else {
                    throw YAMLError(.syntax, "undefined alias *\(name)", at: start)
                }
                try count(anchored.size, at: start)
                try add(anchored.node, root: &documentRoot)
            case YAML_SEQUENCE_START_EVENT:
                try push(start)
                let s = event.data.sequence_start
                stack.append(
                    .sequence(
                        items: [],
                        tag: Self.resolveTag(Self.string(s.tag)),
                        mark: start,
                        anchor: Self.string(s.anchor),
                        start: nodeCount
                    )
                )
            case YAML_MAPPING_START_EVENT:
                try push(start)
                let m = event.data.mapping_start
                stack.append(
                    .mapping(
                        pairs: [],
                        pendingKey: nil,
                        tag: Self.resolveTag(Self.string(m.tag)),
                        mark: start,
                        anchor: Self.string(m.anchor),
                        start: nodeCount
                    )
                )
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { break }
                let node: Node
                let anchor: String?
                let size: Int
                switch frame {
                case .sequence(let items, let tag, let m, let a, let s):
                    node = Node(.sequence(items), tag: tag, mark: m)
                    anchor = a
                    size = nodeCount - s
                case .mapping(let pairs, _, let tag, let m, let a, let s):
                    node = Node(.mapping(try Self.merge(pairs)), tag: tag, mark: m)
                    anchor = a
                    size = nodeCount - s
                }
                if let anchor { anchors[anchor] = (node, max(size, 1)) }
                try add(node, root: &documentRoot)
            default:
                break
            }
        }
    }

    private func push(_ m: Mark) throws(YAMLError) {
        try count(1, at: m)
        if stack.count >= limits.maxDepth {
            throw YAMLError(.tooDeep, "nesting deeper than \(limits.maxDepth) levels", at: m)
        }
    }

    private func add(_ node: Node, root: inout Node?) throws(YAMLError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let tag, let m, let anchor, let start):
            items.append(node)
            stack.append(.sequence(items: items, tag: tag, mark: m, anchor: anchor, start: start))
        case .mapping(var pairs, let pending, let tag, let m, let anchor, let start):
            if let key = pending {
                pairs.append(Node.Pair(key: key, value: node))
                stack.append(.mapping(pairs: pairs, pendingKey: nil, tag: tag, mark: m, anchor: anchor, start: start))
            } else {
                guard let keyText = node.scalar else {
                    throw YAMLError(.unsupported, "mapping keys must be scalars", at: node.mark)
                }
                if keyText != "<<" || node.scalarStyle != .plain,
                    let first = pairs.first(where: {
                        $0.key.scalar == keyText && !($0.key.scalar == "<<" && $0.key.scalarStyle == .plain)
                    })
                {
                    throw YAMLError(
                        .duplicateKey,
                        "duplicate key \"\(keyText)\" (first defined at line \(first.key.mark.line))",
                        at: node.mark
                    )
                }
                stack.append(.mapping(pairs: pairs, pendingKey: node, tag: tag, mark: m, anchor: anchor, start: start))
            }
        }
    }

    /// Applies YAML 1.1 merge keys: pairs from `<<` mappings are added where the mapping does not define the key.
    private static func merge(_ pairs: [Node.Pair]) throws(YAMLError) -> [Node.Pair] {
        guard pairs.contains(where: { $0.key.scalar == "<<" && $0.key.scalarStyle == .plain }) else { return pairs }
        var own: [Node.Pair] = []
        var merged: [Node.Pair] = []
        for pair in pairs {
            guard pair.key.scalar == "<<", pair.key.scalarStyle == .plain else {
                own.append(pair)
                continue
            }
            let sources: [Node]
            switch pair.value.content {
            case .mapping: sources = [pair.value]
            case .sequence(let items): sources = items
            case .scalar:
                throw YAMLError(.syntax, "a merge key (<<) needs a mapping or a list of mappings", at: pair.value.mark)
            }
            for source in sources {
                guard let sourcePairs = source.mapping else {
                    throw YAMLError(.syntax, "a merge key (<<) needs a mapping or a list of mappings", at: source.mark)
                }
                for p in sourcePairs where !merged.contains(where: { $0.key.scalar == p.key.scalar }) {
                    merged.append(p)
                }
            }
        }
        let ownKeys = Set(own.compactMap { $0.key.scalar })
        return own + merged.filter { !ownKeys.contains($0.key.scalar ?? "") }
    }
}
