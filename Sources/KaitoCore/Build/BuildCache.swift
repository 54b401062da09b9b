internal import Crypto
internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// The version of kaitoc, written into commit trailers and into the build cache's key.
public enum KaitocBuildInfo {
    /// The kaitoc version.
    public static let version = "0.1.0"
}

/// Whether `build` reads and writes the build cache.
public enum BuildCacheMode: Sendable, Hashable {
    /// No cache: every workspace is rendered and every output file compared byte by byte (`build --no-cache`).
    case disabled
    /// The cache in its default place: `<git dir>/kaitoc-cache/` inside a git repository, else
    /// `<repository>/.kaitoc-cache/`.
    case automatic
    /// The cache in this folder.
    case directory(String)
}

/// A SHA-256 digest held in four words (hashable without allocating).
struct Digest: Hashable, Sendable {
    var w0: UInt64
    var w1: UInt64
    var w2: UInt64
    var w3: UInt64

    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    init(_ digest: SHA256.Digest) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        digest.withUnsafeBytes { raw in
            words = (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
        (w0, w1, w2, w3) = words
    }

    /// SHA-256 of some bytes.
    static func of(_ bytes: some Sequence<UInt8>) -> Digest {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return Digest(hasher.finalize())
    }

    /// SHA-256 of a string's UTF-8 bytes, without copying them when the string is contiguous.
    static func of(_ text: String) -> Digest {
        var text = text
        return text.withUTF8 { buffer in
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            return Digest(hasher.finalize())
        }
    }
}

/// Builds a digest from fields, each framed by its length so that no two field lists hash alike.
struct KeyHasher {
    private var hasher = SHA256()

    mutating func add(_ text: String) {
        add(UInt64(text.utf8.count))
        hasher.update(data: Array(text.utf8))
    }

    mutating func add(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { hasher.update(bufferPointer: $0) }
    }

    mutating func add(_ digest: Digest) {
        for word in [digest.w0, digest.w1, digest.w2, digest.w3] { add(word) }
    }

    mutating func add(optional text: String?) {
        if let text {
            add(1)
            add(text)
        } else {
            add(0)
        }
    }

    func finalize() -> Digest { Digest(hasher.finalize()) }
}

/// What identifies a file's current state without reading it: inode, size, modification and change times.
///
/// Any write, truncation, replacement (rename over it), deletion or `touch`/`chmod` changes at least one field;
/// `ctime` cannot be set back by a user, so even a tool that restores `mtime` (`cp -p`, `rsync -t`) is noticed.
struct FileStat: Hashable, Sendable {
    var inode: UInt64
    var size: Int64
    var mtimeSeconds: Int64
    var mtimeNanoseconds: Int64
    var ctimeSeconds: Int64
    var ctimeNanoseconds: Int64

    init(
        inode: UInt64,
        size: Int64,
        mtimeSeconds: Int64,
        mtimeNanoseconds: Int64,
        ctimeSeconds: Int64,
        ctimeNanoseconds: Int64
    ) {
        self.inode = inode
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeSeconds = ctimeSeconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }

    init(_ s: stat) {
        self.init(
            inode: UInt64(s.st_ino),
            size: Int64(s.st_size),
            mtimeSeconds: Int64(s.st_mtim.tv_sec),
            mtimeNanoseconds: Int64(s.st_mtim.tv_nsec),
            ctimeSeconds: Int64(s.st_ctim.tv_sec),
            ctimeNanoseconds: Int64(s.st_ctim.tv_nsec)
        )
    }

    /// The state of a regular file (not following a symbolic link), or `nil` when there is none.
    static func of(path: String) -> FileStat? {
        var s = stat()
        guard lstat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileStat(s)
    }

    /// The state of an open file.
    static func of(descriptor: Int32) -> FileStat? {
        var s = stat()
        guard fstat(descriptor, &s) == 0 else { return nil }
        return FileStat(s)
    }

    /// The later of the modification and change times, in whole seconds.
    var latestSeconds: Int64 { max(mtimeSeconds, ctimeSeconds) }
}

/// One object a cached workspace rendered to: enough to merge, order and list it without rendering.
struct CachedObject: Sendable, Hashable {
    var kind: String
    var namespace: String?
    var name: String
    /// Its file, relative to `out/`.
    var path: String
    /// SHA-256 of the whole file (header included).
    var hash: Digest

    var identity: String { "\(kind)/\(namespace ?? "")/\(name)" }
}

/// An output file as kaitoc last wrote or verified it.
struct FileRecord: Sendable, Hashable {
    var stat: FileStat
    /// SHA-256 of the bytes the file held when `stat` was taken.
    var hash: Digest
}

/// The build cache: what each workspace rendered to, keyed by a digest of everything its rendering depends on,
/// and the state of each output file when kaitoc last wrote or verified it.
///
/// The file is a sequence of records, each `length, type, payload, checksum` (the first 8 bytes of SHA-256 of type
/// and payload). The first record names the kaitoc build that wrote the cache; a cache of another build, a damaged
/// record or a truncated file is ignored (the damaged part only: the rest is still checked record by record), never
/// trusted. See docs/build-cache.md.
struct BuildCache: Sendable {
    static let magic: [UInt8] = Array("KAITOCBC".utf8)
    static let formatVersion: UInt64 = 1
    /// Files whose modification or change time is this close to the save time (seconds) are checked by content on
    /// the next build: the file system's clock ticks coarsely, so an edit within the same tick may keep `mtime`.
    static let racyWindow: Int64 = 2

    var workspaces: [Digest: [CachedObject]] = [:]
    var files: [String: FileRecord] = [:]
    /// When the cache was saved (seconds since the epoch); records of files changed since then are racy.
    var savedAt: Int64 = 0

    /// Whether a file record must be confirmed by reading the file (written too close to the save).
    func isRacy(_ record: FileRecord) -> Bool { record.stat.latestSeconds >= savedAt - Self.racyWindow }

    // MARK: Identity and location

    /// The kaitoc version and the cache format, which every identity starts with.
    private static var versionIdentity: String { "kaitoc \(KaitocBuildInfo.version) cache \(formatVersion)" }

    /// The running executable's file.
    private static var executable: String {
        #if os(Linux)
        "/proc/self/exe"
        #else
        CommandLine.arguments.first ?? ""
        #endif
    }

    /// What identifies the kaitoc build: its version and the executable's size and modification time, so that a
    /// rebuilt kaitoc (even of the same version) never trusts a cache written by another build.
    static var toolIdentity: String {
        var identity = versionIdentity
        var s = stat()
        if stat(executable, &s) == 0 {
            identity += " exe \(s.st_size) \(s.st_mtim.tv_sec).\(s.st_mtim.tv_nsec) \(s.st_ino)"
        }
        return identity
    }

    /// What identifies the kaitoc build by content: its version and the SHA-256 of the running executable's bytes.
    ///
    /// The same build installed anew (a CI runner that restores `<git dir>/kaitoc-cache` with a cache action and
    /// builds or downloads kaitoc again) keeps its cache, and any other build does not. Read once per process.
    static let contentIdentity: String = {
        let identity = versionIdentity
        guard let handle = FileHandle(forReadingAtPath: executable) else { return identity + " exe unknown" }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        let digest = Digest(hasher.finalize())
        return identity + " exe-sha256 " + String(format: "%016llx%016llx", digest.w0.bigEndian, digest.w1.bigEndian)
    }()

    /// The git directory of the repository holding `folder`, if any (`.git` a folder, or a file `gitdir: …` as in a
    /// worktree or submodule).
    static func gitDirectory(containing folder: String) -> String? {
        var current = Checker.absolute(folder)
        while true {
            let candidate = current == "/" ? "/.git" : current + "/.git"
            var s = stat()
            if lstat(candidate, &s) == 0 {
                if (s.st_mode & S_IFMT) == S_IFDIR { return candidate }
                if (s.st_mode & S_IFMT) == S_IFREG, let text = RepositoryFiles.read(candidate),
                    let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first,
                    line.hasPrefix("gitdir:")
                {
                    let path = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
                    return path.hasPrefix("/") ? path : current + "/" + path
                }
            }
            if current == "/" || current.isEmpty { return nil }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// The cache folder for a repository.
    static func folder(mode: BuildCacheMode, repositoryRoot: String) -> String? {
        switch mode {
        case .disabled: return nil
        case .directory(let path): return path
        case .automatic:
            if let git = gitDirectory(containing: repositoryRoot) { return git + "/kaitoc-cache" }
            return Checker.join(repositoryRoot, ".kaitoc-cache")
        }
    }

    /// The cache file for one output folder (each output folder has its own file states).
    static func file(in folder: String, outputDirectory: String) -> String {
        let digest = Digest.of(Checker.absolute(outputDirectory))
        return folder + "/build-" + String(format: "%016llx", digest.w0.bigEndian)
    }

    // MARK: Reading and writing

    private enum RecordType: UInt8 {
        case header = 1
        case workspace = 2
        case file = 3
    }

    /// Reads a cache; anything unreadable, of another kaitoc build or damaged is left out.
    static func load(from path: String, identity: String) -> BuildCache {
        var cache = BuildCache()
        guard let bytes = RepositoryFiles.read(path), bytes.starts(with: magic) else { return cache }
        var reader = ByteReader(bytes: bytes, offset: magic.count)
        var sawHeader = false
        while let (type, payload) = reader.record() {
            var fields = ByteReader(bytes: payload, offset: 0)
            switch RecordType(rawValue: type) {
            case .header:
                guard !sawHeader, fields.string() == identity, let saved = fields.int64(), fields.isAtEnd else {
                    return BuildCache()
                }
                sawHeader = true
                cache.savedAt = saved
            case .workspace:
                guard sawHeader, let key = fields.digest(), let count = fields.uint64(), count < 1 << 20 else {
                    continue
                }
                var objects: [CachedObject] = []
                var valid = true
                for _ in 0..<count {
                    guard let kind = fields.string(), let hasNamespace = fields.byte(),
                        let namespace = hasNamespace == 1 ? fields.string() : "",
                        let name = fields.string(), let filePath = fields.string(), let hash = fields.digest()
                    else {
                        valid = false
                        break
                    }
                    objects.append(
                        CachedObject(
                            kind: kind,
                            namespace: hasNamespace == 1 ? namespace : nil,
                            name: name,
                            path: filePath,
                            hash: hash
                        )
                    )
                }
                if valid, fields.isAtEnd { cache.workspaces[key] = objects }
            case .file:
                guard sawHeader, let filePath = fields.string(), let inode = fields.uint64(), let size = fields.int64(),
                    let ms = fields.int64(), let mns = fields.int64(), let cs = fields.int64(),
                    let cns = fields.int64(),
                    let hash = fields.digest(), fields.isAtEnd
                else { continue }
                let stat = FileStat(
                    inode: inode,
                    size: size,
                    mtimeSeconds: ms,
                    mtimeNanoseconds: mns,
                    ctimeSeconds: cs,
                    ctimeNanoseconds: cns
                )
                cache.files[filePath] = FileRecord(stat: stat, hash: hash)
            case nil:
                continue
            }
        }
        return sawHeader ? cache : BuildCache()
    }

    /// The cache as bytes, records sorted (the same cache always gives the same bytes).
    func encoded(identity: String, savedAt: Int64) -> [UInt8] {
        var out = ByteWriter()
        out.bytes += Self.magic
        var header = ByteWriter()
        header.string(identity)
        header.int64(savedAt)
        out.record(RecordType.header.rawValue, header.bytes)
        let keys = workspaces.keys.sorted { ($0.w0, $0.w1, $0.w2, $0.w3) < ($1.w0, $1.w1, $1.w2, $1.w3) }
        for key in keys {
            guard let objects = workspaces[key] else { continue }
            var payload = ByteWriter()
            payload.digest(key)
            payload.uint64(UInt64(objects.count))
            for object in objects {
                payload.string(object.kind)
                if let namespace = object.namespace {
                    payload.bytes.append(1)
                    payload.string(namespace)
                } else {
                    payload.bytes.append(0)
                }
                payload.string(object.name)
                payload.string(object.path)
                payload.digest(object.hash)
            }
            out.record(RecordType.workspace.rawValue, payload.bytes)
        }
        for path in files.keys.sorted() {
            guard let record = files[path] else { continue }
            var payload = ByteWriter()
            payload.string(path)
            payload.uint64(record.stat.inode)
            payload.int64(record.stat.size)
            payload.int64(record.stat.mtimeSeconds)
            payload.int64(record.stat.mtimeNanoseconds)
            payload.int64(record.stat.ctimeSeconds)
            payload.int64(record.stat.ctimeNanoseconds)
            payload.digest(record.hash)
            out.record(RecordType.file.rawValue, payload.bytes)
        }
        return out.bytes
    }

    /// Saves the cache atomically (a temporary file renamed into place); a failure only loses the cache.
    func save(to path: String, identity: String) {
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let bytes = encoded(identity: identity, savedAt: Int64(now.tv_sec))
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let complete = bytes.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, base + offset, buffer.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        close(fd)
        if !complete || rename(temporary, path) != 0 { unlink(temporary) }
        // Temporary files of builds killed while saving (a concurrent build's, if any, only loses its save).
        let name = (path as NSString).lastPathComponent + ".tmp."
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(name) {
            unlink(folder + "/" + entry)
        }
    }
}

/// Appends little-endian fields.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func uint64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func int64(_ value: Int64) { uint64(UInt64(bitPattern: value)) }
    mutating func string(_ text: String) {
        uint64(UInt64(text.utf8.count))
        bytes += text.utf8
    }
    mutating func digest(_ d: Digest) {
        for word in [d.w0, d.w1, d.w2, d.w3] { uint64(word) }
    }

    /// `length (u32), type, payload, checksum (8 bytes of SHA-256 of type and payload)`.
    mutating func record(_ type: UInt8, _ payload: [UInt8]) {
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { bytes += $0 }
        bytes.append(type)
        bytes += payload
        var hasher = SHA256()
        hasher.update(data: [type])
        hasher.update(data: payload)
        withUnsafeBytes(of: Digest(hasher.finalize()).w0) { bytes += $0 }
    }
}

/// Reads little-endian fields; every read is bounds-checked and answers `nil` past the end.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint64() -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return value
    }

    mutating func int64() -> Int64? { uint64().map { Int64(bitPattern: $0) } }

    mutating func string() -> String? {
        guard let length = uint64(), length <= UInt64(bytes.count - offset) else { return nil }
        let end = offset + Int(length)
        defer { offset = end }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func digest() -> Digest? {
        guard let w0 = uint64(), let w1 = uint64(), let w2 = uint64(), let w3 = uint64() else { return nil }
        return Digest(w0: w0, w1: w1, w2: w2, w3: w3)
    }

    /// The next record whose checksum holds; a damaged record is skipped when its length can be trusted, else
    /// reading stops.
    mutating func record() -> (UInt8, [UInt8])? {
        while bytes.count - offset >= 5 {
            var length = 0
            for i in 0..<4 { length |= Int(bytes[offset + i]) << (8 * i) }
            let start = offset + 5
            guard length <= bytes.count - start - 8 else { return nil }
            let type = bytes[offset + 4]
            let payload = Array(bytes[start..<start + length])
            var stored: UInt64 = 0
            for i in 0..<8 { stored |= UInt64(bytes[start + length + i]) << (8 * UInt64(i)) }
            offset = start + length + 8
            var hasher = SHA256()
            hasher.update(data: [type])
            hasher.update(data: payload)
            if Digest(hasher.finalize()).w0.littleEndian == stored { return (type, payload) }
        }
        return nil
    }
}
