internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// The keys and values of every layer for the positions seen so far, in one preallocated block, and the scratch
/// memory a forward pass of this sequence works in, so decoding allocates nothing per token.
///
/// Keys and values are laid out `[layer][kv head][position][head dim]` in F32 or F16 (``LoadOptions/CacheType``),
/// for the model's whole context. The block is reserved address space: only the pages of positions actually written
/// become resident. A copy of a cache is a value: the first forward through a shared copy copies the block.
public struct KVCache: Sendable {
    var state: SequenceState
    /// Positions cached.
    public private(set) var count = 0

    init(state: SequenceState) { self.state = state }

    /// Makes the storage unique before a write (copy on write) and returns it.
    mutating func prepareWrite() -> SequenceState {
        if !isKnownUniquelyReferenced(&state) { state = state.copy(positions: count) }
        return state
    }

    mutating func advance(by positions: Int) { count += positions }

    /// The cache of the first `positions` positions only: it shares this cache's storage until the first forward
    /// pass through it, which copies those positions (prefix reuse: a prompt that begins like a cached sequence runs
    /// only the rest).
    public func prefix(_ positions: Int) -> KVCache {
        var cache = self
        cache.count = max(0, min(positions, count))
        return cache
    }
}

/// Sizes of a sequence's buffers, from the model.
struct SequenceShape: Sendable, Hashable {
    var layers: Int
    var keyValueHeads: Int
    var headDimension: Int
    var capacity: Int
    var cacheType: LoadOptions.CacheType
    /// Tokens per forward chunk.
    var chunk: Int
    var hidden: Int
    var queryWidth: Int
    var qkvWidth: Int
    var intermediate: Int
    var gateUpWidth: Int
    var vocabulary: Int
    /// The widest input of any product (for quantized activations).
    var widestInput: Int
    /// The most LoRA down-projection floats of any product group, per token.
    var loraWidth: Int
    /// Tokens whose logits one pass computes (1 for a sequence's own scratch, one per sequence for a batch's).
    var logitRows: Int
}

/// The memory of one sequence: its KV cache and its forward pass's scratch.
// Justification for @unchecked Sendable: a KVCache owns it uniquely while a forward pass writes it (copy on write),
// and the pass's workers write disjoint parts between barriers.
final class SequenceState: @unchecked Sendable {
    let shape: SequenceShape
    let elementBytes: Int
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    private let cacheBytes: Int
    /// Residual stream, `chunk × hidden`.
    let x: UnsafeMutablePointer<Float>
    /// Normed input, `chunk × hidden`.
    let normed: UnsafeMutablePointer<Float>
    /// Q, K, V side by side, `chunk × qkvWidth`.
    let qkv: UnsafeMutablePointer<Float>
    /// Attention output, `chunk × queryWidth`.
    let attended: UnsafeMutablePointer<Float>
    /// Product output before the residual add, `chunk × hidden`.
    let projected: UnsafeMutablePointer<Float>
    /// Gate and up side by side, `chunk × gateUpWidth`.
    let gateUp: UnsafeMutablePointer<Float>
    /// SiLU(gate) · up, `chunk × intermediate`.
    let activated: UnsafeMutablePointer<Float>
    /// LoRA down-projections, `chunk × loraWidth`.
    let lora: UnsafeMutablePointer<Float>
    /// Rotary cosines and sines, `chunk × headDimension / 2` each.
    let cosines: UnsafeMutablePointer<Float>
    let sines: UnsafeMutablePointer<Float>
    /// Logits, `logitRows × vocabulary`.
    let logits: UnsafeMutablePointer<Float>
    /// Quantized activations, one buffer per format, `chunk` rows of the widest input.
    let quantized: [TensorType: UnsafeMutableRawPointer]
    private var allocations: [UnsafeMutableRawPointer] = []

    init(shape: SequenceShape) {
        self.shape = shape
        elementBytes = shape.cacheType == .f16 ? 2 : 4
        cacheBytes = shape.layers * shape.keyValueHeads * shape.capacity * shape.headDimension * elementBytes
        (keys, values) = Self.reserve(cacheBytes)
        var allocations: [UnsafeMutableRawPointer] = []
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
            allocations.append(pointer)
            return pointer.bindMemory(to: Float.self, capacity: max(1, count))
        }
        let c = shape.chunk
        x = floats(c * shape.hidden)
        normed = floats(c * shape.hidden)
        qkv = floats(c * shape.qkvWidth)
        attended = floats(c * shape.queryWidth)
        projected = floats(c * shape.hidden)
        gateUp = floats(c * shape.gateUpWidth)
        activated = floats(c * shape.intermediate)
        lora = floats(c * shape.loraWidth)
        cosines = floats(c * shape.headDimension / 2)
        sines = floats(c * shape.headDimension / 2)
        logits = floats(shape.logitRows * shape.vocabulary)
        var quantized: [TensorType: UnsafeMutableRawPointer] = [:]
        for type in [TensorType.q8_0, .q8_K] {
            let blocks = (shape.widestInput + type.blockElements - 1) / type.blockElements
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: c * blocks * type.blockBytes + 64, alignment: 64)
            allocations.append(pointer)
            quantized[type] = pointer
        }
        self.quantized = quantized
        self.allocations = allocations
    }

    deinit {
        // Kept for a later sequence (its first positions' pages resident), or unmapped.
        let positions = min(shape.capacity, Self.keptPositions)
        let charge = keptCharge
        let fits = Self.recycled.withLock { $0.bytes + charge <= Self.keptBytesLimit }
        if fits, cacheBytes > 0 {
            // Pages past the kept positions go back to the system before the block is offered to another thread.
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            for layer in 0..<shape.layers {
                for head in 0..<shape.keyValueHeads {
                    let from = (offset(layer: layer, head: head, position: positions) + page - 1) / page * page
                    let to = offset(layer: layer, head: head, position: shape.capacity) / page * page
                    guard to > from else { continue }
                    madvise(keys + from, to - from, Int32(MADV_DONTNEED))
                    madvise(values + from, to - from, Int32(MADV_DONTNEED))
                }
            }
            let block = Recycled(keys: Int(bitPattern: keys), values: Int(bitPattern: values), charge: charge)
            let kept = Self.recycled.withLock { state -> Bool in
                guard state.bytes + charge <= Self.keptBytesLimit else { return false }
                state.bytes += charge
                state.blocks[cacheBytes, default: []].append(block)
                return true
            }
            if !kept { Self.unmap(keys, values, cacheBytes) }
        } else {
            Self.unmap(keys, values, cacheBytes)
        }
        for pointer in allocations { pointer.deallocate() }
    }

    /// The resident bytes of this block once kept: the keys and values of its first ``keptPositions`` positions.
    var keptCharge: Int { 2 * shape.layers * shape.keyValueHeads * min(shape.capacity, Self.keptPositions) * rowBytes }

    /// How many more blocks like this one the recycling limit (``keptBytesLimit``) has room for.
    var blocksThatFit: Int {
        let charge = keptCharge
        guard charge > 0 else { return 0 }
        return max(0, Self.keptBytesLimit - Self.recycled.withLock { $0.bytes }) / charge
    }

    /// Writes the positions a recycled block keeps resident (``keptPositions``), so their pages are in memory
    /// before a sequence needs them.
    func prefault() {
        let bytes = min(shape.capacity, Self.keptPositions) * rowBytes
        for layer in 0..<shape.layers {
            for head in 0..<shape.keyValueHeads {
                let at = offset(layer: layer, head: head, position: 0)
                (keys + at).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                (values + at).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            }
        }
    }

    /// A KV block of an ended sequence, kept mapped: its keys' and values' addresses, and the bytes of its kept
    /// positions.
    private struct Recycled: Sendable {
        var keys: Int
        var values: Int
        var charge: Int
    }

    /// KV blocks of ended sequences, by size, kept for the next sequences.
    ///
    /// A sequence joining a batch with a cached prefix copies that prefix into its own block; in fresh address space
    /// every 4 KiB page of it faults on first write, which on this project's machines cost about 3 ms per sequence
    /// of a 128-token prefix (415M model): 37-50 ms of serial work before the first step of 15 requests arriving
    /// together (4-5 ms with recycled blocks). A kept block holds at most its first ``keptPositions`` positions
    /// resident, and all kept blocks at most ``keptBytesLimit`` bytes. Old contents are never read: attention reads
    /// only the positions a sequence has written.
    private static let recycled = Mutex<(blocks: [Int: [Recycled]], bytes: Int)>(([:], 0))
    private static let keptPositions = 256
    private static let keptBytesLimit = 256 << 20

    /// Address space for the keys and the values, `bytes` each: a kept block of that size, or fresh zero pages.
    private static func reserve(_ bytes: Int) -> (keys: UnsafeMutableRawPointer, values: UnsafeMutableRawPointer) {
        let block = recycled.withLock { state -> Recycled? in
            guard let block = state.blocks[bytes]?.popLast() else { return nil }
            state.bytes -= block.charge
            return block
        }
        if let block, let keys = UnsafeMutableRawPointer(bitPattern: block.keys),
            let values = UnsafeMutableRawPointer(bitPattern: block.values)
        {
            return (keys, values)
        }
        return (map(bytes), map(bytes))
    }

    private static func map(_ bytes: Int) -> UnsafeMutableRawPointer {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        guard let pointer = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, flags, -1, 0), pointer != MAP_FAILED
        else { fatalError("kaito-serve: cannot reserve \(bytes) bytes of address space for the KV cache") }
        return pointer
    }

    private static func unmap(_ keys: UnsafeMutableRawPointer, _ values: UnsafeMutableRawPointer, _ bytes: Int) {
        munmap(keys, max(bytes, 1))
        munmap(values, max(bytes, 1))
    }

    /// Bytes from one position to the next within a head.
    var rowBytes: Int { shape.headDimension * elementBytes }

    /// The first key of `position` for `head` of `layer` (values: same offset from ``values``).
    func offset(layer: Int, head: Int, position: Int) -> Int {
        ((layer * shape.keyValueHeads + head) * shape.capacity + position) * rowBytes
    }

    /// A new state holding the first `positions` of this one's cache.
    func copy(positions: Int) -> SequenceState {
        let copy = SequenceState(shape: shape)
        let bytes = positions * rowBytes
        for layer in 0..<shape.layers {
            for head in 0..<shape.keyValueHeads {
                let at = offset(layer: layer, head: head, position: 0)
                (copy.keys + at).copyMemory(from: keys + at, byteCount: bytes)
                (copy.values + at).copyMemory(from: values + at, byteCount: bytes)
            }
        }
        return copy
    }
}
