internal import CKernels

/// The forward pass of one chunk of tokens: every worker of the pool runs this, taking its share of each phase, with
/// a barrier between phases. The graph is the same for the four architectures (pre-norm decoder, RoPE, grouped-query
/// attention, SiLU-gated MLP); they differ in fused projections, biases and rotary scaling, all settled at load.
extension CausalLM {
    /// Runs the tokens of `batch` (one sequence's chunk, or several sequences' tokens side by side) through the
    /// model in `scratch`, writing keys and values into each token's own cache and the logits of `batch.logitRows`
    /// into `scratch.logits`, one row each.
    ///
    /// Every product reads each weight row once for all the batch's tokens; norms, products, LoRA branches and
    /// attention compute per token the bits they compute for that token alone (the kernels' contract), so a sequence
    /// gets the same logits whatever it is batched with.
    func pass(_ batch: PassBatch, scratch s: SequenceState) {
        let count = batch.count
        precondition(count > 0 && count <= s.shape.chunk && batch.logitRows.count <= s.shape.logitRows)
        let headStrengths = batch.logitRows.flatMap { batch.strengths(of: $0) }
        batch.strengths.withUnsafeBufferPointer { tokenScales in
            headStrengths.withUnsafeBufferPointer { headScales in
                let scales = LoRAStrengths(base: tokenScales.baseAddress, stride: batch.adapterCount)
                let head = LoRAStrengths(base: headScales.baseAddress, stride: batch.adapterCount)
                pool.run { worker in
                    layerPasses(batch, scratch: s, strengths: scales, headStrengths: head, worker: worker)
                }
            }
        }
    }

    /// One worker's part of ``pass(_:scratch:)``.
    private func layerPasses(
        _ batch: PassBatch,
        scratch s: SequenceState,
        strengths: LoRAStrengths,
        headStrengths: LoRAStrengths,
        worker: Int
    ) {
        let count = batch.count
        let h = config.hiddenSize
        let half = config.headDimension / 2
        // Products share their rows dynamically, alternating between two claim counters (see `product`).
        var products = 0
        if worker == 0 {
            pool.resetClaims(0)
            pool.resetClaims(1)
        }
        for t in pool.share(count, worker) {
            kt_dequantize_row(embeddings.type.kernel, embeddings.row(batch.tokens[t]), s.x + t * h, Int64(h))
            rotary.angles(
                position: batch.positions[t],
                sequenceLength: batch.lengths[t],
                cosines: s.cosines + t * half,
                sines: s.sines + t * half
            )
        }
        pool.barrier()
        for l in layers.indices {
            let layer = layers[l]
            let group = groups[l]
            prepareNormed(
                group.qkv,
                weights: layer.inputNorm,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker
            )
            product(
                group.qkv,
                input: s.normed,
                output: s.qkv,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker,
                products: &products
            )
            if batch.singleTokens {
                rotateAndAttendOne(layer: l, batch: batch, state: s, worker: worker)
            } else {
                rotateAndCache(layer: l, batch: batch, state: s, worker: worker)
                attend(layer: l, batch: batch, state: s, worker: worker)
            }
            prepare(
                group.output,
                input: s.attended,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker,
                fill: nil
            )
            product(
                group.output,
                input: s.attended,
                output: s.projected,
                residual: s.x,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker,
                products: &products
            )
            prepareNormed(
                group.gateUp,
                weights: layer.postAttentionNorm,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker
            )
            product(
                group.gateUp,
                input: s.normed,
                output: s.gateUp,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker,
                products: &products
            )
            let size = config.intermediateSize
            prepare(group.down, input: s.activated, count: count, state: s, strengths: strengths, worker: worker) {
                t,
                part in
                let row = s.gateUp + t * 2 * size
                kt_silu_mul(
                    row + part.lowerBound,
                    row + size + part.lowerBound,
                    s.activated + t * size + part.lowerBound,
                    Int64(part.count)
                )
            }
            product(
                group.down,
                input: s.activated,
                output: s.projected,
                residual: s.x,
                count: count,
                state: s,
                strengths: strengths,
                worker: worker,
                products: &products
            )
        }
        let rows = batch.logitRows
        guard !rows.isEmpty else { return }
        // Only the logits asked for (each sequence's last token) are computed.
        prepareNormed(
            headGroup,
            weights: finalNorm,
            rows: rows,
            count: rows.count,
            state: s,
            strengths: headStrengths,
            worker: worker
        )
        product(
            headGroup,
            input: s.normed,
            output: s.logits,
            count: rows.count,
            state: s,
            strengths: headStrengths,
            worker: worker,
            products: &products
        )
    }

    /// Fills `s.normed` with the RMS norm (under `weights`) of `count` rows of the residual stream (`rows`, default
    /// the first `count`), converted for `group`: the norm before attention, before the MLP and before the head.
    private func prepareNormed(
        _ group: ProductGroup,
        weights: [Float],
        rows: [Int]? = nil,
        count: Int,
        state s: SequenceState,
        strengths: LoRAStrengths,
        worker: Int
    ) {
        let h = config.hiddenSize
        let epsilon = config.rmsNormEpsilon
        weights.withUnsafeBufferPointer { w in
            prepare(group, input: s.normed, count: count, state: s, strengths: strengths, worker: worker) { t, part in
                kt_rms_norm_range(
                    s.x + (rows?[t] ?? t) * h,
                    w.baseAddress,
                    s.normed + t * h,
                    Int64(h),
                    epsilon,
                    Int64(part.lowerBound),
                    Int64(part.upperBound)
                )
            }
        }
    }

    /// Fills and converts the input rows of a product group.
    ///
    /// `fill(token, elements)` is a norm, the SiLU gate, or nothing when the rows are already there; the rows are
    /// then converted to the activation formats the group's weights need, each
    /// worker on its own share (whole tokens, or when there are fewer tokens than workers, ranges of every row
    /// aligned to 256 elements: whole blocks of every format), so filling and converting need no barrier between
    /// them; then the LoRA down-projections (after a barrier: they read whole rows). One barrier at the end; none
    /// at all when there is nothing to fill or convert.
    private func prepare(
        _ group: ProductGroup,
        input: UnsafeMutablePointer<Float>,
        count: Int,
        state s: SequenceState,
        strengths: LoRAStrengths,
        worker: Int,
        fill: ((Int, Range<Int>) -> Void)?
    ) {
        guard fill != nil || group.needsConversion else { return }
        let n = group.inputs
        func convert(_ t: Int, _ part: Range<Int>) {
            fill?(t, part)
            for type in group.activationTypes {
                guard let buffer = s.quantized[type] else { continue }
                _ = kt_quantize_row(
                    type.kernel,
                    input + t * n + part.lowerBound,
                    buffer + t * type.rowBytes(n) + part.lowerBound / type.blockElements * type.blockBytes,
                    Int64(part.count)
                )
            }
        }
        if count >= pool.count {
            for t in pool.share(count, worker) { convert(t, 0..<n) }
        } else {
            let part = pool.share(n, worker, align: 256)
            if !part.isEmpty { for t in 0..<count { convert(t, part) } }
        }
        if group.loraWidth > 0 {
            pool.barrier()
            loraDown(group, input: input, count: count, state: s, strengths: strengths, worker: worker)
        }
        pool.barrier()
    }

    /// One group of products over `count` tokens of `input` (prepared by `prepare`): every weight row once for all
    /// tokens, rows claimed by workers in chunks, with bias, LoRA up-projections and the residual add on each
    /// worker's own rows.
    private func product(
        _ group: ProductGroup,
        input: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>,
        residual: UnsafeMutablePointer<Float>? = nil,
        count: Int,
        state s: SequenceState,
        strengths: LoRAStrengths,
        worker: Int,
        products: inout Int
    ) {
        // Rows in chunks of a multiple of 16, claimed dynamically from this phase's counter; worker 0 resets the
        // other counter, which no worker uses until after this phase's closing barrier.
        let slot = products & 1
        products += 1
        if worker == 0 { pool.resetClaims(slot ^ 1) }
        let chunk = max(16, (group.rows / (pool.count * 8) + 15) / 16 * 16)
        let chunks = (group.rows + chunk - 1) / chunk
        while true {
            let claimed = pool.claim(slot)
            guard claimed < chunks else { break }
            let rows = (claimed * chunk)..<min(group.rows, (claimed + 1) * chunk)
            productRows(
                group,
                rows: rows,
                input: input,
                output: output,
                residual: residual,
                count: count,
                state: s,
                strengths: strengths
            )
        }
        pool.barrier()
    }

    /// The rows `rows` (of the group's members side by side) of a product, with bias, LoRA up-projections and the
    /// residual add.
    private func productRows(
        _ group: ProductGroup,
        rows: Range<Int>,
        input: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>,
        residual: UnsafeMutablePointer<Float>?,
        count: Int,
        state s: SequenceState,
        strengths: LoRAStrengths
    ) {
        let n = group.inputs
        for member in group.members {
            let lower = max(rows.lowerBound, member.column) - member.column
            let upper = min(rows.upperBound, member.column + member.linear.outputs) - member.column
            guard lower < upper else { continue }
            let weight = member.linear.weight
            let activation = weight.type.activation
            let x: UnsafeRawPointer
            let stride: Int
            if activation == .f32 {
                x = UnsafeRawPointer(input)
                stride = n * 4
            } else {
                guard let buffer = s.quantized[activation] else { continue }
                x = UnsafeRawPointer(buffer)
                stride = activation.rowBytes(n)
            }
            let y = output + member.column
            kt_matmul(
                weight.type.kernel,
                Int64(n),
                weight.bytes,
                Int64(lower),
                Int64(upper),
                x,
                stride,
                Int64(count),
                y,
                Int64(group.width)
            )
            if let bias = member.linear.bias {
                for t in 0..<count { for r in lower..<upper { y[t * group.width + r] += bias[r] } }
            }
            var offset = member.loraOffset
            for delta in member.linear.deltas {
                let rank = delta.pair.rank
                delta.pair.b.withUnsafeBufferPointer { b in
                    guard let b = b.baseAddress else { return }
                    for t in 0..<count {
                        let strength = strengths[t, delta.adapter]
                        guard strength != 0 else { continue }
                        let scale = strength * delta.pair.scaling
                        let down = s.lora + t * s.shape.loraWidth + offset
                        for r in lower..<upper {
                            var sum: Float = 0
                            for k in 0..<rank { sum += b[r * rank + k] * down[k] }
                            y[t * group.width + r] += scale * sum
                        }
                    }
                }
                offset += rank
            }
            if let residual {
                for t in 0..<count {
                    for r in lower..<upper { residual[t * group.width + r] += y[t * group.width + r] }
                }
            }
        }
    }

    /// `A x` of every LoRA delta of the group for every token that applies it, the (token, rank row) pairs split
    /// across workers.
    private func loraDown(
        _ group: ProductGroup,
        input: UnsafeMutablePointer<Float>,
        count: Int,
        state s: SequenceState,
        strengths: LoRAStrengths,
        worker: Int
    ) {
        let n = group.inputs
        let width = group.loraWidth
        let units = pool.share(count * width, worker)
        guard !units.isEmpty else { return }
        for member in group.members {
            var offset = member.loraOffset
            for delta in member.linear.deltas {
                let rank = delta.pair.rank
                delta.pair.a.withUnsafeBufferPointer { a in
                    guard let a = a.baseAddress else { return }
                    for t in 0..<count where strengths[t, delta.adapter] != 0 {
                        for k in 0..<rank where units.contains(t * width + offset + k) {
                            s.lora[t * s.shape.loraWidth + offset + k] = kt_vec_dot(
                                KT_F32,
                                Int64(n),
                                a + k * n,
                                input + t * n
                            )
                        }
                    }
                }
                offset += rank
            }
        }
    }

    /// Rotary embeddings of every query and key head, and the keys and values of the batch into each token's cache.
    private func rotateAndCache(layer: Int, batch: PassBatch, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let heads = c.headCount
        let kvHeads = c.keyValueHeadCount
        let qSize = heads * hd
        let kvSize = kvHeads * hd
        let width = s.shape.qkvWidth
        let interleaved: Int32 = rotary.layout == .interleaved ? 1 : 0
        let half = hd / 2
        for unit in pool.share(batch.count * (heads + kvHeads), worker) {
            let t = unit / (heads + kvHeads)
            let j = unit % (heads + kvHeads)
            let row = s.qkv + t * width
            let cosines = s.cosines + t * half
            let sines = s.sines + t * half
            if j < heads {
                kt_rope(row + j * hd, 1, Int64(hd), cosines, sines, interleaved)
                continue
            }
            let head = j - heads
            let key = row + qSize + head * hd
            let value = row + qSize + kvSize + head * hd
            kt_rope(key, 1, Int64(hd), cosines, sines, interleaved)
            store(
                key: key,
                value: value,
                into: batch.states[batch.owners[t]],
                layer: layer,
                head: head,
                position: batch.positions[t]
            )
        }
        pool.barrier()
    }

    /// Writes one head's key and value at `position` of a sequence's cache.
    private func store(
        key: UnsafeMutablePointer<Float>,
        value: UnsafeMutablePointer<Float>,
        into kv: SequenceState,
        layer: Int,
        head: Int,
        position: Int
    ) {
        let hd = config.headDimension
        let at = kv.offset(layer: layer, head: head, position: position)
        if kv.shape.cacheType == .f16 {
            kt_store_f16(key, (kv.keys + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
            kt_store_f16(value, (kv.values + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
        } else {
            (kv.keys + at).copyMemory(from: key, byteCount: hd * 4)
            (kv.values + at).copyMemory(from: value, byteCount: hd * 4)
        }
    }

    /// Rotary embeddings, cache write and attention of a batch of one token per sequence (decoding) in one phase.
    ///
    /// Each worker takes whole (token, key/value head) pairs, rotates that head's key and its group of queries,
    /// writes the key and value into the token's cache and attends, with no barrier in between (a token attends only
    /// to its own sequence's cached positions and itself). Same bits as the chunked path.
    private func rotateAndAttendOne(layer: Int, batch: PassBatch, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let group = c.headCount / c.keyValueHeadCount
        let kvHeads = c.keyValueHeadCount
        let qSize = c.headCount * hd
        let kvSize = kvHeads * hd
        let width = s.shape.qkvWidth
        let half = hd / 2
        let interleaved: Int32 = rotary.layout == .interleaved ? 1 : 0
        let scale = 1 / Float(hd).squareRoot()
        for unit in pool.share(batch.count * kvHeads, worker) {
            let t = unit / kvHeads
            let head = unit % kvHeads
            let position = batch.positions[t]
            let kv = batch.states[batch.owners[t]]
            let kvType: Int32 = kv.shape.cacheType == .f16 ? 1 : 0
            let first = c.slidingWindow.map { max(0, position + 1 - $0) } ?? 0
            let row = s.qkv + t * width
            let cosines = s.cosines + t * half
            let sines = s.sines + t * half
            let key = row + qSize + head * hd
            let value = row + qSize + kvSize + head * hd
            kt_rope(key, 1, Int64(hd), cosines, sines, interleaved)
            store(key: key, value: value, into: kv, layer: layer, head: head, position: position)
            let queries = row + head * group * hd
            kt_rope(queries, Int64(group), Int64(hd), cosines, sines, interleaved)
            let from = kv.offset(layer: layer, head: head, position: first)
            kt_attention(
                queries,
                Int64(group),
                Int64(hd),
                kv.keys + from,
                kv.values + from,
                kvType,
                Int64(hd),
                Int64(position + 1 - first),
                scale,
                s.attended + t * s.shape.queryWidth + head * group * hd,
                Int64(hd)
            )
        }
        pool.barrier()
    }

    /// Causal attention of every (token, query head) pair, split across workers, each token over its own sequence's
    /// cache; consecutive heads of one token that share a key/value head go to the kernel together.
    private func attend(layer: Int, batch: PassBatch, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let heads = c.headCount
        let group = heads / c.keyValueHeadCount
        let width = s.shape.qkvWidth
        let scale = 1 / Float(hd).squareRoot()
        let units = pool.share(batch.count * heads, worker)
        var unit = units.lowerBound
        while unit < units.upperBound {
            let t = unit / heads
            let head = unit % heads
            let kvHead = head / group
            var end = unit + 1
            while end < units.upperBound, end / heads == t, (end % heads) / group == kvHead { end += 1 }
            let positions = batch.positions[t] + 1
            let first = c.slidingWindow.map { max(0, positions - $0) } ?? 0
            let kv = batch.states[batch.owners[t]]
            let kvType: Int32 = kv.shape.cacheType == .f16 ? 1 : 0
            let at = kv.offset(layer: layer, head: kvHead, position: first)
            kt_attention(
                s.qkv + t * width + head * hd,
                Int64(end - unit),
                Int64(hd),
                kv.keys + at,
                kv.values + at,
                kvType,
                Int64(hd),
                Int64(positions - first),
                scale,
                s.attended + t * s.shape.queryWidth + head * hd,
                Int64(hd)
            )
            unit = end
        }
        pool.barrier()
    }
}

/// The tokens of one forward pass: one sequence's chunk, or the next tokens of several sequences side by side (one
/// each when decoding, a chunk for one being prefilled), each token with its position, its sequence's cache and its
/// sequence's adapter strengths.
struct PassBatch {
    /// Token ids.
    private(set) var tokens: [Int] = []
    /// Each token's position in its sequence.
    private(set) var positions: [Int] = []
    /// Each token's sequence length for the rotary factors (Phi-3's long context).
    private(set) var lengths: [Int] = []
    /// Each token's sequence, an index into `states`.
    private(set) var owners: [Int] = []
    /// The sequences' caches.
    private(set) var states: [SequenceState] = []
    /// The tokens whose logits are computed, in order (one row of the scratch's logits each).
    private(set) var logitRows: [Int] = []
    /// `adapterCount` strengths per token.
    private(set) var strengths: [Float] = []
    /// Adapters attached to the model.
    let adapterCount: Int
    /// Whether every sequence brings exactly one token (then token `t` belongs to sequence `t`).
    private(set) var singleTokens = true

    init(adapterCount: Int) { self.adapterCount = adapterCount }

    var count: Int { tokens.count }

    /// Adds a sequence's next tokens, written at `start` onwards in `state`'s cache; `logits` asks for the logits
    /// after the last of them.
    mutating func append(
        tokens new: some Collection<Int>,
        start: Int,
        sequenceLength: Int,
        state: SequenceState,
        strengths: [Float],
        logits: Bool
    ) {
        precondition(!new.isEmpty && strengths.count == adapterCount)
        let owner = states.count
        states.append(state)
        if new.count != 1 { singleTokens = false }
        for (i, token) in new.enumerated() {
            tokens.append(token)
            positions.append(start + i)
            lengths.append(sequenceLength)
            owners.append(owner)
            self.strengths.append(contentsOf: strengths)
        }
        if logits { logitRows.append(tokens.count - 1) }
    }

    /// The strengths of token `t`.
    func strengths(of t: Int) -> ArraySlice<Float> { strengths[(t * adapterCount)..<((t + 1) * adapterCount)] }
}

/// Per-token adapter strengths for the LoRA branches of a pass: row `t` holds token `t`'s strength of every adapter.
struct LoRAStrengths {
    let base: UnsafePointer<Float>?
    let stride: Int

    /// Token `t`'s strength of adapter `adapter`.
    subscript(t: Int, adapter: Int) -> Float { base.map { $0[t * stride + adapter] } ?? 0 }
}
