import Dispatch

/// Stochastic gradient descent with momentum and optional weight decay:
/// `g' = g + decay · w;  v = momentum · v + g';  w -= learningRate · v`.
///
/// The update is one fused pass over each parameter (read g, v, w; write v, w), split across
/// threads for large parameters. Velocity buffers are allocated on the first step only.
public final class SGD<Scalar: TensorScalar> {
    public var learningRate: Scalar
    public var momentum: Scalar
    public var weightDecay: Scalar
    private var velocities: [String: Tensor<Scalar>] = [:]
    private var velocityList: [Tensor<Scalar>] = []
    /// Threads for the update of a large parameter.
    public var threads: Int

    public init(learningRate: Scalar, momentum: Scalar = 0, weightDecay: Scalar = 0, threads: Int = 2) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.threads = max(1, threads)
    }

    /// A parameter's velocity, if a step has run (or one was set).
    public func velocity(of name: String) -> Tensor<Scalar>? { velocities[name] }

    /// Sets a parameter's velocity (resuming a run); the next step continues from it.
    public func setVelocity(_ velocity: Tensor<Scalar>, of name: String) {
        velocities[name] = velocity
        velocityList = []  // rebuilt from `velocities` on the next step
    }

    /// Updates every parameter of `graph` from the gradients of the last `backward`, each
    /// multiplied by `gradientScale` first (data-parallel ranks pass 1 / samples of all ranks).
    public func step(_ graph: Graph<Scalar>, gradientScale: Scalar = 1) {
        if velocityList.count != graph.parameters.count {
            velocityList = graph.parameters.map { p in
                if let v = velocities[p.name] { return v }
                let v = Tensor<Scalar>(zeros: p.value.shape)
                velocities[p.name] = v
                return v
            }
        }
        for (p, v) in zip(graph.parameters, velocityList) {
            update(weight: p.value.pointer, gradient: p.gradient.pointer, velocity: v.pointer, count: p.value.count, scale: gradientScale)
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func update(
        weight: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>,
        velocity: UnsafeMutablePointer<Scalar>, count: Int, scale: Scalar
    ) {
        let lr = learningRate, m = momentum, decay = weightDecay
        let parts = count >= 1 << 16 ? threads : 1
        let w = UncheckedPointer(weight), g = UncheckedPointer(gradient), v = UncheckedPointer(velocity)
        let body: @Sendable (Int) -> Void = { part in
            let start = count * part / parts, end = count * (part + 1) / parts
            let w = w.pointer, g = g.pointer, v = v.pointer
            if scale != 1 {
                for i in start..<end {
                    let vi = m * v[i] + scale * g[i] + decay * w[i]
                    v[i] = vi
                    w[i] -= lr * vi
                }
            } else if decay == 0 {
                for i in start..<end {
                    let vi = m * v[i] + g[i]
                    v[i] = vi
                    w[i] -= lr * vi
                }
            } else {
                for i in start..<end {
                    let vi = m * v[i] + g[i] + decay * w[i]
                    v[i] = vi
                    w[i] -= lr * vi
                }
            }
        }
        if parts == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: body) }
    }
}

/// A pointer handed to worker threads that write disjoint ranges of it.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
