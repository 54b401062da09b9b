import Dispatch
import EngineServer
import EngineText
import Foundation
import Hummingbird
import HummingbirdTesting
import InferenceEngine
import Synchronization
import Testing

/// kaito-serve as a multi-user server (issue 11).
///
/// Requests batched by the engine loop answer as they do alone, join and leave without disturbing the others, wait
/// (never fail) for KV budget, and select adapters per request; the vLLM gauges say what runs and waits. The model
/// is the server tests' tiny Llama with its two fixture adapters.
struct BatchingServerTests {
    static let adapters = ServerTests.folder.deletingLastPathComponent().appendingPathComponent("adapters").path

    /// The bundle with both adapters at default strengths 0.8 (tone) and 0.6 (style), Kaito's environment contract.
    static func bundle(maxModelLength: Int? = nil) throws -> ModelBundle {
        let adapters = try LoRAAdapter.loadAll(
            directory: adapters,
            environment: ["tone-adapter": "0.8", "style-adapter": "0.6"]
        )
        return try ModelBundle(
            folder: ServerTests.folder.path,
            name: "tiny-chat",
            adapters: adapters,
            maxModelLength: maxModelLength
        )
    }

    struct Request: Sendable {
        var prompt: String
        var strengths: [Float]?
    }

    static let requests: [Request] = [
        Request(prompt: "Hello", strengths: nil),
        Request(prompt: "Kaito runs models on Kubernetes clusters with GPU and CPU nodes alike", strengths: [0, 0]),
        Request(prompt: "Hi", strengths: [1, 0]),
        Request(prompt: "The quick brown fox jumps over the lazy dog again and again", strengths: [0, 1]),
        Request(prompt: "Tell me a story", strengths: [0.5, 0.25]),
        Request(prompt: "Why is the sky blue?", strengths: nil),
        Request(
            prompt: String(repeating: "A long prompt that is prefilled in several chunks. ", count: 6),
            strengths: [0.3, 0.9]
        ),
        Request(prompt: "One", strengths: [0, 0.6]),
    ]

    @Test func eightConcurrentRequestsAnswerAsEachDoesAlone() async throws {
        let bundle = try Self.bundle()
        #expect(bundle.model.adapters.map(\.name) == ["style-adapter", "tone-adapter"])
        let alone = try GenerationQueue(bundle: bundle, capacity: 8, limits: SchedulerLimits(maxSequences: 1))
        var expected: [GenerationQueue.Output] = []
        for request in Self.requests {
            expected.append(
                try await alone.generate(
                    prompt: request.prompt,
                    maxNewTokens: 24,
                    sampling: .greedy,
                    strengths: request.strengths
                )
            )
        }
        // 16 tokens a step: the long prompts are prefilled in chunks between the others' decoding steps.
        let batched = try GenerationQueue(
            bundle: bundle,
            capacity: 8,
            limits: SchedulerLimits(maxSequences: 8, maxBatchedTokens: 16, cacheTokens: 2048)
        )
        let peak = Peak()
        let outputs = try await withThrowingTaskGroup(of: (Int, GenerationQueue.Output).self) { group in
            for (i, request) in Self.requests.enumerated() {
                group.addTask {
                    let output = try await batched.generate(
                        prompt: request.prompt,
                        maxNewTokens: 24,
                        sampling: .greedy,
                        strengths: request.strengths
                    ) { _ in
                        peak.see(batched.load.running)
                        return true
                    }
                    return (i, output)
                }
            }
            var outputs: [Int: GenerationQueue.Output] = [:]
            for try await (i, output) in group { outputs[i] = output }
            return outputs
        }
        for (i, output) in expected.enumerated() {
            #expect(outputs[i]?.text == output.text, "request \(i)")
            #expect(outputs[i]?.completionTokens == output.completionTokens, "request \(i)")
            #expect(outputs[i]?.finish == output.finish, "request \(i)")
        }
        #expect(peak.value > 1, "requests ran together")
        #expect(Set(expected.map(\.text)).count > 4, "the adapters and prompts give different answers")
        #expect(batched.load.running == 0 && batched.load.waiting == 0)
    }

    @Test func theKVBudgetMakesRequestsWaitAndTheGaugesSaySo() async throws {
        // A budget of one context (64 positions): a request reserves its prompt plus its token budget, so only one
        // of these runs at a time, the others wait and then run; none fails.
        let bundle = try Self.bundle(maxModelLength: 64)
        let queue = try GenerationQueue(
            bundle: bundle,
            capacity: 8,
            limits: SchedulerLimits(maxSequences: 4, maxBatchedTokens: 16, cacheTokens: 64)
        )
        #expect(queue.cacheBudget == 64)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = Peak()
        let peak = Peak()
        let promptTokens = bundle.tokenizer.encode("Hello").count
        let holder = Task {
            try await queue.generate(prompt: "Hello", maxNewTokens: 40, sampling: .greedy) { _ in
                peak.see(queue.load.running)
                if first.see(1) == 0 {
                    // The engine loop is held here, inside its first step's sampling, until the test has looked.
                    started.signal()
                    release.wait()
                }
                return true
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                started.wait()
                continuation.resume()
            }
        }
        let others = (0..<2).map { _ in
            Task {
                try await queue.generate(prompt: "Hello", maxNewTokens: 40, sampling: .greedy) { _ in
                    peak.see(queue.load.running)
                    return true
                }
            }
        }
        while queue.load.waiting < 2 { try await Task.sleep(for: .milliseconds(2)) }
        let text = queue.metrics.render()
        release.signal()
        for line in [
            #"vllm:num_requests_running{model_name="tiny-chat"} 1.0"#,
            #"vllm:num_requests_waiting{model_name="tiny-chat"} 2.0"#,
            #"vllm:kv_cache_usage_perc{model_name="tiny-chat"} \#(Double(promptTokens) / 64)"#,
        ] {
            #expect(text.contains(line), "missing \(line) in\n\(text)")
        }
        let answer = try await holder.value
        for other in others {
            let output = try await other.value
            #expect(output.text == answer.text, "a request that waited answers as the first did")
        }
        #expect(peak.value == 1, "the budget holds one sequence at a time")
        #expect(queue.load.running == 0 && queue.load.waiting == 0)
        let after = queue.metrics.render()
        #expect(after.contains(#"vllm:kv_cache_usage_perc{model_name="tiny-chat"} 0.0"#))
        #expect(after.contains(#"vllm:num_requests_running{model_name="tiny-chat"} 0.0"#))
    }

    @Test func aCancelledRequestLeavesTheOthersUnaffected() async throws {
        let bundle = try Self.bundle()
        let queue = try GenerationQueue(bundle: bundle, capacity: 8, limits: SchedulerLimits(maxSequences: 4))
        let reference = try await queue.generate(prompt: "Why is the sky blue?", maxNewTokens: 30, sampling: .greedy)
        let produced = Counter()
        let cancelled = Task {
            try await queue.generate(prompt: "Hello", maxNewTokens: 200, sampling: .greedy) { _ in
                produced.add()
                return true
            }
        }
        let kept = Task {
            try await queue.generate(prompt: "Why is the sky blue?", maxNewTokens: 30, sampling: .greedy) { _ in
                if produced.value >= 3 { cancelled.cancel() }
                return true
            }
        }
        let output = try await kept.value
        let stopped = try await cancelled.value
        #expect(output.text == reference.text)
        #expect(stopped.finish == .cancelled)
        #expect(stopped.completionTokens < 200)
        #expect(
            queue.metrics.render().contains(
                #"vllm:request_success_total{finished_reason="abort",model_name="tiny-chat"} 1"#
            )
        )
    }

    @Test func aLongPromptIsPrefilledInChunksWhileOthersKeepDecoding() async throws {
        // 8 tokens a step: while the long prompt is prefilled (7 tokens a step beside one decoding token), the running
        // request keeps producing tokens instead of waiting for the whole prompt.
        let bundle = try Self.bundle()
        let queue = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, maxBatchedTokens: 8, cacheTokens: 512)
        )
        let long = String(repeating: "A long prompt that is prefilled in several chunks. ", count: 5)
        let longTokens = bundle.tokenizer.encode(long).count
        #expect(longTokens > 40)
        // Tokens generated so far, all requests together (pieces of text can be empty for partial characters).
        @Sendable func generated() -> Int {
            let line = queue.metrics.render().split(separator: "\n").first {
                $0.hasPrefix("vllm:generation_tokens_total{")
            }
            return Int(line?.split(separator: " ").last ?? "") ?? 0
        }
        let atSubmission = Peak()
        let atFirstPiece = Peak()
        let running = Task {
            // 10 ms a token: the 200 tokens outlast the long prompt's submission however busy the machine is.
            try await queue.generate(prompt: "Hello", maxNewTokens: 200, sampling: .greedy) { _ in
                usleep(10_000)
                return true
            }
        }
        while generated() < 2 { try await Task.sleep(for: .milliseconds(1)) }
        atSubmission.see(generated())
        let answer = try await queue.generate(prompt: long, maxNewTokens: 4, sampling: .greedy) { _ in
            if atFirstPiece.value == 0 { atFirstPiece.see(generated()) }
            return true
        }
        running.cancel()
        let first = try await running.value
        #expect(first.finish == .cancelled, "still decoding when the long prompt's answer came")
        #expect(answer.completionTokens > 0)
        // At least one decoding step per prefill chunk but the last (the last one's logits give the first token).
        let chunks = (longTokens + 6) / 7
        #expect(atFirstPiece.value - atSubmission.value >= chunks - 1, "decoded while the long prompt was prefilled")
    }

    @Test func loraRequestsInfoNamesTheAdaptersInUse() async throws {
        // vLLM's info gauge (what the gateway's endpoint picker reads for adapter affinity): a new series, set to the
        // current time, whenever the adapters of running or waiting requests change; the newest is the largest.
        let queue = try GenerationQueue(bundle: try Self.bundle(), capacity: 4, limits: SchedulerLimits())
        _ = try await queue.generate(prompt: "Hello", maxNewTokens: 3, sampling: .greedy, strengths: [0, 0.8])
        _ = try await queue.generate(prompt: "Hello", maxNewTokens: 3, sampling: .greedy, strengths: [1, 0])
        let series = queue.metrics.render().split(separator: "\n").filter { $0.hasPrefix("vllm:lora_requests_info{") }
        func line(_ running: String) -> Substring? {
            series.first {
                $0.hasPrefix(
                    #"vllm:lora_requests_info{max_lora="2",running_lora_adapters="\#(running)",waiting_lora_adapters="""#
                )
            }
        }
        #expect(line("tone-adapter") != nil, "\(series)")
        #expect(line("style-adapter") != nil, "\(series)")
        let newest = series.max {
            Double($0.split(separator: " ").last ?? "") ?? 0 < Double($1.split(separator: " ").last ?? "") ?? 0
        }
        #expect(newest == line(""), "idle again: no adapter running")
    }

    @Test func limitsThatCannotServeTheModelAreRefused() throws {
        let bundle = try Self.bundle(maxModelLength: 64)
        #expect(throws: EngineError.self) {
            try GenerationQueue(bundle: bundle, capacity: 1, limits: SchedulerLimits(cacheTokens: 63))
        }
        #expect(throws: EngineError.self) {
            try GenerationQueue(
                bundle: bundle,
                capacity: 1,
                limits: SchedulerLimits(maxSequences: 8, maxBatchedTokens: 4)
            )
        }
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func requestsSelectAdaptersByModelNameAndLoRAList() async throws {
        let bundle = try Self.bundle()
        let state = ModelState()
        state.ready(try GenerationQueue(bundle: bundle, capacity: 8, limits: SchedulerLimits()))
        let plain = try ModelBundle(folder: ServerTests.folder.path, name: "tiny-chat")
        let plainQueue = GenerationQueue(bundle: plain, capacity: 1)
        let prompt = "Tell me a story"
        @Sendable func direct(_ strengths: [Float]?, _ queue: GenerationQueue) async throws -> String {
            try await queue.generate(prompt: prompt, maxNewTokens: 16, sampling: .greedy, strengths: strengths).text
        }
        let queue = GenerationQueue(bundle: bundle, capacity: 1)
        let base = try await direct([0, 0], queue)
        let unadapted = try await direct(nil, plainQueue)
        #expect(unadapted == base, "every adapter at 0: the model without adapters")
        try await Application(router: KaitoServeRoutes.makeRouter(state: state)).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try #require(try object(response.body)["data"] as? [[String: Any]])
                #expect(data.map { $0["id"] as? String } == ["tiny-chat", "style-adapter", "tone-adapter"])
                #expect(data.map { $0["parent"] as? String } == [nil, "tiny-chat", "tiny-chat"])
            }
            func complete(_ fields: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                let body = #"{"prompt":"\#(prompt)","max_tokens":16,"temperature":0,"# + fields + "}"
                return try await client.execute(
                    uri: "/v1/completions",
                    method: .post,
                    body: ByteBuffer(string: body)
                ) { response in (response.status, try object(response.body)) }
            }
            func text(_ body: [String: Any]) -> String? {
                (body["choices"] as? [[String: Any]])?.first?["text"] as? String
            }
            // The base name: every adapter at its default strength (Kaito's contract).
            let (status, defaults) = try await complete(#""model":"tiny-chat""#)
            #expect(status == .ok)
            let defaultsDirect = try await direct([0.6, 0.8], queue)
            #expect(text(defaults) == defaultsDirect)
            // An adapter's name: that adapter alone at its default strength; the answer names it as the model.
            let (_, tone) = try await complete(#""model":"tone-adapter""#)
            let toneDirect = try await direct([0, 0.8], queue)
            #expect(text(tone) == toneDirect)
            #expect(tone["model"] as? String == "tone-adapter")
            // llama.cpp's list: listed adapters at their scales, the others at 0; by index or by name.
            let (_, listed) = try await complete(#""lora":[{"id":0,"scale":0.5},{"id":"tone-adapter","scale":1}]"#)
            let listedDirect = try await direct([0.5, 1], queue)
            #expect(text(listed) == listedDirect)
            let (_, none) = try await complete(#""lora":[]"#)
            #expect(text(none) == base)
            #expect(Set([text(defaults), text(tone), text(listed), base]).count > 1, "adapters change the answer")
            let (unknownModel, _) = try await complete(#""model":"gpt-9""#)
            #expect(unknownModel == .notFound)
            let (badID, error) = try await complete(#""lora":[{"id":2,"scale":1}]"#)
            #expect(badID == .badRequest)
            #expect((error["error"] as? [String: Any])?["param"] as? String == "lora")
            let (badShape, _) = try await complete(#""lora":[{"scale":1}]"#)
            #expect(badShape == .unprocessableContent)
        }
    }
}

/// The largest value seen, from any thread.
final class Peak: Sendable {
    private let largest = Mutex(0)
    var value: Int { largest.withLock { $0 } }

    /// Records `value` and returns the largest seen before it.
    @discardableResult
    func see(_ value: Int) -> Int {
        largest.withLock { largest in
            let before = largest
            largest = max(largest, value)
            return before
        }
    }
}
