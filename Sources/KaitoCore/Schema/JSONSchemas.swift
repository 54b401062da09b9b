internal import Foundation

/// A JSON value, encoded with sorted keys so that schemas are byte-identical for the same catalog.
enum JSONValue: Encodable, Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .int(let i): try container.encode(i)
        case .bool(let b): try container.encode(b)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

/// The JSON Schemas `kaitoc schema` writes: Kaito's `Workspace` (v1alpha1, v1beta1) and `InferenceSet` (v1alpha1,
/// v1beta1) in the layout of the CRDs-catalog that kubeconform reads (`{group}/{kind}_{version}.json`, kind in lower
/// case), and the catalog files of `presets/` (`kaitoc/{kind}.json`; they have no `apiVersion`).
///
/// The Workspace and InferenceSet schemas are as strict as `kaitoc check`'s decoder (unknown fields are errors, as
/// `KAITOC-UNKNOWN-FIELD`) and carry the catalog's preset names and instance types as enums, so that an editor with
/// yaml-language-server completes them and flags typos. Fields and their types: docs/reference/kaito.md sections 1.2
/// (v1beta1), 1.3 (v1alpha1), 1.4 (annotations), 1.6 (webhook rules expressible in a schema: V1, C1/C2, I10, A1,
/// T11, T17) and 1.9 (InferenceSet).
public enum JSONSchemas {
    /// One schema file.
    public struct File: Sendable, Equatable {
        /// The path relative to the output folder, such as `kaito.sh/workspace_v1beta1.json`.
        public var path: String
        /// The JSON text.
        public var contents: String
    }

    /// Every schema, for the catalog's preset names and instance types.
    public static func generate(catalog: Catalog) -> [File] {
        let vocabulary = Vocabulary(catalog: catalog)
        var files: [File] = []
        for version in ["v1alpha1", "v1beta1"] {
            files.append(
                File(
                    path: "kaito.sh/workspace_\(version).json",
                    contents: encode(workspace(version: version, vocabulary))
                )
            )
            files.append(
                File(
                    path: "kaito.sh/inferenceset_\(version).json",
                    contents: encode(inferenceSet(version: version, vocabulary))
                )
            )
        }
        files.append(File(path: "kaitoc/targetlist.json", contents: encode(targetList())))
        files.append(File(path: "kaitoc/modelcatalog.json", contents: encode(modelCatalog())))
        files.append(File(path: "kaitoc/instancetypecatalog.json", contents: encode(instanceTypeCatalog())))
        files.append(File(path: "kaitoc/pricelist.json", contents: encode(priceList())))
        return files.sorted { $0.path < $1.path }
    }

    /// The catalog's names, sorted and without duplicates.
    struct Vocabulary {
        var presetNames: [String]
        var instanceTypes: [String]

        init(catalog: Catalog) {
            var presets: Set<String> = []
            for models in catalog.modelCatalogs {
                for preset in models.models {
                    presets.insert(preset.name)
                    presets.formUnion(preset.aliases)
                }
            }
            presetNames = presets.sorted()
            instanceTypes = Set(catalog.instanceTypes.map(\.name)).sorted()
        }
    }

    static let draft = "http://json-schema.org/draft-07/schema#"

    static func encode(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: Building blocks

    static func object(
        _ properties: [String: JSONValue],
        required: [String] = [],
        description: String? = nil
    ) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": .string("object"),
            "properties": .object(properties),
            "additionalProperties": .bool(false),
        ]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func string(
        _ description: String? = nil,
        enum values: [String]? = nil,
        pattern: String? = nil
    )
        -> JSONValue
    {
        var schema: [String: JSONValue] = ["type": .string("string")]
        if let description { schema["description"] = .string(description) }
        if let values { schema["enum"] = .array(values.map(JSONValue.string)) }
        if let pattern { schema["pattern"] = .string(pattern) }
        return .object(schema)
    }

    static func integer(_ description: String? = nil, minimum: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("integer")]
        if let description { schema["description"] = .string(description) }
        if let minimum { schema["minimum"] = .int(minimum) }
        return .object(schema)
    }

    static func number(_ description: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("number")]
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func boolean(_ description: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("boolean")]
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func array(_ items: JSONValue, description: String? = nil, maxItems: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("array"), "items": items]
        if let description { schema["description"] = .string(description) }
        if let maxItems { schema["maxItems"] = .int(maxItems) }
        return .object(schema)
    }

    static func stringMap(_ description: String? = nil, known: [String: JSONValue] = [:]) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": .string("object"),
            "additionalProperties": .object(["type": .string("string")]),
        ]
        if !known.isEmpty { schema["properties"] = .object(known) }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    /// Any object (a pod template, a volume source): Kaito keeps it as it is.
    static func anyObject(_ description: String) -> JSONValue {
        .object(["type": .string("object"), "description": .string(description)])
    }

    /// A string that is one of `values` in any letter case (Kaito compares these case-insensitively, and trims
    /// `trimmed` ones); the enum is what an editor completes, the pattern what a validator accepts.
    static func caseInsensitive(
        _ description: String,
        _ values: [String],
        trimmed: Bool = false,
        orPattern extra: String? = nil
    ) -> JSONValue {
        // With the Hugging Face pattern, names of the form org/model need no case-insensitive alternative.
        let alternatives = values.filter { extra == nil || !$0.contains("/") }.map { value in
            value.map { c in
                let lower = c.lowercased()
                let upper = c.uppercased()
                return lower == upper ? NSRegularExpression.escapedPattern(for: String(c)) : "[\(lower)\(upper)]"
            }
            .joined()
        }
        .joined(separator: "|")
        let space = trimmed ? #"\s*"# : ""
        var choices: [JSONValue] = [
            .object(["enum": .array(values.map(JSONValue.string))]),
            .object(["pattern": .string("^\(space)(\(alternatives))\(space)$")]),
        ]
        if let extra { choices.append(.object(["pattern": .string(extra)])) }
        return .object(["type": .string("string"), "description": .string(description), "anyOf": .array(choices)])
    }

    /// A quantity such as `7.12Gi` (Kubernetes' quantity syntax).
    static let quantity = string(
        "A Kubernetes quantity, e.g. 80Gi.",
        pattern: #"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"#
    )

    /// A Kaito release, `v0.12.0`.
    static let version = string("A Kaito release, e.g. v0.12.0.", pattern: #"^v?[0-9]+\.[0-9]+(\.[0-9]+)?$"#)

    // MARK: Kubernetes objects

    static let dns1123Label = #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"#

    /// The object metadata fields kaitoc reads (docs/reference/kaito.md section 1.4 for the annotations).
    static func metadata(nameRequired: Bool) -> JSONValue {
        let annotations: [String: JSONValue] = [
            "kaito.sh/runtime": caseInsensitive(
                "The inference runtime: vllm (the default), transformers, or kaito-serve (this project's CPU engine).",
                ["vllm", "transformers", "kaito-serve"]
            ),
            "kaito.sh/bypass-resource-checks": string("Present (any value): GPU-memory failures become warnings."),
            "kaito.sh/enablelb": string("\"True\": a LoadBalancer Service."),
            "kaito.sh/node-image-family": caseInsensitive(
                "The node image family.",
                ["ubuntu", "azurelinux"],
                trimmed: true
            ),
            "kaito.sh/node-class-name": string("Karpenter provisioner: a NodeClass Kaito manages."),
            "kaito.sh/disable-benchmark": string("\"true\": no post-load benchmark.", enum: ["true", "false"]),
            "kaito.sh/performance-mode": string(
                "vLLM --performance-mode.",
                enum: ["balanced", "interactivity", "throughput"]
            ),
            "kaito.sh/use-local-weights": string(
                "Read the weights from the node's host path.",
                enum: ["true", "false"]
            ),
            KaitoServeQuantization.annotation: string(
                "kaito-serve: quantize the weights at load.",
                enum: KaitoServeQuantization.allCases.map(\.rawValue)
            ),
        ]
        var properties: [String: JSONValue] = [
            "name": .object([
                "type": .string("string"),
                "description": .string("A DNS-1123 label (Kaito's webhook rule V1)."),
                "pattern": .string(dns1123Label),
                "maxLength": .int(63),
            ]),
            "namespace": string("The namespace (default: default).", pattern: dns1123Label),
            "labels": stringMap("Labels."),
            "annotations": stringMap("Annotations; Kaito's are listed.", known: annotations),
        ]
        for field in InputDecoder.objectMetaFields where properties[field] == nil {
            properties[field] = .object(["description": .string("Set by the API server; kaitoc ignores it.")])
        }
        return object(properties, required: nameRequired ? ["name"] : [], description: "Object metadata.")
    }

    static let labelSelector = object(
        [
            "matchLabels": stringMap("Labels the nodes must have (reserved kaito.sh keys are stripped)."),
            "matchExpressions": array(
                object(
                    [
                        "key": string(),
                        "operator": string(enum: ["In", "NotIn", "Exists", "DoesNotExist"]),
                        "values": array(string()),
                    ],
                    required: ["key", "operator"]
                )
            ),
        ],
        description: "Selects the nodes of the workspace."
    )

    static func instanceType(_ vocabulary: Vocabulary) -> JSONValue {
        caseInsensitive(
            "The node SKU: one of the catalog's instance types (presets/), in any letter case. Required when Kaito "
                + "provisions nodes, empty for BYO nodes.",
            vocabulary.instanceTypes
        )
    }

    static let partition = object(
        [
            "mode": string("mig or accelerator.", enum: ["mig", "accelerator"]),
            "profile": string("MIG profile, e.g. 1g.10gb.", pattern: #"^[0-9]+g\.[0-9.]+gb$"#),
            "count": integer("Accelerator partitions.", minimum: 1),
        ],
        description: "GPU partitioning (BYO nodes, feature-gated)."
    )

    static func preset(version: String, _ vocabulary: Vocabulary) -> JSONValue {
        var options: [String: JSONValue] = [
            "image": string("Deprecated: the private image."),
            "imagePullSecrets": array(string()),
        ]
        if version == "v1beta1" {
            options["modelAccessSecret"] = string("A Secret with key HF_TOKEN in the workspace's namespace.")
        }
        // Hugging Face ids (org/model) match the last pattern in any case; the others are spelled out.
        let name = caseInsensitive(
            "A preset of the catalog (presets/models/), in any letter case, or from Kaito v0.11 on any Hugging Face "
                + "id org/model.",
            vocabulary.presetNames,
            orPattern: #"^[^/\s]+/[^/\s]+$"#
        )
        var properties: [String: JSONValue] = [
            "name": name,
            "presetOptions": object(options),
        ]
        properties["accessMode"] = string("Deprecated in v1beta1.", enum: ["public", "private"])
        return object(properties, required: ["name"], description: "A model of the catalog.")
    }

    static let dataSource = object(
        [
            "name": string(),
            "urls": array(string()),
            "image": string(),
            "imagePullSecrets": array(string()),
            "volumeSource": anyObject("A Kubernetes volume source."),
        ],
        description: "Exactly one of urls, image or volumeSource."
    )

    static func inference(version: String, _ vocabulary: Vocabulary) -> JSONValue {
        object(
            [
                "preset": preset(version: version, vocabulary),
                "template": anyObject("A pod template instead of a preset."),
                "config": string("A ConfigMap with inference_config.yaml (vLLM parameters)."),
                "adapters": array(
                    object(
                        [
                            "source": dataSource,
                            "strength": string("A number in [0, 1], as a string.", pattern: #"^\s*[0-9.eE+-]+\s*$"#),
                        ],
                        required: ["source"]
                    ),
                    description: "LoRA adapters (at most 10).",
                    maxItems: 10
                ),
            ],
            description: "Inference: a preset or a template."
        )
    }

    static func tuning(version: String, _ vocabulary: Vocabulary) -> JSONValue {
        object(
            [
                "preset": preset(version: version, vocabulary),
                "method": string("lora or qlora.", pattern: "^([qQ])?[lL][oO][rR][aA]$"),
                "config": string("A ConfigMap with training_config.yaml."),
                "input": dataSource,
                "output": object(
                    [
                        "volumeSource": anyObject("A Kubernetes volume source."),
                        "image": string(),
                        "imagePushSecret": string(),
                    ],
                    description: "Exactly one of image (with imagePushSecret) or volumeSource."
                ),
            ],
            required: ["preset", "input", "output"],
            description: "Fine-tuning."
        )
    }

    static func workspace(version: String, _ vocabulary: Vocabulary) -> JSONValue {
        var resource: [String: JSONValue] = [
            "count": integer("Deprecated in v1beta1: the node count (the estimator decides on vLLM)."),
            "instanceType": instanceType(vocabulary),
            "labelSelector": labelSelector,
            "preferredNodes": array(string(), description: "Deprecated."),
        ]
        if version == "v1beta1" { resource["partition"] = partition }
        guard
            case .object(var schema) = object(
                [
                    "apiVersion": string(enum: ["kaito.sh/\(version)"]),
                    "kind": string(enum: ["Workspace"]),
                    "metadata": metadata(nameRequired: true),
                    "resource": object(resource, required: ["labelSelector"], description: "The nodes."),
                    "inference": inference(version: version, vocabulary),
                    "tuning": tuning(version: version, vocabulary),
                    "status": anyObject("Written by Kaito's controller."),
                ],
                required: ["apiVersion", "kind", "metadata"],
                description:
                    "A Kaito Workspace (kaito.sh/\(version)), as strict as kaitoc check: resource, inference and "
                    + "tuning sit at the top level (no spec). Generated by kaitoc schema from the catalog."
            )
        else { return .object([:]) }
        schema["$schema"] = .string(draft)
        schema["title"] = .string("Workspace kaito.sh/\(version)")
        // Kaito's webhook rules C1 and C2: exactly one of inference and tuning.
        schema["oneOf"] = .array([
            .object(["required": .array([.string("inference")])]),
            .object(["required": .array([.string("tuning")])]),
        ])
        return .object(schema)
    }

    static func inferenceSet(version: String, _ vocabulary: Vocabulary) -> JSONValue {
        var resource: [String: JSONValue] = ["instanceType": instanceType(vocabulary)]
        if version == "v1beta1" { resource["partition"] = partition }
        let autoUpgrade = object(
            [
                "enabled": boolean(),
                "strategy": string(enum: ["InPlace", "Surge"]),
                "maintenanceWindow": object(
                    ["schedule": string("A 5-field cron expression (UTC)."), "duration": string("e.g. 4h.")],
                    required: ["schedule"]
                ),
            ],
            description: "Automatic base-image upgrades."
        )
        let spec = object(
            [
                "template": object(
                    [
                        "metadata": anyObject("Metadata of the Workspaces created."),
                        "resource": object(resource),
                        // Both versions embed the v1beta1 inference spec (docs/reference/kaito.md section 1.9).
                        "inference": inference(version: "v1beta1", vocabulary),
                    ],
                    required: ["inference"]
                ),
                "replicas": integer("Workspaces to create.", minimum: 0),
                "nodeCountLimit": integer("The most GPU nodes of the set."),
                "labelSelector": labelSelector,
                "updateStrategy": anyObject("A StatefulSet update strategy."),
                "autoUpgrade": autoUpgrade,
            ],
            required: ["template", "labelSelector"]
        )
        guard
            case .object(var schema) = object(
                [
                    "apiVersion": string(enum: ["kaito.sh/\(version)"]),
                    "kind": string(enum: ["InferenceSet"]),
                    "metadata": metadata(nameRequired: true),
                    "spec": spec,
                    "status": anyObject("Written by Kaito's controller."),
                ],
                required: ["apiVersion", "kind", "metadata", "spec"],
                description: "A Kaito InferenceSet (kaito.sh/\(version)). Generated by kaitoc schema from the catalog."
            )
        else { return .object([:]) }
        schema["$schema"] = .string(draft)
        schema["title"] = .string("InferenceSet kaito.sh/\(version)")
        return .object(schema)
    }

    // MARK: The catalog files (presets/README.md)

    static func catalogDocument(kind: String, _ properties: [String: JSONValue], required: [String]) -> JSONValue {
        var all = properties
        all["kind"] = string(enum: [kind])
        guard
            case .object(var schema) = object(
                all,
                required: ["kind"] + required,
                description: "A kaitoc catalog file of kind \(kind) (presets/README.md)."
            )
        else { return .object([:]) }
        schema["$schema"] = .string(draft)
        schema["title"] = .string("kaitoc \(kind)")
        return .object(schema)
    }

    static func targetList() -> JSONValue {
        let gates = Target.defaultFeatureGates.keys.sorted().reduce(into: [String: JSONValue]()) {
            $0[$1] = boolean()
        }
        let quota = object(
            [
                "instanceType": string(),
                "gpuModel": string(),
                "maxNodes": integer(minimum: 0),
                "maxGPUs": integer(minimum: 0),
            ]
        )
        let nodePool = object(
            [
                "name": string(),
                "labels": stringMap("The labels of the pool's nodes (a workspace's matchLabels select pools)."),
                "nodes": integer(minimum: 1),
                "gpu": object(
                    [
                        "product": string("nvidia.com/gpu.product"), "count": integer(minimum: 1),
                        "memoryMiB": integer(minimum: 1), "computeCapability": string(), "mig": boolean(),
                    ],
                    required: ["product", "count", "memoryMiB"]
                ),
            ],
            required: ["gpu"]
        )
        let target = object(
            [
                "name": string("The target; workspaces/<name>/ belongs to it."),
                "default": boolean("Files outside a target's folder belong to the default target."),
                "description": string(),
                "kaitoVersion": version,
                "cloudProvider": string(enum: ["azure", "aws", "arc"]),
                "nodeProvisioner": string(enum: NodeProvisioner.allCases.map(\.rawValue)),
                "presetRegistry": string(),
                "baseImageTag": string(),
                "localNVMeStorageClass": boolean(),
                "featureGates": object(gates),
                "releaseNamespace": string(),
                "kaitoServe": object(["registry": string(), "tag": string()]),
                "karpenterNodeClasses": array(string()),
                "defaultNodeImageFamily": string(enum: ["ubuntu", "azurelinux"]),
                "outputMode": string(enum: OutputMode.allCases.map(\.rawValue)),
                "quotas": array(quota),
                "nodePools": array(nodePool),
                "kedaKaitoScaler": string(enum: [KedaKaitoScaler.version, KedaKaitoScaler.V06.version]),
                "kedaNamespace": string("The namespace KEDA and keda-kaito-scaler run in (--working-namespace)."),
            ],
            required: ["name"]
        )
        return catalogDocument(kind: "TargetList", ["targets": array(target)], required: ["targets"])
    }

    static func modelCatalog() -> JSONValue {
        let requirements: [String: JSONValue] = [
            "gpuCountRequirement": integer(minimum: 0),
            "totalGPUMemoryRequirement": quantity,
            "perGPUMemoryRequirement": quantity,
        ]
        let vllm = object(
            [
                "dtype": string(), "loadFormat": string(), "configFormat": string(), "tokenizerMode": string(),
                "toolCallParser": string(), "reasoningParser": string(), "chatTemplate": string(),
                "extraFlags": array(string()), "disableKVCacheOffload": boolean(), "deepGEMM": boolean(),
                "cudaToolkit": boolean(), "disallowLoRA": boolean(), "disableTensorParallelism": boolean(),
            ]
        )
        let kaitoServe = object(
            [
                "billionParameters": number(), "layers": integer(minimum: 1), "keyValueHeads": integer(minimum: 1),
                "headDimension": integer(minimum: 1), "maxModelLength": integer(minimum: 1),
                "weightsPath": string(),
            ],
            required: ["billionParameters", "layers", "keyValueHeads", "headDimension", "maxModelLength"]
        )
        let tuning = object(
            requirements.merging(
                [
                    "diskStorageRequirement": quantity, "totalSafeTensorFileSize": quantity,
                    "readinessTimeoutMinutes": number(),
                ]
            ) { a, _ in a }
        )
        let model = object(
            requirements.merging(
                [
                    "name": string(), "aliases": array(string()), "servedModelName": string(), "family": string(),
                    "modelFileSize": quantity, "diskStorageRequirement": quantity,
                    "modelTokenLimit": integer(minimum: 1), "bytesPerToken": integer(minimum: 0),
                    "attention": string(), "architectures": array(string()), "quantization": string(),
                    "readinessTimeoutMinutes": number(), "supportDistributedInference": boolean(),
                    "downloadAtRuntime": boolean(), "downloadAuthRequired": boolean(), "tag": string(),
                    "accessMode": string(enum: ["public", "private"]), "worldSize": integer(minimum: 1),
                    "vllm": vllm, "transformers": object(["runParams": array(string())]),
                    "kaitoServe": kaitoServe, "tuning": tuning,
                ]
            ) { a, _ in a },
            required: ["name"]
        )
        return catalogDocument(
            kind: "ModelCatalog",
            [
                "kaitoVersion": version,
                "baseImage": object(["name": string(), "tag": string()]),
                "deprecated": array(string()),
                "models": array(model),
            ],
            required: ["kaitoVersion"]
        )
    }

    static func instanceTypeCatalog() -> JSONValue {
        let instanceType = object(
            [
                "name": string(), "cloud": string(enum: ["azure", "aws", "arc"]), "gpuCount": integer(minimum: 0),
                "gpuMemory": quantity, "gpuModel": string(), "vcpus": integer(minimum: 1), "memory": quantity,
                "computeCapability": string(pattern: #"^[0-9]+\.[0-9]+$"#), "nvme": boolean(), "mig": boolean(),
                "addedIn": version, "removedIn": version,
            ],
            required: ["name", "cloud", "gpuCount"]
        )
        return catalogDocument(
            kind: "InstanceTypeCatalog",
            ["instanceTypes": array(instanceType)],
            required: ["instanceTypes"]
        )
    }

    static func priceList() -> JSONValue {
        let price = object(
            ["instanceType": string(), "perHour": number("The price of one node for one hour.")],
            required: ["instanceType", "perHour"]
        )
        return catalogDocument(
            kind: "PriceList",
            [
                "cloud": string(enum: ["azure", "aws", "arc"]),
                "currency": string(), "region": string(), "source": string(),
                "date": string(pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#), "prices": array(price),
            ],
            required: ["cloud", "currency", "region", "source", "date", "prices"]
        )
    }
}
