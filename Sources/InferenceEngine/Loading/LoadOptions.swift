internal import Foundation

/// How a model is loaded and run: threads, weight quantization at load, KV cache precision.
public struct LoadOptions: Sendable, Hashable {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    /// Weight formats a Hugging Face checkpoint can be converted to while it is mapped.
    public enum Quantization: String, Sendable, Hashable, CaseIterable {
        /// 8-bit blocks of 32 (ggml's `Q8_0`).
        case q8_0
        /// 4-bit blocks of 32 (ggml's `Q4_0`); the output head is kept at `Q8_0`.
        case q4_0
    }

    /// The element type of the KV cache.
    public enum CacheType: String, Sendable, Hashable, CaseIterable {
        /// 32-bit floats (exact).
        case f32
        /// 16-bit IEEE floats (half the memory, the rounding of llama.cpp's default cache).
        case f16
    }

    /// Threads of the worker pool (the caller's thread and `threads - 1` others).
    public var threads: Int
    /// The format float weights are converted to at load, if any.
    public var quantization: Quantization?
    /// The KV cache's element type.
    public var kvCacheType: CacheType

    /// Creates options; by default one thread per core, weights as stored, an F32 cache.
    public init(threads: Int? = nil, quantization: Quantization? = nil, kvCacheType: CacheType = .f32) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.quantization = quantization
        self.kvCacheType = kvCacheType
    }
}
