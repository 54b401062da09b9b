/// A set of bytes (256 bits).
public struct ByteSet: Sendable, Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// The empty set.
    public init() {}

    /// The bytes of the given ranges.
    public init(_ ranges: ClosedRange<UInt8>...) {
        for range in ranges { for byte in range { insert(byte) } }
    }

    /// Adds a byte.
    public mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    /// Whether the set holds `byte`.
    @inline(__always)
    public func contains(_ byte: UInt8) -> Bool {
        let word: UInt64 =
            switch byte >> 6 {
            case 0: words.0
            case 1: words.1
            case 2: words.2
            default: words.3
            }
        return word >> UInt64(byte & 63) & 1 == 1
    }

    /// Whether two sets hold the same bytes.
    public static func == (a: ByteSet, b: ByteSet) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    /// Hashes the set's bits.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// A context-free grammar over bytes in the form llama.cpp's GBNF grammars take: rules of alternatives, each a
/// sequence of byte sets and references to rules, with no left recursion (every recursion consumes a byte first).
///
/// Alternatives are laid out in one flat array of elements, each ended by ``Element/end``, so that a position in a
/// sequence is one integer (what ``GrammarAutomaton`` keeps on its stacks).
public struct Grammar: Sendable {
    /// One element of a sequence.
    public enum Element: Sendable, Hashable {
        /// One byte from the set.
        case bytes(ByteSet)
        /// Any alternative of a rule.
        case rule(Int)
        /// The end of an alternative.
        case end
    }

    /// Every alternative's elements, each followed by ``Element/end``.
    public internal(set) var elements: [Element] = []
    /// Each rule's alternatives, as positions in ``elements``.
    public internal(set) var rules: [[Int]] = []
    /// The rule a complete text matches.
    public internal(set) var root = 0
    /// The fewest bytes that complete the sequence from each position of ``elements``.
    public internal(set) var shortestCompletion: [Int] = []

    /// Computes ``shortestCompletion`` (a fixed point: rules may refer to each other).
    mutating func finish(root: Int) {
        self.root = root
        let unknown = Int.max / 4
        var ruleLength = [Int](repeating: unknown, count: rules.count)
        var suffix = [Int](repeating: unknown, count: elements.count)
        var changed = true
        while changed {
            changed = false
            for position in stride(from: elements.count - 1, through: 0, by: -1) {
                let value: Int
                switch elements[position] {
                case .end: value = 0
                case .bytes: value = min(unknown, 1 + suffix[position + 1])
                case .rule(let r): value = min(unknown, ruleLength[r] + suffix[position + 1])
                }
                if value < suffix[position] {
                    suffix[position] = value
                    changed = true
                }
            }
            for (r, starts) in rules.enumerated() {
                let value = starts.map { suffix[$0] }.min() ?? unknown
                if value < ruleLength[r] {
                    ruleLength[r] = value
                    changed = true
                }
            }
        }
        shortestCompletion = suffix
        nullable = ruleLength.map { $0 == 0 }
        isWellFormed = !Self.leftRecursive(rules: rules, elements: elements, nullable: nullable)
    }

    /// Which rules can match no byte.
    public internal(set) var nullable: [Bool] = []
    /// Whether no rule can reach itself without consuming a byte (the matcher would not terminate).
    public internal(set) var isWellFormed = true

    /// Whether some rule reaches itself through references that can each match nothing before it.
    static func leftRecursive(rules: [[Int]], elements: [Element], nullable: [Bool]) -> Bool {
        // Edges r → s: s is referenced at the start of an alternative of r, after only nullable rules.
        var edges = [[Int]](repeating: [], count: rules.count)
        for (r, starts) in rules.enumerated() {
            for start in starts {
                var position = start
                while case .rule(let s) = elements[position] {
                    edges[r].append(s)
                    guard nullable[s] else { break }
                    position += 1
                }
            }
        }
        var mark = [UInt8](repeating: 0, count: rules.count)  // 0 new, 1 on the path, 2 done
        for origin in rules.indices where mark[origin] == 0 {
            var path: [(rule: Int, next: Int)] = [(origin, 0)]
            mark[origin] = 1
            while let (rule, next) = path.last {
                if next < edges[rule].count {
                    path[path.count - 1].next += 1
                    let target = edges[rule][next]
                    if mark[target] == 1 { return true }
                    if mark[target] == 0 {
                        mark[target] = 1
                        path.append((target, 0))
                    }
                } else {
                    mark[rule] = 2
                    path.removeLast()
                }
            }
        }
        return false
    }
}

/// Builds a ``Grammar`` from combinators: sequences of byte sets and rule references.
public struct GrammarBuilder: Sendable {
    /// One item of a sequence.
    public enum Item: Sendable, Hashable {
        case bytes(ByteSet)
        case rule(Int)
    }

    var grammar = Grammar()
    var pending: [[[Item]]?] = []
    var memo: [[[Item]]: Int] = [:]

    /// Creates an empty builder.
    public init() {}

    /// A rule to define later (for recursion).
    public mutating func reserve() -> Int {
        pending.append(nil)
        return pending.count - 1
    }

    /// Defines a reserved rule.
    public mutating func define(_ rule: Int, _ alternatives: [[Item]]) {
        pending[rule] = alternatives
    }

    /// A rule with these alternatives (one rule per distinct set of alternatives).
    public mutating func rule(_ alternatives: [[Item]]) -> Int {
        if let existing = memo[alternatives] { return existing }
        let r = reserve()
        define(r, alternatives)
        memo[alternatives] = r
        return r
    }

    /// The bytes of `text`, one set each.
    public static func literal(_ text: some Sequence<UInt8>) -> [Item] { text.map { .bytes(ByteSet($0...$0)) } }

    /// `items` or nothing.
    public mutating func optional(_ items: [Item]) -> Item { .rule(rule([items, []])) }

    /// `items` repeated any number of times (right recursion: `R ::= items R | ε`).
    public mutating func star(_ items: [Item]) -> Item {
        let r = reserve()
        define(r, [items + [.rule(r)], []])
        return .rule(r)
    }

    /// `items` repeated between `minimum` and `maximum` times (`nil`: no upper bound).
    public mutating func repeated(_ items: [Item], minimum: Int, maximum: Int?) -> [Item] {
        var sequence: [Item] = []
        for _ in 0..<minimum { sequence += items }
        guard let maximum else { return sequence + [star(items)] }
        var tail: [Item] = []
        for _ in minimum..<max(minimum, maximum) { tail = [optional(items + tail)] }
        return sequence + tail
    }

    /// Any one of the sequences.
    public mutating func choice(_ alternatives: [[Item]]) -> Item {
        alternatives.count == 1 && alternatives[0].count == 1 ? alternatives[0][0] : .rule(rule(alternatives))
    }

    /// The grammar whose texts are `root`'s.
    public consuming func build(root: [Item]) -> Grammar {
        let start = rule([root])
        var grammar = self.grammar
        grammar.rules = []
        for alternatives in pending {
            var starts: [Int] = []
            for items in alternatives ?? [] {
                starts.append(grammar.elements.count)
                for item in items {
                    switch item {
                    case .bytes(let set): grammar.elements.append(.bytes(set))
                    case .rule(let r): grammar.elements.append(.rule(r))
                    }
                }
                grammar.elements.append(.end)
            }
            grammar.rules.append(starts)
        }
        grammar.finish(root: start)
        return grammar
    }
}
