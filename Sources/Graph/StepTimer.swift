/// Times full training steps (forward, backward, optimizer update) on an already fed graph.
public struct StepTimer {
    /// Mean and median figures over the timed steps, in milliseconds.
    public struct Timing: Sendable {
        public var forwardMs: Double
        public var backwardMs: Double
        public var updateMs: Double
        public var stepMs: Double
        public var medianStepMs: Double
        public var p95StepMs: Double
        /// Every step's time, in order.
        public var stepsMs: [Double]
        /// Tensor buffers allocated during the timed steps (0 once the shapes are known).
        public var allocations: Int
    }

    /// Runs one untimed warm-up step, then `iterations` timed ones. Per-node times are left in
    /// the graph's `forwardSeconds` / `backwardSeconds`, summed over the timed steps.
    public static func measure<T: TensorScalar>(
        graph: Graph<T>, optimizer: SGD<T>, iterations: Int
    ) throws -> Timing {
        try graph.forward()
        graph.backward()
        optimizer.step(graph)
        graph.resetProfile()
        graph.profiling = true
        defer { graph.profiling = false }
        let clock = ContinuousClock()
        var forward = 0.0, backward = 0.0, update = 0.0
        var steps: [Double] = []
        steps.reserveCapacity(iterations)
        let (_, allocations) = try TensorAllocations.counting {
            for _ in 0..<iterations {
                let t0 = clock.now
                try graph.forward()
                let t1 = clock.now
                graph.backward()
                let t2 = clock.now
                optimizer.step(graph)
                let t3 = clock.now
                forward += milliseconds(t1 - t0)
                backward += milliseconds(t2 - t1)
                update += milliseconds(t3 - t2)
                steps.append(milliseconds(t3 - t0))
            }
        }
        let n = Double(iterations)
        let sorted = steps.sorted()
        return Timing(
            forwardMs: forward / n, backwardMs: backward / n, updateMs: update / n,
            stepMs: steps.reduce(0, +) / n, medianStepMs: percentile(sorted, 0.5),
            p95StepMs: percentile(sorted, 0.95), stepsMs: steps,
            allocations: allocations)
    }

    /// The q-quantile of sorted values (linear interpolation between ranks).
    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position), upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    private static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    }
}
