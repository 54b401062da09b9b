internal import Foundation
public import Prometheus

/// The Prometheus metrics of `GET /metrics`, under vLLM's names (docs/reference/inference.md section 2, "Metrics"), so that
/// Kaito's monitoring docs, KEDA's default trigger (`vllm:num_requests_waiting`) and the gateway's endpoint picker
/// read kaito-serve as they read vLLM.
///
/// Every series carries vLLM's `model_name` label.
///
/// `vllm:num_requests_running` counts the sequences in the engine loop's batch, `vllm:num_requests_waiting` the
/// requests admitted to the waiting room and not yet running (for a free sequence or KV budget), and
/// `vllm:kv_cache_usage_perc` the positions the running sequences hold over the KV budget (`--kv-cache-tokens`).
public final class ServerMetrics: Sendable {
    /// The registry the metrics live in.
    public let registry = PrometheusCollectorRegistry()
    let model: String
    let running: Gauge
    let waiting: Gauge
    let cacheUsage: Gauge
    let promptTokens: Counter
    let generationTokens: Counter
    /// Prompt tokens looked up in the prefix cache, and those found (vLLM v1's counters).
    let prefixQueries: Counter
    let prefixHits: Counter
    let timeToFirstToken: DurationHistogram
    let interTokenLatency: DurationHistogram
    let endToEnd: DurationHistogram
    let queueTime: DurationHistogram
    let promptSize: ValueHistogram
    let generationSize: ValueHistogram

    /// Seconds, vLLM's buckets for time to first token (`vllm/v1/metrics/loggers.py`).
    static let firstTokenBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
        2560,
    ]
    /// Seconds, vLLM's buckets for inter-token latency.
    static let tokenBuckets: [Double] = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
    ]
    /// Seconds, vLLM's buckets for request latencies.
    static let requestBuckets: [Double] = [
        0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
    ]
    /// Tokens, powers of two up to a long context.
    static let sizeBuckets: [Double] = (0...17).map { Double(1 << $0) }

    /// Creates the metrics of a served model name.
    public init(model: String) {
        self.model = model
        let label = [("model_name", model)]
        func seconds(_ values: [Double]) -> [Duration] {
            values.map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
        }
        running = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:num_requests_running",
                unitName: "",
                helpText: "Number of requests in model execution batches."
            ),
            labels: label
        )
        waiting = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:num_requests_waiting",
                unitName: "",
                helpText: "Number of requests waiting to be processed."
            ),
            labels: label
        )
        cacheUsage = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:kv_cache_usage_perc",
                unitName: "",
                helpText: "KV-cache usage. 1 means 100 percent usage."
            ),
            labels: label
        )
        promptTokens = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:prompt_tokens_total",
                unitName: "",
                helpText: "Number of prefill tokens processed."
            ),
            labels: label
        )
        generationTokens = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:generation_tokens_total",
                unitName: "",
                helpText: "Number of generation tokens processed."
            ),
            labels: label
        )
        prefixQueries = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:prefix_cache_queries_total",
                unitName: "",
                helpText: "Prefix cache queries, in terms of number of queried tokens."
            ),
            labels: label
        )
        prefixHits = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:prefix_cache_hits_total",
                unitName: "",
                helpText: "Prefix cache hits, in terms of number of cached tokens."
            ),
            labels: label
        )
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:time_to_first_token_seconds",
                unitName: "",
                helpText: "Histogram of time to first token in seconds."
            ),
            labels: label,
            buckets: seconds(Self.firstTokenBuckets)
        )
        interTokenLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:inter_token_latency_seconds",
                unitName: "",
                helpText: "Histogram of inter-token latency in seconds."
            ),
            labels: label,
            buckets: seconds(Self.tokenBuckets)
        )
        endToEnd = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:e2e_request_latency_seconds",
                unitName: "",
                helpText: "Histogram of e2e request latency in seconds."
            ),
            labels: label,
            buckets: seconds(Self.requestBuckets)
        )
        queueTime = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:request_queue_time_seconds",
                unitName: "",
                helpText: "Histogram of time spent in WAITING phase for request."
            ),
            labels: label,
            buckets: seconds(Self.requestBuckets)
        )
        promptSize = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:request_prompt_tokens",
                unitName: "",
                helpText: "Number of prefill tokens processed."
            ),
            labels: label,
            buckets: Self.sizeBuckets
        )
        generationSize = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:request_generation_tokens",
                unitName: "",
                helpText: "Number of generation tokens processed."
            ),
            labels: label,
            buckets: Self.sizeBuckets
        )
        for reason in ["stop", "length", "abort"] { _ = success(reason) }
    }

    /// `vllm:request_success_total{finished_reason}`.
    func success(_ reason: String) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:request_success_total",
                unitName: "",
                helpText: "Count of successfully processed requests."
            ),
            labels: [("finished_reason", reason), ("model_name", model)]
        )
    }

    /// Publishes the adapters in use (`vllm:lora_requests_info`, a gauge set to the current time whose labels carry
    /// the information, as vLLM does: a new series each time the sets change, the newest the largest value).
    ///
    /// - Parameters:
    ///   - loaded: How many adapters are loaded (`max_lora`).
    ///   - running: The adapters applied by running requests.
    ///   - waiting: The adapters waiting requests ask for.
    func adapters(loaded: Int, running: [String], waiting: [String]) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "vllm:lora_requests_info",
                unitName: "",
                helpText: "Running stats on lora requests."
            ),
            labels: [
                ("max_lora", String(loaded)), ("running_lora_adapters", running.joined(separator: ",")),
                ("waiting_lora_adapters", waiting.joined(separator: ",")),
            ]
        ).set(Date().timeIntervalSince1970)
    }

    /// The exposition text.
    public func render() -> String { registry.emitToString() }
}
