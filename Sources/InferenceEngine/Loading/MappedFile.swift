internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A read-only memory mapping of a whole file: the one owner of the mapping, which is unmapped exactly once, when
/// the last ``TensorView`` (or loader) holding it goes away.
public final class MappedFile: Sendable {
    /// The file path.
    public let path: String
    /// The file's length in bytes.
    public let length: Int
    // Justification for nonisolated(unsafe): the mapping is read-only and immutable for the object's lifetime.
    /// The first byte of the mapping.
    public nonisolated(unsafe) let bytes: UnsafeRawPointer

    /// Maps `path` read-only.
    ///
    /// - Throws: ``EngineError`` (`missingFile` when it cannot be opened, `invalidFile` when it cannot be mapped).
    public init(path: String) throws(EngineError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw EngineError(.missingFile, "cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw EngineError(.invalidFile, "cannot stat \(path)") }
        length = Int(info.st_size)
        guard length > 0 else { throw EngineError(.truncatedFile, "\(path) is empty") }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw EngineError(.invalidFile, "cannot map \(path)")
        }
        bytes = UnsafeRawPointer(mapped)
        Self.liveMappings.wrappingAdd(1, ordering: .relaxed)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), length)
        Self.liveMappings.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Tells the kernel that `range` (bytes of the file) will not be read again soon, so its pages leave this
    /// process's resident set (used after quantizing a tensor at load).
    func release(_ range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: bytes + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Mappings currently alive in the process (for tests: a failed load must leave none behind).
    public static var live: Int { liveMappings.load(ordering: .relaxed) }
    private static let liveMappings = Atomic<Int>(0)
}
