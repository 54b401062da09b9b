internal import CKernels

/// The forward pass of one chunk of tokens: every worker of the pool runs this, taking its share of each phase, with
/// a barrier between phases. The graph is the same for the four architectures (pre-norm decoder, RoPE, grouped-query
/// attention, SiLU-gated MLP); they differ in fused projections, biases and rotary scaling, all settled at load.
extension CausalLM {
    func pass(
        tokens: [Int],
        range: Range<Int>,
        start: Int,
        sequenceLength: Int,
        state s: SequenceState,
        logits: Bool
    ) {
        let count = range.count
        let h = config.hiddenSize
        let half = config.headDimension / 2
        pool.run { worker in
            // Products share their rows dynamically, alternating between two claim counters (see `product`).
            var products = 0
            if worker == 0 {
                pool.resetClaims(0)
                pool.resetClaims(1)
            }
            for t in pool.share(count, worker) {
                let token = tokens[range.lowerBound + t]
                kt_dequantize_row(embeddings.type.kernel, embeddings.row(token), s.x + t * h, Int64(h))
                rotary.angles(
                    position: start + t,
                    sequenceLength: sequenceLength,
                    cosines: s.cosines + t * half,
                    sines: s.sines + t * half
                )
            }
            pool.barrier()
            for l in layers.indices {
                let layer = layers[l]
                let group = groups[l]
                prepareNormed(group.qkv, weights: layer.inputNorm, count: count, state: s, worker: worker)
                product(
                    group.qkv,
                    input: s.normed,
                    output: s.qkv,
                    count: count,
                    state: s,
                    worker: worker,
                    products: &products
                )
                if count == 1 {
                    rotateAndAttendOne(layer: l, position: start, state: s, worker: worker)
                } else {
                    rotateAndCache(layer: l, start: start, count: count, state: s, worker: worker)
                    attend(layer: l, start: start, count: count, state: s, worker: worker)
                }
                prepare(group.output, input: s.attended, count: count, state: s, worker: worker, fill: nil)
                product(
                    group.output,
                    input: s.attended,
                    output: s.projected,
                    residual: s.x,
                    count: count,
                    state: s,
                    worker: worker,
                    products: &products
                )
                prepareNormed(group.gateUp, weights: layer.postAttentionNorm, count: count, state: s, worker: worker)
                product(
                    group.gateUp,
                    input: s.normed,
                    output: s.gateUp,
                    count: count,
                    state: s,
                    worker: worker,
                    products: &products
                )
                let size = config.intermediateSize
                prepare(group.down, input: s.activated, count: count, state: s, worker: worker) { t, part in
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
                    worker: worker,
                    products: &products
                )
            }
            guard logits else { return }
            // Only the last token's logits are needed.
            prepareNormed(headGroup, weights: finalNorm, firstRow: count - 1, count: 1, state: s, worker: worker)
            product(
                headGroup,
                input: s.normed,
                output: s.logits,
                count: 1,
                state: s,
                worker: worker,
                products: &products
            )
        }
    }

    /// Fills `s.normed` with the RMS norm (under `weights`) of `count` rows of the residual stream from `firstRow`,
    /// converted for `group`: the norm before attention, before the MLP and before the head.
    private func prepareNormed(
        _ group: ProductGroup,
        weights: [Float],
        firstRow: Int = 0,
        count: Int,
        state s: SequenceState,
        worker: Int
    ) {
        let h = config.hiddenSize
        let epsilon = config.rmsNormEpsilon
        weights.withUnsafeBufferPointer { w in
            prepare(group, input: s.normed, count: count, state: s, worker: worker) { t, part in
                kt_rms_norm_range(
                    s.x + (firstRow + t) * h,
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
            loraDown(group, input: input, count: count, state: s, worker: worker)
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
            productRows(group, rows: rows, input: input, output: output, residual: residual, count: count, state: s)
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
        state s: SequenceState
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
                        let down = s.lora + t * s.shape.loraWidth + offset
                        for r in lower..<upper {
                            var sum: Float = 0
                            for k in 0..<rank { sum += b[r * rank + k] * down[k] }
                            y[t * group.width + r] += delta.scale * sum
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

    /// `A x` of every LoRA delta of the group for every token, the (token, rank row) pairs split across workers.
    private func loraDown(
        _ group: ProductGroup,
        input: UnsafeMutablePointer<Float>,
        count: Int,
        state s: SequenceState,
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
                    for t in 0..<count {
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

    /// Rotary embeddings of every query and key head, and the keys and values of the chunk into the cache.
    private func rotateAndCache(layer: Int, start: Int, count: Int, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let heads = c.headCount
        let kvHeads = c.keyValueHeadCount
        let qSize = heads * hd
        let kvSize = kvHeads * hd
        let width = s.shape.qkvWidth
        let interleaved: Int32 = rotary.layout == .interleaved ? 1 : 0
        let half = hd / 2
        for unit in pool.share(count * (heads + kvHeads), worker) {
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
            let at = s.offset(layer: layer, head: head, position: start + t)
            if s.shape.cacheType == .f16 {
                kt_store_f16(key, (s.keys + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
                kt_store_f16(value, (s.values + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
            } else {
                (s.keys + at).copyMemory(from: key, byteCount: hd * 4)
                (s.values + at).copyMemory(from: value, byteCount: hd * 4)
            }
        }
        pool.barrier()
    }

    /// Rotary embeddings, cache write and attention of one token (decoding) in one phase.
    ///
    /// Each worker takes whole key/value heads, rotates that head's key and its group of
    /// queries, writes the key and value into the cache and attends, with no barrier in between (the token attends
    /// only to cached positions and itself). Same bits as the chunked path.
    private func rotateAndAttendOne(layer: Int, position: Int, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let group = c.headCount / c.keyValueHeadCount
        let qSize = c.headCount * hd
        let kvSize = c.keyValueHeadCount * hd
        let interleaved: Int32 = rotary.layout == .interleaved ? 1 : 0
        let kvType: Int32 = s.shape.cacheType == .f16 ? 1 : 0
        let scale = 1 / Float(hd).squareRoot()
        let first = c.slidingWindow.map { max(0, position + 1 - $0) } ?? 0
        for head in pool.share(c.keyValueHeadCount, worker) {
            let key = s.qkv + qSize + head * hd
            let value = s.qkv + qSize + kvSize + head * hd
            kt_rope(key, 1, Int64(hd), s.cosines, s.sines, interleaved)
            let at = s.offset(layer: layer, head: head, position: position)
            if s.shape.cacheType == .f16 {
                kt_store_f16(key, (s.keys + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
                kt_store_f16(value, (s.values + at).assumingMemoryBound(to: UInt16.self), Int64(hd))
            } else {
                (s.keys + at).copyMemory(from: key, byteCount: hd * 4)
                (s.values + at).copyMemory(from: value, byteCount: hd * 4)
            }
            let queries = s.qkv + head * group * hd
            kt_rope(queries, Int64(group), Int64(hd), s.cosines, s.sines, interleaved)
            let from = s.offset(layer: layer, head: head, position: first)
            kt_attention(
                queries,
                Int64(group),
                Int64(hd),
                s.keys + from,
                s.values + from,
                kvType,
                Int64(hd),
                Int64(position + 1 - first),
                scale,
                s.attended + head * group * hd,
                Int64(hd)
            )
        }
        pool.barrier()
    }

    /// Causal attention of every (token, query head) pair, split across workers; consecutive heads of one token
    /// that share a key/value head go to the kernel together.
    private func attend(layer: Int, start: Int, count: Int, state s: SequenceState, worker: Int) {
        let c = config
        let hd = c.headDimension
        let heads = c.headCount
        let group = heads / c.keyValueHeadCount
        let width = s.shape.qkvWidth
        let scale = 1 / Float(hd).squareRoot()
        let kvType: Int32 = s.shape.cacheType == .f16 ? 1 : 0
        let units = pool.share(count * heads, worker)
        var unit = units.lowerBound
        while unit < units.upperBound {
            let t = unit / heads
            let head = unit % heads
            let kvHead = head / group
            var end = unit + 1
            while end < units.upperBound, end / heads == t, (end % heads) / group == kvHead { end += 1 }
            let positions = start + t + 1
            let first = c.slidingWindow.map { max(0, positions - $0) } ?? 0
            let at = s.offset(layer: layer, head: kvHead, position: first)
            kt_attention(
                s.qkv + t * width + head * hd,
                Int64(end - unit),
                Int64(hd),
                s.keys + at,
                s.values + at,
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
