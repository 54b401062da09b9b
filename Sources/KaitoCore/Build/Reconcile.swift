/// What reconciling a rendering with an existing `out/` does, path by path (paths relative to `out/`).
///
/// `build` (the working directory), `commit` (a git tree) and `diff` (a committed tree) all reconcile through
/// ``OutputReconciler/reconcile(rendered:existing:isUnchanged:contents:isOwned:)`` and report this type.
public struct Reconciliation: Sendable, Hashable {
    /// Rendered files with no file at their path yet.
    public var added: [String] = []
    /// Rendered files replacing an older kaitoc file with different contents.
    public var changed: [String] = []
    /// Rendered files whose existing file already has the same bytes (left untouched).
    public var unchanged: [String] = []
    /// Files kaitoc had written before that no longer belong to the output: deleted.
    public var pruned: [String] = []
    /// Files in the output folder that kaitoc did not write (no header); never touched.
    public var foreign: [String] = []

    /// Creates an empty reconciliation.
    public init() {}

    /// Files created or changed, sorted.
    public var written: [String] { (added + changed).sorted() }
}

/// The result of `build`'s writer: the same type as every reconcile.
public typealias WriteResult = Reconciliation

/// The one ownership rule of `out/`: a file is kaitoc's when it starts with kaitoc's header.
public enum OutputReconciler {
    /// Whether `bytes` start with kaitoc's header.
    public static func isKaitocFile(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: OutputWriter.headerPrefix.utf8)
    }

    /// The error for a user's file at a path kaitoc renders.
    ///
    /// - Parameter path: The path as the user sees it (for example `out/quickstart/kustomization.yaml`).
    /// - Returns: The error, naming the file and what to do.
    public static func occupiedError(_ path: String) -> OutputError {
        OutputError(
            message: "\(path) exists and was not written by kaitoc (no kaitoc header); move it away and run again",
            occupiedPath: path
        )
    }

    /// Reconciles rendered files with the existing ones; decides everything before anything changes.
    ///
    /// - Parameters:
    ///   - rendered: The rendered paths with their bytes.
    ///   - existing: The paths of the files that exist now.
    ///   - isUnchanged: Whether the existing file at a path has exactly these bytes (a cheap check, e.g. a blob id).
    ///   - contents: The existing file's bytes (read only when needed: changed or unrendered files).
    ///   - isOwned: Whether an unrendered existing path lies in a folder this run prunes.
    ///   - displayPrefix: Prepended to paths in errors (`out/`).
    /// - Returns: What happens to each path.
    /// - Throws: ``OutputError`` naming the first (sorted) rendered path occupied by a file without kaitoc's header.
    public static func reconcile(
        rendered: [String: [UInt8]],
        existing: Set<String>,
        isUnchanged: (String, [UInt8]) -> Bool,
        contents: (String) -> [UInt8]?,
        isOwned: (String) -> Bool = { _ in true },
        displayPrefix: String = "out/"
    ) throws(OutputError) -> Reconciliation {
        var result = Reconciliation()
        for path in rendered.keys.sorted() {
            let bytes = rendered[path] ?? []
            guard existing.contains(path) else {
                result.added.append(path)
                continue
            }
            if isUnchanged(path, bytes) {
                result.unchanged.append(path)
                continue
            }
            guard let old = contents(path), isKaitocFile(old) else { throw occupiedError(displayPrefix + path) }
            result.changed.append(path)
        }
        for path in existing.sorted() where rendered[path] == nil && isOwned(path) {
            if let old = contents(path), isKaitocFile(old) {
                result.pruned.append(path)
            } else {
                result.foreign.append(path)
            }
        }
        return result
    }
}
