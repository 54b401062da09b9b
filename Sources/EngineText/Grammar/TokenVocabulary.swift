/// A tokenizer's tokens as the bytes each adds to the text in the middle of a sequence, in a trie: what constrained
/// decoding walks to find the tokens a grammar allows (built once per tokenizer).
public struct TokenVocabulary: Sendable {
    /// The bytes of each id (`nil`: a special or unused id, never allowed by a grammar).
    public let pieces: [[UInt8]?]
    /// Ids that end a sequence.
    public let endOfSequence: Set<Int>
    /// Trie nodes: each node's children are `edges[firstEdge[n]..<firstEdge[n + 1]]`.
    let firstEdge: [Int32]
    /// Each edge's byte and the node it leads to.
    let edgeBytes: [UInt8]
    let edgeTargets: [Int32]
    /// Each node's tokens: `tokenIDs[firstToken[n]..<firstToken[n + 1]]`.
    let firstToken: [Int32]
    let tokenIDs: [Int32]

    /// The vocabulary of `tokenizer`; `endOfSequence` are the ids that stop generation.
    public init(tokenizer: Tokenizer, endOfSequence: Set<Int>) {
        var pieces: [[UInt8]?] = []
        pieces.reserveCapacity(tokenizer.vocabularySize)
        for id in 0..<tokenizer.vocabularySize {
            let special = tokenizer.specialIDs.contains(id) || endOfSequence.contains(id)
            pieces.append(special ? nil : tokenizer.pieceBytes(id))
        }
        self.init(pieces: pieces, endOfSequence: endOfSequence)
    }

    /// A vocabulary of the given pieces (for tests).
    public init(pieces: [[UInt8]?], endOfSequence: Set<Int>) {
        var pieces = pieces
        for id in endOfSequence where id >= 0 && id < pieces.count { pieces[id] = nil }
        self.pieces = pieces
        self.endOfSequence = endOfSequence
        // Build the trie over the sorted pieces: each node's children come out in byte order.
        let order = pieces.indices.compactMap { id in pieces[id].flatMap { $0.isEmpty ? nil : (id, $0) } }.sorted {
            $0.1.lexicographicallyPrecedes($1.1)
        }
        var children: [[(UInt8, Int32)]] = [[]]
        var tokens: [[Int32]] = [[]]
        for (id, piece) in order {
            var node = 0
            for byte in piece {
                if let last = children[node].last, last.0 == byte {
                    node = Int(last.1)
                } else {
                    children.append([])
                    tokens.append([])
                    children[node].append((byte, Int32(children.count - 1)))
                    node = children.count - 1
                }
            }
            tokens[node].append(Int32(id))
        }
        var firstEdge: [Int32] = [0]
        var edgeBytes: [UInt8] = []
        var edgeTargets: [Int32] = []
        var firstToken: [Int32] = [0]
        var tokenIDs: [Int32] = []
        for node in children.indices {
            for (byte, target) in children[node] {
                edgeBytes.append(byte)
                edgeTargets.append(target)
            }
            firstEdge.append(Int32(edgeBytes.count))
            tokenIDs += tokens[node]
            firstToken.append(Int32(tokenIDs.count))
        }
        self.firstEdge = firstEdge
        self.edgeBytes = edgeBytes
        self.edgeTargets = edgeTargets
        self.firstToken = firstToken
        self.tokenIDs = tokenIDs
    }
}

extension Tokenizer {
    /// The bytes token `id` adds to a decoded text when it is not the first token.
    ///
    /// Its vocabulary entry goes through the decoder chain (byte-level mapping, `<0xNN>` byte fallback, `▁` replacement), without the first-token rules
    /// (a stripped leading space). `nil` for an unused id.
    public func pieceBytes(_ id: Int) -> [UInt8]? {
        guard id >= 0, id < tokenBytes.count, let bytes = tokenBytes[id] else { return nil }
        var scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        guard let decoder else { return Array(String(String.UnicodeScalarView(scalars)).utf8) }
        var steps: [Decoder] = []
        func flatten(_ d: Decoder) {
            if case .sequence(let items) = d { items.forEach(flatten) } else { steps.append(d) }
        }
        flatten(decoder)
        for step in steps {
            switch step {
            case .byteLevel:
                var out: [UInt8] = []
                for scalar in scalars {
                    guard let byte = ByteLevel.scalarToByte[scalar.value] else {
                        return Array(String(String.UnicodeScalarView(scalars)).utf8)
                    }
                    out.append(byte)
                }
                return out
            case .byteFallback:
                if scalars.count == 6, scalars[0] == "<", scalars[1] == "0", scalars[2] == "x", scalars[5] == ">",
                    let byte = UInt8(String(String.UnicodeScalarView(scalars[3...4])), radix: 16)
                {
                    return [byte]
                }
            case .replace, .metaspace:
                // Not the first token: the same rules as for any later token.
                scalars = step.apply([[], scalars])[1]
            case .fuse, .strip:
                // Fuse joins tokens; Strip (after Fuse in every converted SentencePiece decoder) trims the text's ends.
                continue
            case .sequence:
                continue
            }
        }
        return Array(String(String.UnicodeScalarView(scalars)).utf8)
    }
}
