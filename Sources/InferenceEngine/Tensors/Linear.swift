internal import CKernels

/// A linear layer `y = W x (+ b) + Σ strength · scaling · B (A x)`: `W` is `[outputs × inputs]` in its stored format
/// (a mapped file's F32/F16/BF16, a GGUF block format, or quantized at load), computed through `kt_matmul`; the LoRA
/// deltas of ``LoRAAdapter`` are F32 side branches, never merged into `W`, and their strengths are chosen per token
/// (each sequence of a batch has its own), so one model serves every mix of adapters.
struct Linear: Sendable {
    /// One adapter's branch on this layer.
    struct Delta: Sendable {
        var pair: LoRAAdapter.Pair
        /// The adapter's index in the model's ``CausalLM/adapters``: a token's strength of it is
        /// `strengths[adapter]`.
        var adapter: Int
    }

    /// The weights.
    var weight: TensorView
    /// The bias, if any.
    var bias: [Float]?
    /// The adapter branches.
    var deltas: [Delta] = []

    /// Output size.
    var outputs: Int { weight.rows }
    /// Input size.
    var inputs: Int { weight.columns }
}

/// Linear layers that read the same input, computed in one phase with their rows split across workers.
///
/// The groups are Q, K and V; gate and up; or one layer alone. Outputs are written side by side, `width` floats per
/// token.
struct ProductGroup: Sendable {
    /// One layer of the group.
    struct Member: Sendable {
        var linear: Linear
        /// The first output column of this layer in a token's output row.
        var column: Int
        /// The first float of this layer's LoRA down-projections in a token's LoRA row.
        var loraOffset: Int
    }

    var members: [Member]
    /// Floats per token of the output.
    var width: Int
    /// Floats per token of the input.
    var inputs: Int
    /// Rows of all members together.
    var rows: Int
    /// The activation formats the members need besides F32, each converted once per product.
    var activationTypes: [TensorType]
    /// LoRA ranks of all members' deltas together (floats per token of the down-projections).
    var loraWidth: Int

    init(_ linears: [Linear]) {
        var members: [Member] = []
        var column = 0
        var lora = 0
        var types: [TensorType] = []
        for linear in linears {
            members.append(Member(linear: linear, column: column, loraOffset: lora))
            column += linear.outputs
            lora += linear.deltas.reduce(0) { $0 + $1.pair.rank }
            let activation = linear.weight.type.activation
            if activation != .f32, !types.contains(activation) { types.append(activation) }
        }
        self.members = members
        width = column
        inputs = linears.first?.inputs ?? 0
        rows = column
        activationTypes = types
        loraWidth = lora
    }

    /// Whether anything must be computed from the input before the products (quantized activations, LoRA).
    var needsConversion: Bool { !activationTypes.isEmpty || loraWidth > 0 }
}
