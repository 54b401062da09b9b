/// A ``Grammar`` run as a lazily built automaton: the hot loop of constrained decoding.
///
/// A state is every way the bytes so far can continue: a set of stacks (llama.cpp's grammar stacks) of positions in
/// the grammar's elements, the top of each a byte set that must come next, an empty stack meaning the text is
/// complete. Stacks are linked lists of interned nodes (a position and the node below), so equal stacks are one node
/// id and equal sets one state id; a rule referenced last in its alternative returns straight to its caller's caller,
/// so repetition (`R ::= item R | ε`) keeps stacks bounded and states recur. Transitions, completions and the tokens
/// each state allows are computed once and cached: inside a JSON string the same state and mask come back every step.
///
/// One automaton serves one generation at a time (its caches grow as states are met).
public final class GrammarAutomaton {
    /// The grammar.
    public let grammar: Grammar
    /// A state id; ``dead`` when nothing matches.
    public typealias State = Int32
    /// The state of a text no continuation of which matches.
    public static let dead: State = -1

    /// The state of the empty text.
    public private(set) var start: State = 0
    /// Node `n` is position `positions[n]` with `parents[n]` below it (−1: the bottom).
    var positions: [Int32] = []
    var parents: [Int32] = []
    var costs: [Int] = []
    var nodeIDs: [Int64: Int32] = [:]
    /// Each state's stacks (node ids, sorted; −1: the empty stack).
    var states: [[Int32]] = []
    var stateIDs: [[Int32]: State] = [:]
    var transitions: [Int64: State] = [:]
    var completions: [Int] = []
    /// The tokens each state allows, with the shortest completion after each.
    var allowed: [State: [(token: Int32, completion: Int32)]] = [:]

    /// An automaton at the start of `grammar`.
    public init(_ grammar: Grammar) {
        self.grammar = grammar
        var stacks = Set<Int32>()
        expand(rule: grammar.root, parent: -1, into: &stacks)
        start = intern(stacks)
    }

    /// Whether the text that reached `state` is complete.
    public func isComplete(_ state: State) -> Bool { state >= 0 && states[Int(state)].first == -1 }

    /// Whether the text that reached `state` can go on.
    public func canContinue(_ state: State) -> Bool { state >= 0 && states[Int(state)].last.map { $0 >= 0 } == true }

    /// The fewest bytes that complete the text that reached `state` (`Int.max` when dead).
    public func shortestCompletion(_ state: State) -> Int { state >= 0 ? completions[Int(state)] : Int.max }

    /// The state after one more byte.
    public func advance(_ state: State, byte: UInt8) -> State {
        guard state >= 0 else { return Self.dead }
        let key = Int64(state) << 8 | Int64(byte)
        if let next = transitions[key] { return next }
        var stacks = Set<Int32>()
        for node in states[Int(state)] where node >= 0 {
            let position = Int(positions[Int(node)])
            guard case .bytes(let set) = grammar.elements[position], set.contains(byte) else { continue }
            push(Int32(position + 1), parent: parents[Int(node)], into: &stacks)
        }
        let next = stacks.isEmpty ? Self.dead : intern(stacks)
        transitions[key] = next
        return next
    }

    /// The state after `bytes`.
    public func advance(_ state: State, bytes: some Sequence<UInt8>) -> State {
        var current = state
        for byte in bytes {
            current = advance(current, byte: byte)
            if current < 0 { break }
        }
        return current
    }

    /// The tokens of `vocabulary` that `state` allows, each with the shortest completion after it (cached per state).
    func allowedTokens(_ state: State, _ vocabulary: TokenVocabulary) -> [(token: Int32, completion: Int32)] {
        if let cached = allowed[state] { return cached }
        var result: [(token: Int32, completion: Int32)] = []
        // Depth-first over the trie; a dead state prunes its subtree.
        var stack: [(node: Int32, state: State)] = [(0, state)]
        while let (node, current) = stack.popLast() {
            let n = Int(node)
            if n != 0 {
                let completion = Int32(clamping: shortestCompletion(current))
                for t in vocabulary.tokenIDs[Int(vocabulary.firstToken[n])..<Int(vocabulary.firstToken[n + 1])] {
                    result.append((t, completion))
                }
            }
            for edge in Int(vocabulary.firstEdge[n])..<Int(vocabulary.firstEdge[n + 1]) {
                let next = advance(current, byte: vocabulary.edgeBytes[edge])
                if next >= 0 { stack.append((vocabulary.edgeTargets[edge], next)) }
            }
        }
        allowed[state] = result
        return result
    }

    // MARK: Building states

    func node(_ position: Int32, _ parent: Int32) -> Int32 {
        let key = Int64(position) << 32 | Int64(UInt32(bitPattern: parent))
        if let id = nodeIDs[key] { return id }
        let id = Int32(positions.count)
        positions.append(position)
        parents.append(parent)
        costs.append(grammar.shortestCompletion[Int(position)] + (parent >= 0 ? costs[Int(parent)] : 0))
        nodeIDs[key] = id
        return id
    }

    func intern(_ stacks: Set<Int32>) -> State {
        let sorted = stacks.sorted()
        if let id = stateIDs[sorted] { return id }
        let id = State(states.count)
        states.append(sorted)
        completions.append(sorted.map { $0 >= 0 ? costs[Int($0)] : 0 }.min() ?? Int.max)
        stateIDs[sorted] = id
        return id
    }

    /// Continues at `position` with `parent` below: skips ends of alternatives (returning to the parent) and expands
    /// rule references until each resulting stack has a byte set on top or is empty.
    func push(_ position: Int32, parent: Int32, into stacks: inout Set<Int32>) {
        switch grammar.elements[Int(position)] {
        case .end:
            if parent < 0 {
                stacks.insert(-1)
            } else {
                push(positions[Int(parent)], parent: parents[Int(parent)], into: &stacks)
            }
        case .bytes:
            stacks.insert(node(position, parent))
        case .rule(let r):
            // A reference last in its alternative returns to the parent directly (no node for an empty remainder).
            let after = position + 1
            let returnTo = grammar.elements[Int(after)] == .end ? parent : node(after, parent)
            expand(rule: r, parent: returnTo, into: &stacks)
        }
    }

    func expand(rule: Int, parent: Int32, into stacks: inout Set<Int32>) {
        for start in grammar.rules[rule] { push(Int32(start), parent: parent, into: &stacks) }
    }
}
