/// Constrained decoding: which tokens may come next so that the text stays a prefix of one the grammar accepts and
/// can still be completed within the tokens left.
///
/// The token budget matters on any model (a random one most of all): a token is allowed only when the shortest
/// completion after it, in bytes, fits in the tokens left after it. Every byte the grammars here need exists as a
/// single-byte token in byte-level BPE and byte-fallback vocabularies, so generation that follows the mask always
/// ends with a complete text, whatever the weights say.
///
/// Owned by one generation (its automaton caches states as they are met).
public struct GrammarConstraint {
    /// The automaton over the grammar.
    public let automaton: GrammarAutomaton
    /// The tokenizer's pieces.
    public let vocabulary: TokenVocabulary
    /// Where the text so far stands.
    public private(set) var state: GrammarAutomaton.State

    /// A constraint at the start of `grammar`.
    public init(grammar: Grammar, vocabulary: TokenVocabulary) {
        automaton = GrammarAutomaton(grammar)
        self.vocabulary = vocabulary
        state = automaton.start
    }

    /// Whether the text so far is complete.
    public var isComplete: Bool { automaton.isComplete(state) }

    /// Whether the text is complete and nothing may follow: generation ends here.
    public var isFinished: Bool { automaton.isComplete(state) && !automaton.canContinue(state) }

    /// Whether `token` may come next with `remaining` tokens left (itself included).
    public func allows(_ token: Int, remaining: Int) -> Bool {
        if vocabulary.endOfSequence.contains(token) { return isComplete }
        guard token >= 0, token < vocabulary.pieces.count, let piece = vocabulary.pieces[token], !piece.isEmpty else {
            return false
        }
        let next = automaton.advance(state, bytes: piece)
        return next >= 0 && automaton.shortestCompletion(next) <= remaining - 1
    }

    /// Sets the logit of every token that may not come next to −∞.
    public func mask(_ logits: inout [Float], remaining: Int) {
        var allowed = [Bool](repeating: false, count: logits.count)
        if isComplete {
            for id in vocabulary.endOfSequence where id < allowed.count { allowed[id] = true }
        }
        for (token, completion) in automaton.allowedTokens(state, vocabulary)
        where Int(completion) <= remaining - 1 && Int(token) < allowed.count {
            allowed[Int(token)] = true
        }
        for i in logits.indices where !allowed[i] { logits[i] = -.infinity }
    }

    /// Moves past `token` (which ``allows(_:remaining:)`` accepted).
    public mutating func accept(_ token: Int) {
        guard token >= 0, token < vocabulary.pieces.count, let piece = vocabulary.pieces[token] else { return }
        state = automaton.advance(state, bytes: piece)
    }
}
