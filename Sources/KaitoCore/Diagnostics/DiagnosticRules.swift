/// One rule that can produce diagnostics: its stable code, what it checks and where it is documented.
///
/// Every code kaitoc emits has a rule here, documented under a heading of the same name in `docs/diagnostics.md`
/// (a test keeps the two in step); SARIF output lists the rules its results refer to.
public struct DiagnosticRule: Sendable, Hashable {
    /// The stable code, for example `KAITO-R5` or `KAITOC-QUOTA`.
    public var id: String
    /// One sentence: what the rule rejects.
    public var summary: String
    /// Where the rule comes from: Kaito's webhook (docs/reference/kaito.md section 1.6) or kaitoc itself.
    public var origin: Origin
    /// The severity of most of its diagnostics.
    ///
    /// A rule may report others, for example a warning when a check is bypassed.
    public var level: Severity

    /// Where a rule comes from.
    public enum Origin: String, Sendable, Hashable {
        /// A rule of Kaito's validation webhook, reproduced offline with the webhook's own message.
        case kaitoWebhook
        /// A rule of the webhook of older Kaito releases (docs/reference/kaito.md section 1.7), for targets of those.
        case kaitoWebhookHistory
        /// A rule of the compiler itself.
        case kaitoc
    }

    /// The longer help text: the summary and where the rule comes from.
    public var help: String {
        switch origin {
        case .kaitoWebhook:
            let number = id.dropFirst("KAITO-".count)
            return
                "\(summary) Kaito's admission webhook rejects this workspace with the same message (rule \(number) of "
                + "docs/reference/kaito.md section 1.6); kaitoc reports it before the workspace reaches a cluster."
        case .kaitoWebhookHistory:
            return
                "\(summary) The admission webhook of older Kaito releases rejects this workspace with the same message "
                + "(docs/reference/kaito.md section 1.7); kaitoc applies the rule to targets of those releases."
        case .kaitoc:
            return "\(summary) A kaitoc rule: Kaito's webhook accepts this, but the result would not work as intended."
        }
    }

    /// The documentation page of the rule: `docs/diagnostics.md`, at the heading named after the code.
    public var helpURI: String { DiagnosticRules.documentationPage + "#" + id.lowercased() }
}

/// The registry of every rule kaitoc can report.
public enum DiagnosticRules {
    /// The published `docs/diagnostics.md` of this project, which SARIF `helpUri`s point into.
    ///
    /// The project has no published home yet; this is the same placeholder as in docs/gitops.md's pre-commit
    /// example.
    public static let documentationPage = "https://example.com/your-org/kaitoc/blob/main/docs/diagnostics.md"

    /// The rules, Kaito's webhook rules first (in the order of docs/reference/kaito.md section 1.6), then kaitoc's.
    public static let all: [DiagnosticRule] =
        webhook.map {
            DiagnosticRule(id: "KAITO-" + $0.0, summary: $0.1, origin: .kaitoWebhook, level: .error)
        } + history + compiler

    /// The rule of a code, or `nil` for an unregistered code.
    public static func rule(for code: String) -> DiagnosticRule? { byID[code] }

    private static let byID: [String: DiagnosticRule] = Dictionary(
        all.map { ($0.id, $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// Kaito's webhook rules that kaitoc reproduces (docs/reference/kaito.md section 1.6; R6–R8, IC6 and the update
    /// rules need a live cluster or an old object and are not reproduced).
    private static let webhook: [(String, String)] = [
        ("V1", "The workspace name is not a DNS-1123 label."),
        ("C1", "The workspace has neither inference nor tuning."),
        ("C2", "The workspace has both inference and tuning."),
        ("C3", "An instance type is set on a target whose nodes are brought by the user (node auto-provisioning off)."),
        ("C4", "No instance type is set although the target provisions nodes."),
        ("C5", "The kaito.sh/node-image-family annotation is not ubuntu or azurelinux."),
        ("C6", "The kaito.sh/performance-mode annotation is not balanced, interactivity or throughput."),
        ("C7", "The kaito.sh/use-local-weights annotation is not \"true\" or \"false\"."),
        ("C8", "The kaito.sh/node-class-name annotation names a NodeClass that Kaito does not manage."),
        ("R1", "The preset is a deprecated model that Kaito no longer supports."),
        ("R2", "The label selector cannot be converted to a map of labels."),
        ("R3", "The label selector's matchLabels holds only keys that Kaito reserves."),
        ("R4", "GPU partitioning is asked for on a target that provisions nodes (it needs BYO nodes)."),
        ("R5", "The instance type is not in the target cloud's GPU SKU table."),
        ("R6", "BYO nodes: no node the target declares matches the workspace's label selector."),
        ("R8", "BYO nodes: the matching nodes differ in GPU product, count or memory."),
        ("R9", "The instance type's total GPU memory is smaller than the model's weights."),
        ("R10", "Multi-node inference is asked for on the Hugging Face transformers runtime."),
        ("R11", "A MIG partition is asked for while the enableMIG feature gate is off."),
        ("R12", "A MIG partition sets count, which only accelerator partitions accept."),
        ("R13", "The MIG profile is not of the form <n>g.<m>gb."),
        ("R14", "The model's weights do not fit the MIG slice."),
        ("R15", "An accelerator partition is asked for while the gate is off, with a profile, or without a count."),
        ("I1", "Inference has neither a preset nor a template."),
        ("I2", "Inference has both a preset and a template."),
        ("I3", "The inference preset name is not one Kaito knows."),
        ("I4", "A Hugging Face model id is not in the catalog and cannot be resolved offline."),
        ("I5", "The model has no Hugging Face transformers command, but the transformers runtime is asked for."),
        ("I6", "vLLM does not support LoRA adapters for this model."),
        ("I7", "An adapter sets a strength, which vLLM does not support."),
        ("I8", "The preset needs a modelAccessSecret to download the model."),
        ("I9", "A modelAccessSecret is set for a preset that downloads nothing."),
        ("I10", "More than 10 adapters."),
        ("I11", "Two adapters have the same source name."),
        ("A1", "An adapter has no source."),
        ("A2", "An adapter's source is not exactly one of URLs, image or volume."),
        ("A3", "An adapter's source name is empty or not a DNS-1123 subdomain."),
        ("A4", "An adapter's source has neither an image nor a volume."),
        ("A5", "An adapter's source uses URLs, which adapters do not support."),
        ("A6", "An adapter's strength is not a number between 0 and 1."),
        ("IC1", "The inference config ConfigMap does not exist in the workspace's namespace."),
        ("IC2", "The inference config ConfigMap lacks the inference_config.yaml key."),
        ("IC3", "inference_config.yaml does not parse."),
        ("IC4", "vllm.max-model-len in inference_config.yaml is not an integer."),
        ("IC5", "vllm.max-model-len exceeds the model's context window."),
        ("T1", "Tuning asks for more than one node."),
        ("T2", "Tuning asks for GPU partitioning."),
        ("T3", "The tuning method is not lora or qlora."),
        ("T4", "The tuning config ConfigMap does not exist."),
        ("T5", "The tuning config ConfigMap lacks training_config.yaml, or it is not a map of known sections."),
        ("T6", "load_in_4bit or load_in_8bit is not a boolean."),
        ("T7", "Both load_in_4bit and load_in_8bit are true."),
        ("T8", "Method lora with load_in_4bit or load_in_8bit true."),
        ("T9", "Method qlora without load_in_4bit or load_in_8bit true."),
        ("T10", "TrainingArguments.output_dir is not a string or not a directory under /mnt."),
        ("T11", "Tuning has no input or no output."),
        ("T12", "The tuning input is not exactly one of URLs, image or volume."),
        ("T13", "A tuning input URL is invalid, not HTTP(S), or targets a local, private or metadata address."),
        ("T14", "A tuning input or output image is not a valid image reference."),
        ("T15", "A tuning output image has no imagePushSecret."),
        ("T16", "The tuning output is not exactly one of image or volume."),
        ("T17", "The tuning preset is missing or not one Kaito knows."),
        ("IS1", "An InferenceSet's name is not a DNS-1123 label."),
        ("IS2", "An InferenceSet asks for a negative number of replicas."),
        ("IS3", "An InferenceSet sets an instance type under BYO nodes, or lacks one under a node provisioner."),
        ("IS4", "An InferenceSet's maintenance window lacks a schedule, or its cron schedule or duration is invalid."),
    ]

    /// The webhook rules of older releases (docs/reference/kaito.md section 1.7).
    private static let history: [DiagnosticRule] = [
        ("GPU-COUNT", "v0.3–v0.4: the instance type has fewer GPUs than the preset requires."),
        ("GPU-MEMORY", "v0.3–v0.4: the instance type's GPU memory (per GPU or in total) is below the preset's need."),
        ("ACCESS-MODE", "v1alpha1: a private preset needs accessMode private and an image."),
    ].map { DiagnosticRule(id: "KAITO-" + $0.0, summary: $0.1, origin: .kaitoWebhookHistory, level: .error) }

    /// kaitoc's own rules (``DiagnosticCode``).
    private static let compiler: [DiagnosticRule] = [
        rule(
            DiagnosticCode.yaml,
            "The file is not valid YAML, or is hostile (too large, too deep, an alias bomb, "
                + "invalid UTF-8, a duplicate key)."
        ),
        rule(
            DiagnosticCode.schema,
            "A field has the wrong type, or a document lacks apiVersion, kind or "
                + "metadata.name."
        ),
        rule(DiagnosticCode.unknownField, "A field that the API does not have (often a typo); Kaito would drop it."),
        rule(DiagnosticCode.duplicate, "Two workspaces or two ConfigMaps of a target share a namespace and name."),
        rule(DiagnosticCode.quota, "The workspaces of a target ask for more nodes or GPUs than its quotas allow."),
        rule(
            DiagnosticCode.bf16,
            "A bfloat16 model on GPUs without native bfloat16 (compute capability below 8.0).",
            .warning
        ),
        rule(DiagnosticCode.target, "A workspace file that no target claims, or a problem in a target definition."),
        rule(
            DiagnosticCode.unknownInstanceType,
            "An instance type that Kaito's webhook lets through (the Azure "
                + "Standard_N/Standard_D exception) but that no catalog describes, so Kaito could not provision it."
        ),
        rule(DiagnosticCode.estimate, "Kaito's node-count estimator cannot place the model on the instance type."),
        rule(DiagnosticCode.io, "A file could not be read."),
        rule(DiagnosticCode.catalog, "The catalog in presets/ is malformed."),
        rule(DiagnosticCode.kaitoServe, "A workspace on the kaito-serve runtime that it cannot run."),
        rule(
            DiagnosticCode.kaitoServeMemory,
            "The model, its KV cache and headroom do not fit the memory of the "
                + "CPU-only instance type."
        ),
        rule(DiagnosticCode.cpuTuning, "Tuning on a CPU-only instance type (Kaito's tuning jobs need GPUs)."),
        rule(
            DiagnosticCode.tuningMethod,
            "A tuning method that Kaito's webhook accepts but for which its "
                + "controller creates no Job."
        ),
        rule(DiagnosticCode.v1alpha1, "A v1alpha1 workspace that the target's v1alpha1 webhook rejects."),
        rule(
            DiagnosticCode.skipped,
            "Rules spanning several workspaces were skipped because only some files "
                + "were checked.",
            .note
        ),
        rule(
            DiagnosticCode.runtime,
            "An unknown kaito.sh/runtime annotation, or a runtime the model has no "
                + "parameters for."
        ),
        rule(DiagnosticCode.image, "An adapter image that is not a valid image reference."),
        rule(
            DiagnosticCode.inferenceSet,
            "An InferenceSet the target's Kaito cannot serve (no such kind or API version, controller gate off), or "
                + "whose replicas exceed its nodeCountLimit."
        ),
        rule(
            DiagnosticCode.autoscaling,
            "keda-kaito-scaler annotations that create no ScaledObject, or one the output cannot carry.",
            .warning
        ),
        rule(
            DiagnosticCode.gateway,
            "The Gateway API Inference Extension gate is on, but kaitoc cannot render the objects of the target's "
                + "release.",
            .warning
        ),
        rule(
            DiagnosticCode.byo,
            "A BYO workspace whose GPU facts the target does not declare (nodePools), or whose estimate exceeds the "
                + "matching nodes.",
            .warning
        ),
    ]

    private static func rule(_ id: String, _ summary: String, _ level: Severity = .error) -> DiagnosticRule {
        DiagnosticRule(id: id, summary: summary, origin: .kaitoc, level: level)
    }
}
