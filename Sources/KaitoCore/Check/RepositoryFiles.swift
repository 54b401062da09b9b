internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// File-system helpers for reading the repository.
enum RepositoryFiles {
    /// Every `*.yaml`/`*.yml` file under a folder, sorted, following no symbolic links out of it; a file path is
    /// returned as is.
    ///
    /// One directory listing per folder (`readdir`'s entry types; `stat` only for symbolic links and file systems
    /// that give no type): a symbolic link to a file counts as a file, one to a folder is not entered.
    static func yamlFiles(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        var result: [String] = []
        collectYAML(in: path.hasSuffix("/") ? String(path.dropLast()) : path, into: &result)
        return result.sorted()
    }

    private static func collectYAML(in folder: String, into result: inout [String]) {
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        var subfolders: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let full = folder + "/" + name
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                var s = stat()
                guard lstat(full, &s) == 0 else { continue }
                type =
                    (s.st_mode & S_IFMT) == S_IFDIR
                    ? Int32(DT_DIR) : (s.st_mode & S_IFMT) == S_IFLNK ? Int32(DT_LNK) : Int32(DT_REG)
            }
            if type == Int32(DT_DIR) {
                subfolders.append(full)
                continue
            }
            guard name.hasSuffix(".yaml") || name.hasSuffix(".yml") else { continue }
            if type == Int32(DT_LNK) {
                var s = stat()
                guard stat(full, &s) == 0, (s.st_mode & S_IFMT) != S_IFDIR else { continue }
            }
            result.append(full)
        }
        for subfolder in subfolders { collectYAML(in: subfolder, into: &result) }
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
