internal import CKernels

// swift-format-ignore: AlwaysUseLowerCamelCase
/// The element type of a tensor: ggml's formats and numbering, so a GGUF tensor's type id is its raw value.
///
/// F32, F16 and BF16 store one value per element; the others store blocks of 32 (`q8_0`, `q4_0`) or 256 (the K
/// quants) elements with their scales. Kernels for every type are in the `CKernels` target (`kt_types.h`).
public enum TensorType: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE floats.
    case f32 = 0
    /// 16-bit IEEE floats.
    case f16 = 1
    /// 4-bit blocks of 32 with an F16 scale.
    case q4_0 = 2
    /// 8-bit blocks of 32 with an F16 scale.
    case q8_0 = 8
    /// 4-bit super-blocks of 256 with 6-bit sub-block scales and minimums.
    case q4_K = 12
    /// 6-bit super-blocks of 256 with 8-bit sub-block scales.
    case q6_K = 14
    /// 8-bit super-blocks of 256 (the activation format for K-quant products).
    case q8_K = 15
    /// bfloat16: the high half of an F32.
    case bf16 = 30
    /// `q4_0` with 8 rows interleaved for the matrix product (the engine's own layout, never read from a file).
    case q4_0R8 = 1002
    /// `q8_0` with 8 rows interleaved for the matrix product (the engine's own layout, never read from a file).
    case q8_0R8 = 1008

    /// The C kernels' name for the type.
    var kernel: kt_type { kt_type(rawValue: UInt32(rawValue)) }

    /// Elements per block (1 for the float types).
    public var blockElements: Int { Int(kt_block_elements(kernel)) }

    /// Bytes per block.
    public var blockBytes: Int { Int(kt_block_bytes(kernel)) }

    /// Bytes of a row of `count` elements (`count` a multiple of ``blockElements``).
    public func rowBytes(_ count: Int) -> Int { count / blockElements * blockBytes }

    /// The type activations take for products with weights of this type.
    var activation: TensorType { TensorType(rawValue: Int32(kt_activation_type(kernel).rawValue)) ?? .f32 }

    /// The interleaved layout the loader gives this type's weights (`q8_0R8`, `q4_0R8`), if it has one.
    var interleaved: TensorType? {
        let kernel = kt_interleaved_type(kernel)
        return kernel == self.kernel ? nil : TensorType(rawValue: Int32(kernel.rawValue))
    }

    /// Whether this is an interleaved layout (rows in groups of 8, not contiguous).
    var isInterleaved: Bool { rowType != self }

    /// The ggml type whose rows an interleaved layout holds (`q8_0` for `q8_0R8`); the type itself otherwise.
    var rowType: TensorType {
        switch self {
        case .q8_0R8: .q8_0
        case .q4_0R8: .q4_0
        default: self
        }
    }

    /// The name ggml prints (`f32`, `q4_K`, ...).
    public var description: String { String(cString: kt_type_name(Int32(rawValue))) }
}
