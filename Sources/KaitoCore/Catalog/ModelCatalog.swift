/// The model presets of one Kaito release (one file of `presets/models/`).
public struct ModelCatalog: Sendable {
    /// The release.
    public var kaitoVersion: KaitoVersion
    /// The base image name (`kaito-base`).
    public var baseImageName: String
    /// The base image tag of the release.
    public var baseImageTag: String
    /// Names that Kaito rejects as deprecated (rule R1).
    public var deprecated: [String]
    /// The presets.
    public private(set) var models: [ModelPreset] = []
    private var index: [String: Int] = [:]

    /// Creates an empty catalog.
    public init(kaitoVersion: KaitoVersion, baseImageName: String, baseImageTag: String, deprecated: [String]) {
        self.kaitoVersion = kaitoVersion
        self.baseImageName = baseImageName
        self.baseImageTag = baseImageTag
        self.deprecated = deprecated
    }

    /// Adds a preset; returns the preset it clashes with (by name or alias, case-insensitively), if any.
    @discardableResult
    public mutating func add(_ preset: ModelPreset) -> ModelPreset? {
        let keys = [preset.name] + preset.aliases
        for key in keys {
            if let existing = index[key.lowercased()] { return models[existing] }
        }
        models.append(preset)
        for key in keys { index[key.lowercased()] = models.count - 1 }
        return nil
    }

    /// The result of resolving a preset name (docs/reference/kaito.md section 2.1).
    public enum Resolution: Sendable, Hashable {
        /// A catalog preset.
        case preset(ModelPreset)
        /// A name flagged deprecated (rule R1).
        case deprecated
        /// An `org/model` Hugging Face id that the offline catalog does not describe (rule I4 would need network).
        case uncataloguedHuggingFaceID
        /// Not a preset (rules I3, T17).
        case unknown
    }

    /// Resolves a preset name through names and legacy aliases, case-insensitively where the release does
    /// (``ReleaseShape/caseInsensitivePresetNames``), exactly before.
    public func resolve(_ name: String) -> Resolution {
        let key = name.lowercased()
        let exact = !ReleaseShape(kaitoVersion).caseInsensitivePresetNames
        if let i = index[key], !exact || ([models[i].name] + models[i].aliases).contains(name) {
            return .preset(models[i])
        }
        if deprecated.contains(where: { exact ? $0 == name : $0.lowercased() == key }) { return .deprecated }
        if kaitoVersion >= KaitoVersion(0, 11, 0), Self.isHuggingFaceID(key) { return .uncataloguedHuggingFaceID }
        return .unknown
    }

    /// Whether a name has the `org/model` shape Kaito accepts as a Hugging Face id.
    static func isHuggingFaceID(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty }
    }
}
