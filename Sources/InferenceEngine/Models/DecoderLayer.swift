/// One decoder layer's weights (Llama, Mistral, Qwen2, Phi-3).
struct DecoderLayer: Sendable {
    var inputNorm: [Float]
    var postAttentionNorm: [Float]
    /// Q, K and V, separate (Llama, Mistral, Qwen2) or fused (Phi-3 `qkv_proj`).
    var query: Linear?
    var key: Linear?
    var value: Linear?
    var fusedQKV: Linear?
    var output: Linear
    var gate: Linear?
    var up: Linear?
    var fusedGateUp: Linear?
    var down: Linear

    /// The layer's products grouped by shared input.
    var groups: LayerGroups {
        LayerGroups(
            qkv: ProductGroup(fusedQKV.map { [$0] } ?? [query, key, value].compactMap { $0 }),
            output: ProductGroup([output]),
            gateUp: ProductGroup(fusedGateUp.map { [$0] } ?? [gate, up].compactMap { $0 }),
            down: ProductGroup([down])
        )
    }
}

/// A layer's four product phases.
struct LayerGroups: Sendable {
    var qkv: ProductGroup
    var output: ProductGroup
    var gateUp: ProductGroup
    var down: ProductGroup

    var all: [ProductGroup] { [qkv, output, gateUp, down] }
}
