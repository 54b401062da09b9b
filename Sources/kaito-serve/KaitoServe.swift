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

    @Option(help: "The model folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json).")
    var model: String

    @Option(help: "The port.")
    var port: Int = 5000

    @Option(help: "The address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "Threads for matrix products (default: the machine's cores).")
    var threads: Int?

    @Option(help: "The name clients use for the model (default: the folder name).")
    var servedModelName: String?

    @Option(help: "Requests allowed to wait before 429.")
    var maxWaiting: Int = 16

    func run() async throws {
        if let threads { ThreadCount.set(threads) }
        let state = ModelState()
        let router = KaitoServeRoutes.makeRouter(state: state)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)))
        let bundle = try ModelBundle(folder: model, name: servedModelName)
        state.ready(GenerationQueue(bundle: bundle, capacity: maxWaiting))
        try await app.runService()
    }
}
