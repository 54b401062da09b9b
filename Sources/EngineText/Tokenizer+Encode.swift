extension Tokenizer {
    /// Encodes text as `tokenizers`' `encode(text, add_special_tokens:)` does.
    ///
    /// - Parameters:
    ///   - text: The text. Added tokens written in it (for example `<|im_start|>`) become their ids.
    ///   - addSpecialTokens: Add the post-processor's special tokens (for example BOS). A rendered chat template
    ///     already holds them: encode it with `false`, as transformers' `apply_chat_template` does.
    /// - Returns: Token ids, identical to `tokenizers`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        var scratch = BPEScratch()
        for part in rawMatcher.split(scalars) {
            switch part {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                var normalized = Array(scalars[range])
                if let normalizer { normalized = normalizer.apply(normalized) }
                for inner in normalizedMatcher.split(normalized) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let innerRange):
                        let atStart = range.lowerBound == 0 && innerRange.lowerBound == 0
                        encodeWords(Array(normalized[innerRange]), atStart: atStart, scratch: &scratch, into: &ids)
                    }
                }
            }
        }
        guard addSpecialTokens, let postProcessor else { return ids }
        return postProcessor.apply(ids)
    }

    /// Pre-tokenizes normalized text and runs the model on each word.
    func encodeWords(
        _ text: [Unicode.Scalar],
        atStart: Bool,
        scratch: inout BPEScratch,
        into ids: inout [Int]
    ) {
        var pieces = [PreToken(scalars: text[...], atStart: atStart)]
        if let preTokenizer { pieces = preTokenizer.apply(pieces) }
        for piece in pieces where !piece.scalars.isEmpty {
            // Words repeat: short ones are merged once per call (as `tokenizers` caches them).
            guard piece.scalars.count <= 24 else {
                bpe(piece.scalars, scratch: &scratch, into: &ids)
                continue
            }
            if let cached = scratch.cache[piece.scalars] {
                ids += cached
                continue
            }
            let start = ids.count
            bpe(piece.scalars, scratch: &scratch, into: &ids)
            if scratch.cache.count < 50_000 { scratch.cache[piece.scalars] = Array(ids[start...]) }
        }
    }

    /// Reused buffers of the merge loop.
    struct BPEScratch {
        var ids: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var heap: [(rank: Int32, position: Int32, id: Int32)] = []
        var cache: [ArraySlice<Unicode.Scalar>: [Int]] = [:]
    }

    /// Byte-pair encoding of one word: the scalars' ids (with byte fallback or the unknown token), then the
    /// lowest-ranked merge of adjacent symbols first (leftmost among equals), through a priority queue.
    func bpe(_ word: ArraySlice<Unicode.Scalar>, scratch: inout BPEScratch, into output: inout [Int]) {
        if ignoreMerges {
            var bytes: [UInt8] = []
            for scalar in word { bytes += scalar.utf8 }
            if let id = vocabulary[bytes] {
                output.append(id)
                return
            }
        }
        var symbols = scratch.ids
        symbols.removeAll(keepingCapacity: true)
        var unknownPending = false
        for scalar in word {
            if let id = scalarIDs[scalar.value] {
                symbols.append(id)
                unknownPending = false
            } else if let byteIDs = byteTokenIDs {
                for byte in scalar.utf8 { symbols.append(byteIDs[Int(byte)]) }
                unknownPending = false
            } else if let unknownID {
                if !(fuseUnknown && unknownPending) { symbols.append(Int32(unknownID)) }
                unknownPending = true
            }
        }
        defer { scratch.ids = symbols }
        guard symbols.count > 1, !merges.isEmpty else {
            for id in symbols { output.append(Int(id)) }
            return
        }
        let count = symbols.count
        var previous = scratch.previous
        var next = scratch.next
        var heap = scratch.heap
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<count {
            previous.append(Int32(i - 1))
            next.append(i + 1 < count ? Int32(i + 1) : -1)
        }
        func less(
            _ a: (rank: Int32, position: Int32, id: Int32),
            _ b: (rank: Int32, position: Int32, id: Int32)
        ) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.position < b.position
        }
        func push(_ item: (rank: Int32, position: Int32, id: Int32)) {
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard less(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
        func pop() -> (rank: Int32, position: Int32, id: Int32)? {
            guard let top = heap.first else { return nil }
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    guard left < heap.count else { break }
                    var child = left
                    if left + 1 < heap.count, less(heap[left + 1], heap[left]) { child = left + 1 }
                    guard less(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    parent = child
                }
            }
            return top
        }
        func pairMerge(_ left: Int32, _ right: Int32) -> Merge? {
            merges.merge(left, right)
        }
        for i in 0..<(count - 1) {
            if let merge = pairMerge(symbols[i], symbols[i + 1]) {
                push((merge.rank, Int32(i), merge.id))
            }
        }
        while let top = pop() {
            let position = Int(top.position)
            let right = next[position]
            // Stale entries: the symbol was merged away, or its pair changed since this merge was queued.
            guard symbols[position] >= 0, right >= 0,
                let merge = pairMerge(symbols[position], symbols[Int(right)]), merge.id == top.id
            else { continue }
            symbols[position] = top.id
            symbols[Int(right)] = -1
            let after = next[Int(right)]
            next[position] = after
            if after >= 0 { previous[Int(after)] = Int32(position) }
            let before = previous[position]
            if before >= 0, let merge = pairMerge(symbols[Int(before)], top.id) {
                push((merge.rank, before, merge.id))
            }
            if after >= 0, let merge = pairMerge(top.id, symbols[Int(after)]) {
                push((merge.rank, Int32(position), merge.id))
            }
        }
        var i = 0
        while i >= 0 && i < count {
            output.append(Int(symbols[i]))
            i = Int(next[i])
        }
        scratch.previous = previous
        scratch.next = next
        scratch.heap = heap
    }

    /// Decodes ids as `tokenizers`' `decode(ids, skip_special_tokens:)` does (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [[Unicode.Scalar]] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens, specialIDs.contains(id) { continue }
            guard id >= 0, id < tokenBytes.count, let bytes = tokenBytes[id] else { continue }
            tokens.append(Array(String(decoding: bytes, as: UTF8.self).unicodeScalars))
        }
        guard let decoder else {
            var out = String.UnicodeScalarView()
            for (i, token) in tokens.enumerated() {
                if i > 0 { out.append(" ") }
                out += token
            }
            return String(out)
        }
        var out = String.UnicodeScalarView()
        for token in decoder.apply(tokens) { out += token }
        return String(out)
    }
}

/// Streams decoded text token by token without ever emitting half a character: each call returns only text that
/// is final, and the concatenation of all outputs equals `decode(all ids)`.
public struct IncrementalDecoder: Sendable {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    var ids: [Int] = []
    var emitted = ""

    /// Creates a decoder.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds a token and returns the new final text (possibly empty).
    public mutating func push(_ id: Int) -> String {
        ids.append(id)
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        // A trailing U+FFFD may be an incomplete character still being spelled out in byte tokens.
        // Compare scalars, not characters: a new scalar may join the last character (emoji ZWJ sequences).
        guard text.unicodeScalars.last != "\u{FFFD}", text.unicodeScalars.starts(with: emitted.unicodeScalars) else {
            return ""
        }
        let new = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(emitted.unicodeScalars.count)))
        emitted = text
        return new
    }

    /// Returns whatever is left at the end of the stream.
    public mutating func finish() -> String {
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard text.unicodeScalars.starts(with: emitted.unicodeScalars) else { return "" }
        let rest = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(emitted.unicodeScalars.count)))
        emitted = text
        return rest
    }
}
