internal import Crypto
internal import Foundation

/// What `kaitoc commit` rendered, with the files it did not have to render.
public struct CommitRendering: Sendable {
    /// The check and the rendered files (``TargetOutput/reusedFiles`` lists the others).
    public var report: BuildReport
    /// The files of unchanged workspaces, by path relative to `out/`: the git blob id (hex) of their bytes, a blob
    /// the repository holds.
    public var reusedBlobs: [String: String] = [:]
    /// The git blob ids (hex) of the rendered files of workspaces, computed for the cache, so the reconcile need not
    /// hash them again; files outside workspaces (`kustomization.yaml`) are not listed.
    public var renderedBlobs: [String: String] = [:]
}

extension Digest {
    /// The git blob id of some text (SHA-1 of `blob <size>\0` and the bytes) in the first 20 bytes; the rest zero.
    static func gitBlob(of text: String) -> Digest {
        var text = text
        return text.withUTF8 { buffer in
            var hasher = Insecure.SHA1()
            hasher.update(data: Array("blob \(buffer.count)\0".utf8))
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            var bytes = [UInt8](repeating: 0, count: 32)
            for (i, byte) in hasher.finalize().enumerated() { bytes[i] = byte }
            return bytes.withUnsafeBytes { raw in
                Digest(
                    w0: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    w1: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    w2: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    w3: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                )
            }
        }
    }

    /// The git object id held by ``gitBlob(of:)``, as git prints it (40 lowercase hex digits).
    var gitHex: String {
        var bytes: [UInt8] = []
        for word in [w0, w1, w2] { withUnsafeBytes(of: word) { bytes += $0 } }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(40)
        for byte in bytes.prefix(20) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

extension Builder {
    /// Renders a repository for `kaitoc commit`, reusing the renderings of unchanged workspaces.
    ///
    /// The commit cache (see docs/build-cache.md) keeps, per workspace key (the same key as `build`'s cache: the
    /// workspace's source bytes, the whole catalog, its target's ConfigMaps, the mode and the kaitoc build), the
    /// objects it rendered and the git blob id of each file. A workspace whose key is cached and whose every blob
    /// `hasBlob` confirms (the repository holds it) is not rendered: its files are the blobs, by content address.
    /// Anything else is rendered, so the result is the same as ``render(_:)``'s.
    ///
    /// - Parameters:
    ///   - options: What to render (`tree` is the source revision's tree).
    ///   - cacheFile: The commit cache (`nil`: render everything, read and write no cache).
    ///   - hasBlob: Whether the repository holds the blob with this id (hex), for a file at this path.
    /// - Returns: The report and the blob ids of the files not rendered.
    /// - Throws: ``OutputError`` when the selected target does not exist.
    public static func renderForCommit(
        _ options: BuildOptions,
        cacheFile: String?,
        hasBlob: (_ path: String, _ id: String) -> Bool
    ) throws(OutputError) -> CommitRendering {
        guard let cacheFile else { return CommitRendering(report: try render(options)) }
        var report = BuildReport(check: checked(options))
        guard let catalog = try renderable(report.check, options) else { return CommitRendering(report: report) }
        // Its own identity: its digests are git blob ids, not the SHA-256 of `build`'s cache; the executable is
        // named by content, since CI runners restore the cache beside a freshly installed kaitoc.
        let identity = (options.cacheIdentity ?? BuildCache.contentIdentity) + " commit"
        let cache = BuildCache.load(from: cacheFile, identity: identity)
        let rendering = renderReusing(
            options,
            check: report.check,
            catalog: catalog,
            cached: cache.workspaces,
            identity: identity,
            fileDigest: { Digest.gitBlob(of: $0) },
            verify: { objects in
                objects.map { object in
                    let id = object.hash.gitHex
                    return hasBlob(object.path, id) ? id : nil
                }
            }
        )
        report.targets = rendering.targets
        report.cacheUse = rendering.use
        var newCache = BuildCache()
        newCache.workspaces = rendering.workspaces
        if options.target != nil { newCache.workspaces.merge(cache.workspaces) { new, _ in new } }
        if rendering.use.rendered > 0 || newCache.workspaces.count != cache.workspaces.count
            || newCache.workspaces.keys.contains(where: { cache.workspaces[$0] == nil })
        {
            newCache.save(to: cacheFile, identity: identity)
        }
        var renderedBlobs: [String: String] = [:]
        let renderedPaths = Set(report.targets.flatMap(\.files).map(\.path))
        for objects in rendering.workspaces.values {
            for object in objects where renderedPaths.contains(object.path) {
                renderedBlobs[object.path] = object.hash.gitHex
            }
        }
        return CommitRendering(report: report, reusedBlobs: rendering.reused, renderedBlobs: renderedBlobs)
    }
}
