internal import Foundation
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
        router.get("/") { _, _ in json(["message": "Server is running"]) }
        router.get("health") { _, _ in
            state.queue == nil
                ? json(["detail": "Model not initialized"], status: .serviceUnavailable) : json(["status": "Healthy"])
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: state.queue?.metrics.render() ?? ""))
            )
        }
        router.get("v1/models") { _, _ in
            guard let queue = state.queue else {
                return json(["detail": "Model not initialized"], status: .serviceUnavailable)
            }
            return json([
                "object": "list",
                "data": [
                    [
                        "id": queue.bundle.name, "object": "model", "created": 0, "owned_by": "kaito",
                        "max_model_len": queue.bundle.model.contextLength,
                    ]
                ],
            ])
        }
        router.post("chat") { request, _ in
            try await handle(request, state: state, limits: limits) { body, queue in try await kaitoChat(body, queue) }
        }
        router.post("v1/chat/completions") { request, _ in
            try await handle(request, state: state, limits: limits) { body, queue in
                try await openAI(body, queue, chat: true)
            }
        }
        router.post("v1/completions") { request, _ in
            try await handle(request, state: state, limits: limits) { body, queue in
                try await openAI(body, queue, chat: false)
            }
        }
        return router
    }

    /// A request that failed validation: its status and JSON body.
    // Justification for @unchecked Sendable: the body is an immutable JSON tree of Foundation values, built and read
    // by the one request that throws it.
    struct Rejection: Error, @unchecked Sendable {
        var status: HTTPResponse.Status
        var body: [String: Any]
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func typeError(_ field: String, _ expected: String) -> Rejection {
        Rejection(
            status: .unprocessableContent,
            body: [
                "detail": [["loc": ["body", field], "msg": "Input should be \(expected)", "type": "\(expected)_type"]]
            ]
        )
    }

    static func depth(_ value: Any) -> Int {
        switch value {
        case let d as [String: Any]: return 1 + (d.values.map(depth).max() ?? 0)
        case let a as [Any]: return 1 + (a.map(depth).max() ?? 0)
        default: return 0
        }
    }

    static func handle(
        _ request: Request,
        state: ModelState,
        limits: ServerLimits,
        _ body: ([String: Any], GenerationQueue) async throws -> Response
    ) async throws -> Response {
        guard let queue = state.queue else {
            return json(["detail": "Model not initialized"], status: .serviceUnavailable)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch {
            return json(["detail": "Request body larger than \(limits.maxBodyBytes) bytes"], status: .contentTooLarge)
        }
        let bytes = Data(buffer.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: bytes) else {
            return json(["detail": "Invalid JSON body"], status: .badRequest)
        }
        guard let dictionary = object as? [String: Any] else {
            return json(
                ["detail": [["loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"]]],
                status: .unprocessableContent
            )
        }
        guard depth(dictionary) <= limits.maxJSONDepth else {
            return json(
                ["detail": "JSON nested deeper than \(limits.maxJSONDepth) levels"],
                status: .unprocessableContent
            )
        }
        do {
            return try await body(dictionary, queue)
        } catch let rejection as Rejection {
            return json(rejection.body, status: rejection.status)
        } catch let full as GenerationQueue.Full {
            return json(
                [
                    "error": [
                        "message":
                            "Too many requests: waiting queue (\(full.waiting)) exceeds max-num-seqs (\(full.capacity)).",
                        "type": "requests", "param": NSNull(), "code": "rate_limit_exceeded",
                    ]
                ],
                status: .tooManyRequests
            )
        } catch let error as EngineError {
            return json(["detail": error.message], status: .badRequest)
        }
    }

    static func int(_ body: [String: Any], _ key: String) throws -> Int? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number), let int = Int(exactly: number.doubleValue) else {
            throw typeError(key, "a valid integer")
        }
        return int
    }

    static func double(_ body: [String: Any], _ key: String) throws -> Double? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number) else { throw typeError(key, "a valid number") }
        return number.doubleValue
    }

    static func bool(_ body: [String: Any], _ key: String) throws -> Bool? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, isBoolean(number) else { throw typeError(key, "a valid boolean") }
        return number.boolValue
    }

    /// JSON `true`/`false` arrive as NSNumbers of type `c`.
    static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    static func string(_ body: [String: Any], _ key: String) throws -> String? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let s = value as? String else { throw typeError(key, "a valid string") }
        return s
    }
}
