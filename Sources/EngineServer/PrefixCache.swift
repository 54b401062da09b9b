internal import InferenceEngine

/// Automatic prefix caching, as vLLM's (issue 11 item 2): the KV caches of finished sequences stay, indexed by the
/// chained hashes of their full 16-token blocks, so a request whose prompt begins with the same blocks (a system
/// prompt, the chat history of an earlier turn) starts from a copy of those positions and prefills only the rest.
///
/// Past the last whole block the match goes on token by token through the cached sequence (as llama.cpp's server
/// reuses a slot's prompt), since the cache keeps every position of the sequence anyway: a repeated prompt runs
/// one token, not up to 16.
///
/// A hit needs the same tokens (compared, not only hashed), the same adapter strengths and, for Phi-3's long-context
/// models, the same rotary factors. What the cache holds counts against the KV budget and is evicted, least recently
/// used first, whenever a request needs the room: cached prefixes never make a request wait.
struct PrefixCache {
    /// Tokens per block, vLLM's default `--block-size`.
    static let blockSize = 16

    /// What a cached sequence's positions depend on besides its tokens.
    struct Context: Hashable {
        /// The adapter strengths, as bit patterns.
        var strengths: [UInt32]
        /// Whether the positions were computed with Phi-3's long-context factors.
        var longFactors: Bool

        init(strengths: [Float], longFactors: Bool) {
            self.strengths = strengths.map(\.bitPattern)
            self.longFactors = longFactors
        }
    }

    private struct Entry {
        var cache: KVCache
        var tokens: [Int]
        var context: Context
        var hashes: [Int]
        var lastUse: UInt64
        /// Positions whose memory the cache keeps (the whole sequence's, not only the whole blocks).
        var resident: Int
    }

    private var entries: [Int: Entry] = [:]
    /// Chained block hash → the entry holding that block, and how many blocks that prefix has.
    private var index: [Int: (entry: Int, blocks: Int)] = [:]
    private var nextID = 0
    private var clock: UInt64 = 0
    /// Positions the cached sequences hold (their KV memory).
    private(set) var positions = 0

    /// The chained hashes of the first `blocks` full blocks of `tokens`.
    static func hashes(_ tokens: [Int], blocks: Int, context: Context) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(blocks)
        var parent = context.hashValue
        for block in 0..<blocks {
            var hasher = Hasher()
            hasher.combine(parent)
            for token in tokens[(block * blockSize)..<((block + 1) * blockSize)] { hasher.combine(token) }
            parent = hasher.finalize()
            result.append(parent)
        }
        return result
    }

    /// The longest cached prefix of `prompt`, leaving at least one token to run (its logits start the answer): whole
    /// blocks found through the index, then the tokens of the same cached sequence that go on agreeing; a cache of
    /// those positions and their count, or `nil`.
    mutating func lookup(_ prompt: [Int], context: Context) -> (cache: KVCache, positions: Int)? {
        let blocks = (prompt.count - 1) / Self.blockSize
        guard blocks > 0, !index.isEmpty else { return nil }
        var best: (entry: Int, blocks: Int)?
        for (i, hash) in Self.hashes(prompt, blocks: blocks, context: context).enumerated() {
            guard let found = index[hash] else { break }
            best = (found.entry, i + 1)
        }
        guard let best, var entry = entries[best.entry] else { return nil }
        var count = best.blocks * Self.blockSize
        // The hashes only index: the tokens and context decide.
        guard entry.context == context, entry.tokens.count >= count, entry.tokens[..<count] == prompt[..<count]
        else { return nil }
        let limit = min(prompt.count - 1, entry.tokens.count)
        while count < limit, entry.tokens[count] == prompt[count] { count += 1 }
        clock += 1
        entry.lastUse = clock
        entries[best.entry] = entry
        return (entry.cache.prefix(count), count)
    }

    /// Keeps a finished sequence's cache: `tokens` are the tokens at its positions (prompt, then answer).
    mutating func store(_ cache: KVCache, tokens: [Int], context: Context) {
        let length = min(cache.count, tokens.count)
        let blocks = length / Self.blockSize
        guard blocks > 0 else { return }
        let hashes = Self.hashes(tokens, blocks: blocks, context: context)
        clock += 1
        if let last = hashes.last, let found = index[last], found.blocks == blocks, var entry = entries[found.entry],
            entry.context == context, entry.tokens.count >= length, entry.tokens.starts(with: tokens[..<length])
        {
            // Already cached (the same conversation again): only its recency changes.
            entry.lastUse = clock
            entries[found.entry] = entry
            return
        }
        let id = nextID
        nextID += 1
        entries[id] = Entry(
            cache: cache.prefix(length),
            tokens: Array(tokens[..<length]),
            context: context,
            hashes: hashes,
            lastUse: clock,
            resident: cache.count
        )
        positions += cache.count
        for (i, hash) in hashes.enumerated() { index[hash] = (id, i + 1) }
        // Entries whose every block is now found in the new one are dropped.
        let superseded = entries.keys.filter { other in
            other != id && entries[other]?.hashes.allSatisfy { index[$0]?.entry != other } == true
        }
        for other in superseded { remove(other) }
    }

    /// Evicts least recently used sequences until the cache holds at most `limit` positions.
    mutating func evict(toHold limit: Int) {
        while positions > max(0, limit), let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            remove(oldest)
        }
    }

    private mutating func remove(_ id: Int) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        positions -= entry.resident
        for hash in entry.hashes where index[hash]?.entry == id { index[hash] = nil }
    }
}
