internal import Foundation

/// File-system helpers for reading the repository.
enum RepositoryFiles {
    /// Every `*.yaml`/`*.yml` file under a folder, sorted, following no symbolic links out of it; a file path is
    /// returned as is.
    static func yamlFiles(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
        var result: [String] = []
        while let entry = enumerator.nextObject() as? String {
            guard entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") else { continue }
            let full = path.hasSuffix("/") ? path + entry : path + "/" + entry
            var entryIsDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &entryIsDirectory), !entryIsDirectory.boolValue
            {
                result.append(full)
            }
        }
        return result.sorted()
    }

    /// The bytes of a file, or `nil` when it cannot be read.
    static func read(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return [UInt8](data)
    }

    /// Whether a folder exists.
    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
