import Foundation
import InferenceEngine
import Testing

/// Continuous batching (issue 11): sequences run together through ``BatchRunner`` get the logits they get alone, bit
/// for bit, whatever joins, leaves or is prefilled beside them, and whatever adapters the others use.
///
/// "Alone" is the path the reference tests check against transformers and PEFT: a model with the sequence's adapters
/// applied at the sequence's strengths, the prompt prefilled in one call, then one ``CausalLM/forward(token:cache:)``
/// per token. "Batched" is one model holding every adapter, eight sequences with mixed prompt lengths (1 to 40
/// tokens) and mixed strengths, joining at different steps, one leaving early (a cancelled request), prompts prefilled
/// in chunks of at most 16 tokens a step interleaved with the others' decoding.
struct BatchingTests {
    static let fixtures = ReferenceModelTests.fixtures

    struct Setting: Sendable, CustomTestStringConvertible {
        var model: String
        var adapters: [String]
        var options: LoadOptions
        var testDescription: String {
            "\(model) \(options.quantization?.rawValue ?? "as stored") \(options.kvCacheType) cache, "
                + "\(options.threads) threads, adapters \(adapters)"
        }
    }

    static let settings: [Setting] = [
        Setting(model: "llama", adapters: ["alpha-one", "beta-two"], options: LoadOptions(threads: 2)),
        Setting(
            model: "llama",
            adapters: ["alpha-one", "beta-two"],
            options: LoadOptions(threads: 3, quantization: .q8_0, kvCacheType: .f16)
        ),
        Setting(model: "phi3", adapters: ["phi-fused", "phi-kaito"], options: LoadOptions(threads: 2)),
        // Sliding-window attention (window 8) over the batch's own caches.
        Setting(model: "mistral", adapters: [], options: LoadOptions(threads: 2)),
    ]

    struct Plan {
        var prompt: [Int]
        /// One strength per adapter of the setting.
        var strengths: [Float]
        var joinStep: Int
        var newTokens: Int
        /// Tokens after which the sequence leaves (a cancelled request), if it does.
        var leaveAfter: Int?
    }

    static func plans(adapters: Int, vocabulary: Int) -> [Plan] {
        var random = SplitMix64(seed: 11)
        let lengths = [1, 5, 9, 17, 33, 40, 3, 24]
        let joins = [0, 0, 1, 2, 3, 5, 8, 8]
        let strengthSets: [[Float]] = [
            [0, 0], [1, 0], [0, 0.5], [1, 1], [0.3, 0.7], [1, 0], [0, 0], [0.5, 0.5],
        ]
        return lengths.indices.map { i in
            Plan(
                prompt: (0..<lengths[i]).map { _ in Int(random.next() % UInt64(vocabulary)) },
                strengths: Array(strengthSets[i].prefix(adapters)),
                joinStep: joins[i],
                newTokens: 12,
                leaveAfter: i == 3 ? 4 : nil
            )
        }
    }

    func loadAdapters(_ setting: Setting, strengths: [Float]) throws -> [LoRAAdapter] {
        try zip(setting.adapters, strengths).map { name, strength in
            try LoRAAdapter(
                folder: Self.fixtures.appendingPathComponent("adapters/\(setting.model)/\(name)").path,
                strength: strength
            )
        }
    }

    static func argmax(_ logits: [Float]) -> Int {
        var sampler = Sampler(.greedy)
        return sampler.next(logits, seen: [])
    }

    /// The logits of every generated position of one sequence run alone.
    func alone(_ base: CausalLM, _ setting: Setting, _ plan: Plan) throws -> [[Float]] {
        let model = try base.applying(try loadAdapters(setting, strengths: plan.strengths))
        var cache = model.makeCache()
        var logits = try model.prefill(plan.prompt, cache: &cache)
        var all = [logits]
        while all.count < plan.newTokens {
            logits = model.forward(token: Self.argmax(logits), cache: &cache)
            all.append(logits)
        }
        return all
    }

    @Test(arguments: settings)
    func batchedLogitsAreBitIdenticalToAlone(_ setting: Setting) throws {
        let base = try CausalLM(
            folder: Self.fixtures.appendingPathComponent(setting.model).path,
            options: setting.options
        )
        let plans = Self.plans(adapters: setting.adapters.count, vocabulary: base.config.vocabularySize)
        // Every adapter loaded once, at default strength 1; each sequence chooses its own strengths.
        let bank = try base.applying(try loadAdapters(setting, strengths: setting.adapters.map { _ in 1 }))
        #expect(bank.adapters.map(\.name) == setting.adapters)
        let runner = BatchRunner(model: bank, maxTokens: 16, maxSequences: plans.count)
        var caches = plans.map { _ in runner.makeCache() }
        var pending: [[Int]] = plans.map(\.prompt)
        var fed = plans.map { _ in 0 }
        var prefilling = plans.map { _ in true }
        var batched: [[[Float]]] = plans.map { _ in [] }
        var active = Set<Int>()
        var finished = Set<Int>()
        var step = 0
        var sawMixedStep = false
        while finished.count < plans.count {
            for (i, plan) in plans.enumerated() where plan.joinStep == step { active.insert(i) }
            var work = plans.map { _ in BatchRunner.Work(tokens: [], logits: false) }
            var budget = runner.maxTokens
            for i in active.sorted() where !prefilling[i] {
                work[i] = BatchRunner.Work(tokens: pending[i], strengths: plans[i].strengths)
                budget -= 1
            }
            let decoding = active.filter { !prefilling[$0] }.count
            for i in active.sorted() where prefilling[i] && budget > 0 {
                let take = min(budget, pending[i].count - fed[i])
                work[i] = BatchRunner.Work(
                    tokens: Array(pending[i][fed[i]..<(fed[i] + take)]),
                    sequenceLength: pending[i].count,
                    strengths: plans[i].strengths,
                    logits: fed[i] + take == pending[i].count
                )
                fed[i] += take
                budget -= take
                if decoding > 0 { sawMixedStep = true }
            }
            let logits = runner.step(work, caches: &caches)
            for i in active.sorted() {
                guard let row = logits[i] else { continue }
                batched[i].append(row)
                prefilling[i] = false
                pending[i] = [Self.argmax(row)]
                let done = batched[i].count == (plans[i].leaveAfter ?? plans[i].newTokens)
                if done {
                    active.remove(i)
                    finished.insert(i)
                    caches[i] = runner.makeCache()  // the sequence's cache is freed as it leaves
                }
            }
            step += 1
        }
        #expect(sawMixedStep, "some steps prefill a chunk while others decode")
        for (i, plan) in plans.enumerated() {
            let reference = try alone(base, setting, plan)
            #expect(batched[i].count == plan.leaveAfter ?? plan.newTokens)
            for (position, row) in batched[i].enumerated() {
                #expect(
                    row == reference[position],
                    "sequence \(i) (prompt \(plan.prompt.count), strengths \(plan.strengths)), token \(position)"
                )
            }
            #expect(batched[i].map(Self.argmax) == reference.prefix(batched[i].count).map(Self.argmax))
        }
    }

    @Test func adapterStrengthsApplyPerSequence() throws {
        // A sequence at strength 0 of every adapter gets the base model's bits; one at other strengths does not.
        let base = try CausalLM(folder: Self.fixtures.appendingPathComponent("llama").path)
        let setting = Self.settings[0]
        let bank = try base.applying(try loadAdapters(setting, strengths: [1, 1]))
        let runner = BatchRunner(model: bank, maxTokens: 32, maxSequences: 2)
        let prompt = [3, 17, 42, 99, 5]
        var caches = [runner.makeCache(), runner.makeCache()]
        let logits = runner.step(
            [
                BatchRunner.Work(tokens: prompt, strengths: [0, 0]),
                BatchRunner.Work(tokens: prompt, strengths: [1, 0.5]),
            ],
            caches: &caches
        )
        var cache = base.makeCache()
        let plain = try base.prefill(prompt, cache: &cache)
        #expect(logits[0] == plain)
        #expect(logits[1] != plain)
        #expect(caches.map(\.count) == [5, 5])
    }
}
