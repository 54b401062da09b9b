internal import Foundation

/// Rotary position embeddings: inverse frequencies computed once per model (with Llama 3, linear and Phi-3
/// `longrope` scaling), angles per position into a sequence's scratch.
struct Rotary: Sendable {
    let short: [Float]
    let long: [Float]?
    let original: Int
    let attentionFactor: Float
    let layout: RotaryLayout

    init(config c: ModelConfig, layout: RotaryLayout) {
        self.layout = layout
        let half = c.headDimension / 2
        let base = (0..<half).map { i in 1 / pow(c.ropeTheta, Float(2 * i) / Float(c.headDimension)) }
        switch c.ropeScaling {
        case .none:
            short = base
            long = nil
            original = 0
            attentionFactor = 1
        case .linear(let factor):
            short = base.map { $0 / factor }
            long = nil
            original = 0
            attentionFactor = 1
        case .llama3(let factor, let low, let high, let originalContext):
            let lowWavelength = Float(originalContext) / low
            let highWavelength = Float(originalContext) / high
            short = base.map { f in
                let wavelength = 2 * Float.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Float(originalContext) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
            long = nil
            original = 0
            attentionFactor = 1
        case .longrope(let shortFactor, let longFactor, let originalContext, let factor):
            short = base.enumerated().map { i, f in f / shortFactor[i] }
            long = base.enumerated().map { i, f in f / longFactor[i] }
            original = originalContext
            attentionFactor = factor
        }
    }

    /// Writes the cosines and sines of `position` (`head_dim / 2` each); `sequenceLength` selects Phi-3's factors.
    func angles(
        position: Int,
        sequenceLength: Int,
        cosines: UnsafeMutablePointer<Float>,
        sines: UnsafeMutablePointer<Float>
    ) {
        let inverse = long != nil && sequenceLength > original ? long ?? short : short
        let p = Float(position)
        for (i, f) in inverse.enumerated() {
            cosines[i] = cos(p * f) * attentionFactor
            sines[i] = sin(p * f) * attentionFactor
        }
    }
}
