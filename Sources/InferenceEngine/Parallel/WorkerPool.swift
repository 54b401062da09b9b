internal import CKernels
internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A fixed set of threads, created once, that run one job at a time together.
///
/// The caller's thread is worker 0 and the pool's threads are workers 1 ..< `count`. Inside a job, ``barrier()``
/// separates phases (every worker finishes one phase before any starts the next).
///
/// Workers spin briefly between jobs (a decode step dispatches one job per token), then yield, then sleep on a
/// condition, so an idle server costs no CPU.
final class WorkerPool: Sendable {
    /// Workers, the caller included.
    let count: Int
    private let state: State

    /// Starts `threads - 1` threads.
    init(threads: Int) {
        count = max(1, threads)
        state = State(count: count)
        for index in 1..<count {
            let state = state
            let thread = Thread { State.work(state, index: index) }
            thread.name = "kaito-serve worker \(index)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(worker)` on every worker and returns when all have finished; concurrent callers take turns.
    func run(_ body: (Int) -> Void) {
        guard count > 1 else {
            body(0)
            return
        }
        state.callers.lock()
        defer { state.callers.unlock() }
        withoutActuallyEscaping(body) { job in
            state.job = job
            state.remaining.store(count - 1, ordering: .relaxed)
            state.epoch.wrappingAdd(1, ordering: .releasing)
            state.condition.lock()
            if state.sleepers > 0 { state.condition.broadcast() }
            state.condition.unlock()
            job(0)
            var spins = 0
            while state.remaining.load(ordering: .acquiring) > 0 { State.pause(&spins) }
            state.job = nil
        }
    }

    /// Waits until every worker of the running job has reached this point.
    func barrier() {
        guard count > 1 else { return }
        let phase = state.phase.load(ordering: .acquiring)
        if state.arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == count {
            state.arrived.store(0, ordering: .relaxed)
            state.phase.wrappingAdd(1, ordering: .releasing)
        } else {
            var spins = 0
            while state.phase.load(ordering: .acquiring) == phase { State.pause(&spins) }
        }
    }

    /// The next unclaimed chunk of the dynamically shared phase using counter `slot` (0 or 1): workers claim chunks
    /// until the count is reached, so a worker slowed down (by another process, or a busier core) takes fewer.
    func claim(_ slot: Int) -> Int {
        if slot == 0 { return state.chunks0.wrappingAdd(1, ordering: .relaxed).oldValue }
        return state.chunks1.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Resets counter `slot`; call from one worker while no worker can claim from it (the other slot's phase).
    func resetClaims(_ slot: Int) {
        if slot == 0 { state.chunks0.store(0, ordering: .relaxed) } else { state.chunks1.store(0, ordering: .relaxed) }
    }

    /// The part of `0 ..< total` that `worker` takes, in multiples of `align` (the last part takes the rest).
    func share(_ total: Int, _ worker: Int, align: Int = 1) -> Range<Int> {
        let units = (total + align - 1) / align
        let lower = min(total, units * worker / count * align)
        let upper = min(total, units * (worker + 1) / count * align)
        return lower..<upper
    }

    /// What the threads share.
    // Justification for @unchecked Sendable: `job` is written by the caller only while no job runs (before the
    // release of `epoch`, after `remaining` reaches zero) and read by workers only in between; `sleepers` is
    // guarded by `condition`.
    private final class State: @unchecked Sendable {
        let count: Int
        let epoch = Atomic<Int>(0)
        let remaining = Atomic<Int>(0)
        let arrived = Atomic<Int>(0)
        let phase = Atomic<Int>(0)
        let chunks0 = Atomic<Int>(0)
        let chunks1 = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let condition = NSCondition()
        let callers = NSLock()
        var sleepers = 0
        var job: ((Int) -> Void)?

        init(count: Int) { self.count = count }

        /// Spins with the CPU's pause hint, then yields the core (other processes, or more workers than cores).
        static func pause(_ spins: inout Int) {
            spins += 1
            if spins < 1 << 12 { kt_cpu_relax() } else { sched_yield() }
        }

        static func work(_ state: State, index: Int) {
            var seen = 0
            while true {
                var spins = 0
                while state.epoch.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins < 1 << 14 {
                        kt_cpu_relax()
                    } else if spins < 1 << 15 {
                        sched_yield()
                    } else {
                        state.condition.lock()
                        state.sleepers += 1
                        while state.epoch.load(ordering: .acquiring) == seen { state.condition.wait() }
                        state.sleepers -= 1
                        state.condition.unlock()
                    }
                }
                seen = state.epoch.load(ordering: .acquiring)
                if state.stopping.load(ordering: .acquiring) { return }
                state.job?(index)
                state.remaining.wrappingSubtract(1, ordering: .releasing)
            }
        }

        func stop() {
            stopping.store(true, ordering: .releasing)
            epoch.wrappingAdd(1, ordering: .releasing)
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }
}
