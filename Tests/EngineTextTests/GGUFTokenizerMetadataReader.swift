import EngineText
import Foundation
import GGUF

/// Reads the `tokenizer.ggml.*` metadata of llama.cpp's vocabulary files with the project's GGUF reader.
enum GGUFMetadataReader {
    /// The tokenizer metadata of a GGUF file, through the project's GGUF reader.
    static func read(_ path: String) throws -> GGUFTokenizerMetadata {
        try GGUFTokenizerMetadata(gguf: try GGUFFile(path: path))
    }
}
