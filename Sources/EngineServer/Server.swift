public import Hummingbird
internal import InferenceEngine
internal import Synchronization

/// Where the model is: the server answers `/health` with 503 until it is ready.
public final class ModelState: Sendable {
    private let state = Mutex<GenerationQueue?>(nil)

    /// Creates an empty state.
    public init() {}

    /// Publishes the loaded model.
    public func ready(_ queue: GenerationQueue) { state.withLock { $0 = queue } }

    var queue: GenerationQueue? { state.withLock { $0 } }
}

/// Server settings.
public struct ServerLimits: Sendable {
    /// The largest request body accepted (413 beyond).
    public var maxBodyBytes: Int = 1 << 20
    /// The deepest JSON nesting accepted (422 beyond).
    public var maxJSONDepth: Int = 32

    /// Default limits.
    public init() {}
}

/// The HTTP API of kaito-serve: Kaito's `/chat`, OpenAI's chat and completion routes, `/v1/models`, `/health`,
/// Prometheus `/metrics`.
public enum KaitoServeRoutes {
    /// Builds the router.
    public static func makeRouter(
        state: ModelState,
        limits: ServerLimits = ServerLimits()
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in json(StringBody(key: "message", value: "Server is running")) }
        router.get("health") { _, _ in
            state.queue == nil
                ? detail("Model not initialized", status: .serviceUnavailable)
                : json(StringBody(key: "status", value: "Healthy"))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: state.queue?.metrics.render() ?? ""))
            )
        }
        router.get("v1/models") { _, _ in
            guard let queue = state.queue else { return detail("Model not initialized", status: .serviceUnavailable) }
            // vLLM's listing: the base model, then each adapter with the base as its parent.
            let base = queue.bundle.name
            let length = queue.bundle.model.contextLength
            return json(
                ModelList(
                    data: [.init(id: base, root: base, maxModelLength: length)]
                        + queue.bundle.model.adapters.map {
                            .init(id: $0.name, root: $0.name, parent: base, maxModelLength: length)
                        }
                )
            )
        }
        router.post("chat") { request, _ in
            try await handle(request, state: state, limits: limits) { (body: KaitoChatRequest, queue) in
                try await kaitoChat(body, queue)
            }
        }
        router.post("v1/chat/completions") { request, _ in
            try await handle(request, state: state, limits: limits) { (body: CompletionRequest, queue) in
                try await openAI(body, queue, chat: true)
            }
        }
        router.post("tokenize") { request, _ in
            try await handle(request, state: state, limits: limits) { (body: TokenizeRequest, queue) in
                try tokenize(body, queue)
            }
        }
        router.post("detokenize") { request, _ in
            try await handle(request, state: state, limits: limits) { (body: DetokenizeRequest, queue) in
                try detokenize(body, queue)
            }
        }
        router.post("v1/completions") { request, _ in
            try await handle(request, state: state, limits: limits) { (body: CompletionRequest, queue) in
                try await openAI(body, queue, chat: false)
            }
        }
        return router
    }

    /// A request that failed validation: its status and JSON body.
    struct Rejection: Error, Sendable {
        var status: HTTPResponse.Status
        var body: any Encodable & Sendable

        init(_ status: HTTPResponse.Status, _ body: any Encodable & Sendable) {
            self.status = status
            self.body = body
        }

        /// A 400 in OpenAI's error shape about `param` (a request the server cannot honour).
        init(badRequest message: String, param: String = "response_format") {
            self.init(
                .badRequest,
                OpenAIErrorBody(
                    error: .init(
                        message: message,
                        type: "BadRequestError",
                        param: param,
                        code: .number(400)
                    )
                )
            )
        }

        /// A 422 validation error at `path` (under `body`).
        init(invalid expected: RequestBodyError.Expectation, at path: [RequestBodyError.PathComponent]) {
            self.init(.unprocessableContent, DetailBody(invalid: expected, at: path))
        }

        /// The answer to a body that does not decode: 400 for bytes that are not JSON, 422 otherwise.
        init(_ error: RequestBodyError) {
            switch error.kind {
            case .invalidJSON:
                self.init(.badRequest, DetailBody("Invalid JSON body"))
            case .tooDeep(let limit):
                self.init(.unprocessableContent, DetailBody("JSON nested deeper than \(limit) levels"))
            case .invalid(let expected):
                self.init(invalid: expected, at: error.path)
            }
        }

        var response: Response { json(body, status: status) }
    }

    static func handle<Body: Decodable>(
        _ request: Request,
        state: ModelState,
        limits: ServerLimits,
        _ body: (Body, GenerationQueue) async throws -> Response
    ) async throws -> Response {
        guard let queue = state.queue else { return detail("Model not initialized", status: .serviceUnavailable) }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch {
            return detail("Request body larger than \(limits.maxBodyBytes) bytes", status: .contentTooLarge)
        }
        do {
            let decoded = try RequestDecoding.decode(
                Body.self,
                from: buffer.readableBytesView,
                maxDepth: limits.maxJSONDepth
            )
            return try await body(decoded, queue)
        } catch let error as RequestBodyError {
            return Rejection(error).response
        } catch let rejection as Rejection {
            return rejection.response
        } catch let full as GenerationQueue.Full {
            return json(
                OpenAIErrorBody(
                    error: .init(
                        message:
                            "Too many requests: waiting queue (\(full.waiting)) exceeds max-num-seqs (\(full.capacity)).",
                        type: "requests",
                        param: nil,
                        code: .text("rate_limit_exceeded")
                    )
                ),
                status: .tooManyRequests
            )
        } catch let error as EngineError {
            return detail(error.message, status: .badRequest)
        }
    }
}
