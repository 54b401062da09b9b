internal import Dispatch
internal import Foundation

/// Slots that each index's worker writes exactly once; read only after every worker has finished.
private final class Slots<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }
}

/// Maps indices across worker threads; the result is in index order whatever the thread count, so the output of
/// `build` is byte-identical with 1, 2 or 8 threads.
enum ParallelMap {
    /// The default worker count: the cores this process may use.
    static var defaultThreads: Int { max(ProcessInfo.processInfo.activeProcessorCount, 1) }

    /// `(0..<count).map(body)`, computed by up to `threads` workers (worker `t` takes indices `t`, `t + threads`, …).
    static func map<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let workers = min(max(threads, 1), count)
        if workers <= 1 { return (0..<count).map(body) }
        let slots = Slots<T>(count: count)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var index = worker
                while index < count {
                    slots.buffer[index] = body(index)
                    index += workers
                }
            }
        }
        // Every slot was written by its worker before concurrentPerform returned.
        return slots.buffer.compactMap { $0 }
    }
}
