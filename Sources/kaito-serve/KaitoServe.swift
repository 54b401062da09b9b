import ArgumentParser
import EngineServer
import Foundation
import Hummingbird
import InferenceEngine

@main
struct KaitoServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaito-serve",
        abstract: "Serve a Hugging Face model folder on the CPU with Kaito's /chat and the OpenAI API."
    )

    @Option(
        help: "The model folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json), or a .gguf file."
    )
    var model: String

    @Option(help: "The port.")
    var port: Int = 5000

    @Option(help: "The address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "Threads of the engine's worker pool (default: the machine's cores).")
    var threads: Int?

    @Option(help: "Quantize float weights at load: q8_0 or q4_0 (default: compute with the weights as stored).")
    var quantization: String?

    @Option(help: "The KV cache's element type: f32 or f16.")
    var kvCacheDtype: String = "f32"

    @Option(help: "The name clients use for the model (default: the folder name).")
    var servedModelName: String?

    @Option(help: "Requests allowed to wait before 429.")
    var maxWaiting: Int = 16

    @Option(help: "Sequences decoded together in one batch (vLLM's --max-num-seqs).")
    var maxNumSeqs: Int = SchedulerLimits().maxSequences

    @Option(
        help: ArgumentHelp(
            "Tokens one engine step runs at most (vLLM's --max-num-batched-tokens), at least --max-num-seqs.",
            discussion:
                "Every running sequence decodes one token per step; the tokens left go to chunks of prompts being prefilled, so a long prompt delays the others by at most one step of this size."
        )
    )
    var maxNumBatchedTokens: Int = SchedulerLimits().maxBatchedTokens

    @Option(
        help: ArgumentHelp(
            "The KV cache budget in positions of all running sequences together (default: --max-model-len).",
            discussion:
                "A request is admitted when its prompt plus its max tokens fit in what is left; until then it waits. Must hold at least --max-model-len positions."
        )
    )
    var kvCacheTokens: Int?

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Keep finished sequences' KV caches for prompts that begin the same way (vLLM's automatic prefix caching).",
            discussion:
                "Prompts sharing whole 16-token blocks with a cached sequence (same adapters) prefill only the rest; cached positions use only KV budget no request needs. vllm:prefix_cache_queries_total and vllm:prefix_cache_hits_total count the tokens."
        )
    )
    var enablePrefixCaching = true

    @Option(help: "The longest sequence (prompt and answer) served, at most the model's max_position_embeddings.")
    var maxModelLen: Int?

    @Option(
        help: ArgumentHelp(
            "A folder whose subfolders are PEFT LoRA adapters, as Kaito mounts them (/mnt/adapter/<name>/).",
            discussion:
                "Each adapter's strength is read from the environment variable named exactly like its folder (default 1.0, range [0, 1]); requests to the base model apply all adapters together as the exact weighted sum of their deltas; a request naming an adapter as its model gets that adapter alone, and a request's lora list ([{\"id\", \"scale\"}]) sets the strengths itself."
        )
    )
    var adaptersDir: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let quantization, LoadOptions.Quantization(rawValue: quantization) == nil {
            throw ValidationError("--quantization must be one of q8_0, q4_0")
        }
        if LoadOptions.CacheType(rawValue: kvCacheDtype) == nil {
            throw ValidationError("--kv-cache-dtype must be f32 or f16")
        }
        if let maxModelLen, maxModelLen < 1 { throw ValidationError("--max-model-len must be at least 1") }
        if !(1...65535).contains(port) { throw ValidationError("--port must be in 1...65535") }
        if maxWaiting < 0 { throw ValidationError("--max-waiting must not be negative") }
        if maxNumSeqs < 1 { throw ValidationError("--max-num-seqs must be at least 1") }
        if maxNumBatchedTokens < maxNumSeqs {
            throw ValidationError("--max-num-batched-tokens must be at least --max-num-seqs (\(maxNumSeqs))")
        }
        if let kvCacheTokens, kvCacheTokens < 1 { throw ValidationError("--kv-cache-tokens must be at least 1") }
    }

    func run() async throws {
        let options = LoadOptions(
            threads: threads,
            quantization: quantization.flatMap(LoadOptions.Quantization.init(rawValue:)),
            kvCacheType: LoadOptions.CacheType(rawValue: kvCacheDtype) ?? .f32
        )
        let state = ModelState()
        let router = KaitoServeRoutes.makeRouter(state: state)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)))
        // The model loads while the server already answers /health with 503 (the startup probe's view); a bad model
        // or adapter stops the process with the error, before any request is served.
        @Sendable func load() throws {
            let adapters =
                try adaptersDir.map {
                    try LoRAAdapter.loadAll(directory: $0, environment: ProcessInfo.processInfo.environment)
                } ?? []
            let bundle =
                model.hasSuffix(".gguf")
                ? try ModelBundle(
                    gguf: model,
                    name: servedModelName,
                    adapters: adapters,
                    maxModelLength: maxModelLen,
                    options: options
                )
                : try ModelBundle(
                    folder: model,
                    name: servedModelName,
                    adapters: adapters,
                    maxModelLength: maxModelLen,
                    options: options
                )
            let limits = SchedulerLimits(
                maxSequences: maxNumSeqs,
                maxBatchedTokens: maxNumBatchedTokens,
                cacheTokens: kvCacheTokens,
                prefixCaching: enablePrefixCaching
            )
            let queue = try GenerationQueue(bundle: bundle, capacity: maxWaiting, limits: limits)
            state.ready(queue)
            let summary = adapters.map { "\($0.name)=\($0.strength)" }.joined(separator: ", ")
            print(
                "kaito-serve: \(bundle.name) ready on \(host):\(port)"
                    + (adapters.isEmpty ? "" : " with adapters \(summary)")
                    + "; \(maxNumSeqs) sequences, \(maxNumBatchedTokens) tokens per step, KV budget \(queue.cacheBudget) positions"
            )
        }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await app.runService()
                return true
            }
            group.addTask {
                try load()
                return false
            }
            // Loading finishing keeps the server running; the server finishing (SIGTERM or SIGINT, after in-flight
            // requests are answered) ends the process even while a model is still loading.
            while let serverStopped = try await group.next() {
                // A group waits for all its children; a model still loading is not worth waiting for.
                if serverStopped { Foundation.exit(0) }
            }
        }
    }
}
