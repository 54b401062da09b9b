import EngineText
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Prints tokenizer throughput on about 1 MB of mixed text (code, several scripts, emoji, whitespace runs, combining
/// marks) for each `tokenizer.json` given, by default the converted llama.cpp vocabularies that `make test` puts in
/// `.cache/tokenizers/`.
@main
enum TokenizerBench {
    static let pieces = [
        "The quick brown fox jumps over the lazy dog. It's 3.14159 o'clock, isn't it? ",
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n",
        "for (int i = 0; i < count; ++i) {\n\ttotal += values[i] * 2;\n}\n",
        "Съешь же ещё этих мягких французских булок, да выпей чаю. ", "Γειά σου Κόσμε! ",
        "你好，世界！今天的天气非常好，我们一起去公园散步吧。", "日本語のテキストとカタカナ、ひらがな。",
        "안녕하세요, 세계! 한국어 텍스트입니다. ", "مرحبا بالعالم، كيف حالك اليوم؟ ", "नमस्ते दुनिया, आप कैसे हैं? ",
        "Tiếng Việt có dấu: Cửa Việt, Hà Nội. ", "Emoji 🙂 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇫🇷 ", "e\u{301} a\u{300} o\u{308} ",
        "    indented   with   runs\n\n\n\t\ttabs  \r\n",
        "{\"key\": [1, 2.5, -3e10, null, true], \"name\": \"value\"}\n",
    ]

    static func text(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator.Seeded(seed: 12)
        var out = ""
        out.reserveCapacity(bytes + 256)
        while out.utf8.count < bytes {
            out += pieces[Int(generator.next() % UInt64(pieces.count))]
        }
        return out
    }

    /// CPU time of this thread: throughput per CPU second does not depend on what else the machine runs.
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func main() throws {
        var paths = Array(CommandLine.arguments.dropFirst())
        if paths.isEmpty {
            let names = [
                "phi-3", "llama-spm", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder", "gpt-2",
                "command-r", "gemma-4",
            ]
            paths = names.map { ".cache/tokenizers/\($0)/tokenizer.json" }
                .filter { FileManager.default.fileExists(atPath: $0) }
        }
        guard !paths.isEmpty else {
            print("usage: kaito-tokenizer-bench [tokenizer.json ...] (default: .cache/tokenizers/*, made by make test)")
            return
        }
        let sample = text(bytes: 1 << 20)
        let megabytes = Double(sample.utf8.count) / 1_048_576
        print("text: \(sample.utf8.count) bytes of mixed text")
        for path in paths {
            let loadStart = ContinuousClock.now
            let tokenizer = try Tokenizer(path: path)
            let load = ContinuousClock.now - loadStart
            let start = ContinuousClock.now
            let cpuStart = cpuSeconds()
            let ids = tokenizer.encode(sample, addSpecialTokens: false)
            let cpu = cpuSeconds() - cpuStart
            let encode = ContinuousClock.now - start
            let decodeStart = ContinuousClock.now
            let decoded = tokenizer.decode(ids)
            let decode = ContinuousClock.now - decodeStart
            let seconds = Double(encode.components.seconds) + Double(encode.components.attoseconds) / 1e18
            let decodeSeconds =
                Double(decode.components.seconds) + Double(decode.components.attoseconds) / 1e18
            // One 16,000-character word: quadratic merging took seconds here.
            let word = String(repeating: "tokenization", count: 1_334).prefix(16_000)
            let wordStart = ContinuousClock.now
            _ = tokenizer.encode(String(word), addSpecialTokens: false)
            let wordTime = ContinuousClock.now - wordStart
            let name = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            print(
                "\(name): load \(load), encode \(ids.count) tokens at "
                    + String(format: "%.2f MB/s (%.2f MB per CPU second)", megabytes / seconds, megabytes / cpu)
                    + ", decode at "
                    + String(format: "%.2f MB/s", Double(decoded.utf8.count) / 1_048_576 / decodeSeconds)
                    + ", one 16,000-character word in \(wordTime)"
            )
        }
    }
}

extension SystemRandomNumberGenerator {
    /// A small deterministic generator (SplitMix64), so every run tokenizes the same text.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
