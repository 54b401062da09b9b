internal import Foundation

/// Where `check` and `build` read the repository from: the file system, or a git tree held in memory (a commit or
/// the index, read through libgit2).
public protocol SourceTree: Sendable {
    /// Every `*.yaml`/`*.yml` file under a folder (or the path itself when it is a file), sorted.
    func yamlFiles(under path: String) -> [String]
    /// A file's bytes, or `nil` when it cannot be read.
    func read(_ path: String) -> [UInt8]?
    /// Whether a folder exists.
    func isDirectory(_ path: String) -> Bool
    /// A canonical form of a path, to compare paths written differently.
    func canonical(_ path: String) -> String
}

/// The repository as it is on disk.
public struct FileSystemTree: SourceTree {
    /// Creates the file-system source.
    public init() {}

    /// Every YAML file under a folder, sorted.
    public func yamlFiles(under path: String) -> [String] { RepositoryFiles.yamlFiles(under: path) }
    /// A file\'s bytes.
    public func read(_ path: String) -> [UInt8]? { RepositoryFiles.read(path) }
    /// Whether a folder exists.
    public func isDirectory(_ path: String) -> Bool { RepositoryFiles.isDirectory(path) }
    /// A canonical form of a path.
    public func canonical(_ path: String) -> String { Checker.absolute(path) }
}

/// A repository snapshot held in memory, keyed by paths relative to the repository root.
public struct MemoryTree: SourceTree {
    /// The files.
    public var files: [String: [UInt8]]

    /// Creates a snapshot.
    public init(files: [String: [UInt8]]) {
        self.files = files
    }

    /// Every YAML file under a folder, sorted.
    public func yamlFiles(under path: String) -> [String] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return files.keys.filter {
            ($0 == path || $0.hasPrefix(prefix)) && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml"))
        }
        .sorted()
    }

    /// A file\'s bytes.
    public func read(_ path: String) -> [UInt8]? { files[path] }

    /// Whether a folder exists.
    public func isDirectory(_ path: String) -> Bool {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return files.keys.contains { $0.hasPrefix(prefix) }
    }

    /// A canonical form of a path.
    public func canonical(_ path: String) -> String { path.hasPrefix("./") ? String(path.dropFirst(2)) : path }
}
