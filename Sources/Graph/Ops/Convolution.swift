/// The spatial shape of an image batch: [N, C, H, W] with a kernel, stride and padding.
struct ConvGeometry {
    let channels: Int, height: Int, width: Int
    let kernelHeight: Int, kernelWidth: Int
    let stride: Int, padding: Int

    var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    var outPixels: Int { outHeight * outWidth }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    var patch: Int { channels * kernelHeight * kernelWidth }

    /// Checks an image shape [C, H, W] against the kernel, stride and padding.
    static func check(_ op: String, _ x: NodeShape, kernel: (Int, Int), stride: Int, padding: Int) throws -> ConvGeometry {
        guard x.batched, !x.isLabel, x.dims.count == 3 else { throw ShapeError("input must be images [N, C, H, W], got \(x)") }
        guard stride >= 1 else { throw ShapeError("stride must be at least 1, got \(stride)") }
        guard padding >= 0 else { throw ShapeError("padding must not be negative, got \(padding)") }
        guard kernel.0 >= 1, kernel.1 >= 1 else { throw ShapeError("kernel must be at least 1×1") }
        let g = ConvGeometry(channels: x.dims[0], height: x.dims[1], width: x.dims[2], kernelHeight: kernel.0, kernelWidth: kernel.1,
                             stride: stride, padding: padding)
        guard kernel.0 <= g.height + 2 * padding, kernel.1 <= g.width + 2 * padding else {
            throw ShapeError("kernel \(kernel.0)×\(kernel.1) is larger than the padded input \(g.height + 2 * padding)×\(g.width + 2 * padding)")
        }
        return g
    }

    /// For kernel column j, the output columns x whose input column x·stride − padding + j
    /// lies inside the image: [first, end).
    @inline(__always)
    func validColumns(_ j: Int) -> (first: Int, end: Int) {
        let ow = outWidth
        // w = x·s − p + j ≥ 0  ⇔  x ≥ ceil((p − j) / s);  w < width  ⇔  x ≤ floor((width − 1 + p − j) / s)
        let low = padding - j
        let first = low <= 0 ? 0 : (low + stride - 1) / stride
        let high = width - 1 + padding - j
        let end = high < 0 ? 0 : Swift.min(ow, high / stride + 1)
        return (Swift.min(first, end), end)
    }

    /// Unfolds one image [C, H, W] into columns [patch, outPixels]: column (oh, ow) holds the
    /// patch under the kernel there (zeros where it hangs over the padding). Each output row
    /// is zeros at its ends and, in between, a copy (stride 1) or a strided gather.
    func im2col<T: TensorScalar>(_ image: UnsafePointer<T>, into col: UnsafeMutablePointer<T>) {
        let oh = outHeight, ow = outWidth
        for c in 0..<channels {
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let row = col + ((c * kernelHeight + i) * kernelWidth + j) * oh * ow
                    let (first, end) = validColumns(j)
                    for y in 0..<oh {
                        let h = y * stride - padding + i
                        let out = row + y * ow
                        guard h >= 0 && h < height, first < end else {
                            out.update(repeating: 0, count: ow)
                            continue
                        }
                        if first > 0 { out.update(repeating: 0, count: first) }
                        if end < ow { (out + end).update(repeating: 0, count: ow - end) }
                        let source = image + (c * height + h) * width + (first * stride - padding + j)
                        if stride == 1 {
                            (out + first).update(from: source, count: end - first)
                        } else {
                            for x in 0..<(end - first) { out[first + x] = source[x * stride] }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back onto the pixel it came from.
    func col2imAdd<T: TensorScalar>(_ col: UnsafePointer<T>, into image: UnsafeMutablePointer<T>) {
        let oh = outHeight, ow = outWidth
        for c in 0..<channels {
            for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                    let row = col + ((c * kernelHeight + i) * kernelWidth + j) * oh * ow
                    let (first, end) = validColumns(j)
                    guard first < end else { continue }
                    for y in 0..<oh {
                        let h = y * stride - padding + i
                        guard h >= 0 && h < height else { continue }
                        let target = image + (c * height + h) * width + (first * stride - padding + j)
                        let source = row + y * ow + first
                        if stride == 1 {
                            for x in 0..<(end - first) { target[x] += source[x] }
                        } else {
                            for x in 0..<(end - first) { target[x * stride] += source[x] }
                        }
                    }
                }
            }
        }
    }
}

/// `conv2d(x, W, b)`: x of shape [N, C, H, W], W of shape [out, C, kh, kw], b of shape [out]
/// (optional); `stride` and `padding` from the spec (default 1 and 0). Through im2col and one
/// GEMM per sample (W as [out, C·kh·kw] times the sample's columns), as Caffe does; the
/// column buffer is allocated per call (small next to the GEMM).
public struct Conv2D: Operation {
    public let stride: Int
    public let padding: Int

    public init(stride: Int = 1, padding: Int = 0) {
        self.stride = stride
        self.padding = padding
    }

    public var name: String { "conv2d" }
    public var arity: ClosedRange<Int> { 2...3 }

    func geometry(_ x: NodeShape, _ weight: [Int]) throws -> ConvGeometry {
        try ConvGeometry.check(name, x, kernel: (weight[2], weight[3]), stride: stride, padding: padding)
    }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        let x = inputs[0], weight = inputs[1]
        guard !weight.batched, weight.dims.count == 4 else {
            throw ShapeError("weight must have rank 4 [out, in, kh, kw], got \(weight)")
        }
        let g = try geometry(x, weight.dims)
        guard weight.dims[1] == g.channels else {
            throw ShapeError("weight \(weight) takes \(weight.dims[1]) channels, x has \(g.channels) (\(x))")
        }
        if inputs.count == 3 {
            guard !inputs[2].batched, inputs[2].dims == [weight.dims[0]] else {
                throw ShapeError("bias must have shape [\(weight.dims[0])], got \(inputs[2])")
            }
        }
        return NodeShape(batched: true, dims: [weight.dims[0], g.outHeight, g.outWidth])
    }

    private func geometry<T>(_ x: Tensor<T>, _ weight: Tensor<T>) -> ConvGeometry {
        ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernelHeight: weight.shape[2],
                     kernelWidth: weight.shape[3], stride: stride, padding: padding)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0], weight = inputs[1]
        let n = x.rows, g = geometry(x, weight), outChannels = weight.shape[0]
        let pixels = g.outPixels, inSize = g.channels * g.height * g.width, outSize = outChannels * pixels
        guard n > 0 else { return }
        let col = UnsafeMutablePointer<T>.allocate(capacity: g.patch * pixels)
        defer { col.deallocate() }
        for s in 0..<n {
            let out = output.pointer + s * outSize
            var beta: T = 0
            if inputs.count == 3 {
                let b = inputs[2].pointer
                for o in 0..<outChannels { (out + o * pixels).update(repeating: b[o], count: pixels) }
                beta = 1
            }
            g.im2col(x.pointer + s * inSize, into: col)
            T.gemm(transposeA: false, transposeB: false, m: outChannels, n: pixels, k: g.patch,
                   alpha: 1, a: weight.pointer, lda: g.patch, b: col, ldb: pixels, beta: beta, c: out, ldc: pixels)
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        let x = inputs[0], weight = inputs[1]
        let n = x.rows, g = geometry(x, weight), outChannels = weight.shape[0]
        let pixels = g.outPixels, inSize = g.channels * g.height * g.width, outSize = outChannels * pixels
        let col = UnsafeMutablePointer<T>.allocate(capacity: g.patch * pixels)
        defer { col.deallocate() }
        if let dw = diffs[1] {  // dW = Σ_s dy_s · col_sᵀ
            if n == 0 && !dw.accumulate { dw.tensor.fill(0) }
            for s in 0..<n {
                g.im2col(x.pointer + s * inSize, into: col)
                T.gemm(transposeA: false, transposeB: true, m: outChannels, n: g.patch, k: pixels,
                       alpha: 1, a: outputDiff.pointer + s * outSize, lda: pixels, b: col, ldb: pixels,
                       beta: s > 0 || dw.accumulate ? 1 : 0, c: dw.tensor.pointer, ldc: g.patch)
            }
        }
        if diffs.count == 3, let db = diffs[2] {  // db = Σ over samples and pixels of dy
            let d = db.tensor.pointer
            if !db.accumulate { db.tensor.fill(0) }
            for s in 0..<n {
                for o in 0..<outChannels {
                    let row = outputDiff.pointer + s * outSize + o * pixels
                    var total: T = 0
                    for p in 0..<pixels { total += row[p] }
                    d[o] += total
                }
            }
        }
        if let dx = diffs[0] {  // dx_s = col2im(Wᵀ · dy_s)
            if !dx.accumulate { dx.tensor.fill(0) }
            for s in 0..<n {
                T.gemm(transposeA: true, transposeB: false, m: g.patch, n: pixels, k: outChannels,
                       alpha: 1, a: weight.pointer, lda: g.patch, b: outputDiff.pointer + s * outSize, ldb: pixels,
                       beta: 0, c: col, ldc: pixels)
                g.col2imAdd(col, into: dx.tensor.pointer + s * inSize)
            }
        }
    }
}

/// `max_pool(x)` and `avg_pool(x)` over `kernel`×`kernel` windows every `stride` pixels (no
/// padding), per channel: x [N, C, H, W] → [N, C, H', W']. Max pooling's diff goes to the
/// first largest value of each window (found again from the input); average pooling's is
/// spread evenly over the window.
public struct Pool: Operation {
    public let kernel: Int
    public let stride: Int
    public let average: Bool

    public init(kernel: Int = 2, stride: Int? = nil, average: Bool) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.average = average
    }

    public var name: String { average ? "avg_pool" : "max_pool" }
    public var arity: ClosedRange<Int> { 1...1 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        let g = try ConvGeometry.check(name, inputs[0], kernel: (kernel, kernel), stride: stride, padding: 0)
        return NodeShape(batched: true, dims: [g.channels, g.outHeight, g.outWidth])
    }

    private func geometry<T>(_ x: Tensor<T>) -> ConvGeometry {
        ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernelHeight: kernel, kernelWidth: kernel,
                     stride: stride, padding: 0)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        let x = inputs[0].pointer, o = output.pointer, g = geometry(inputs[0]), w = g.width
        let planes = inputs[0].rows * g.channels, plane = g.height * g.width, oh = g.outHeight, ow = g.outWidth
        let area = T(kernel * kernel), k = kernel, s = stride
        // One loop per kind, with no test inside the window: `!(v <= best)` takes a larger
        // value and a NaN alike (a diverging run keeps its NaN).
        if average {
            for p in 0..<planes {
                let image = x + p * plane, out = o + p * oh * ow
                for y in 0..<oh {
                    for xo in 0..<ow {
                        let start = image + y * s * w + xo * s
                        var total: T = 0
                        for i in 0..<k { for j in 0..<k { total += start[i * w + j] } }
                        out[y * ow + xo] = total / area
                    }
                }
            }
        } else {
            for p in 0..<planes {
                let image = x + p * plane, out = o + p * oh * ow
                for y in 0..<oh {
                    for xo in 0..<ow {
                        let start = image + y * s * w + xo * s
                        var best = start[0]
                        for i in 0..<k {
                            for j in 0..<k {
                                let v = start[i * w + j]
                                if !(v <= best) { best = v }
                            }
                        }
                        out[y * ow + xo] = best
                    }
                }
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        guard let dx = diffs[0] else { return }
        if !dx.accumulate { dx.tensor.fill(0) }
        let x = inputs[0].pointer, gd = outputDiff.pointer, d = dx.tensor.pointer
        let g = geometry(inputs[0]), w = g.width
        let planes = inputs[0].rows * g.channels, plane = g.height * g.width, oh = g.outHeight, ow = g.outWidth
        let share = 1 / T(kernel * kernel), k = kernel, s = stride
        for p in 0..<planes {
            let image = x + p * plane, diff = d + p * plane, base = p * oh * ow
            for y in 0..<oh {
                for xo in 0..<ow {
                    let origin = y * s * w + xo * s, n = base + y * ow + xo
                    if average {
                        let v = gd[n] * share
                        for i in 0..<k { for j in 0..<k { diff[origin + i * w + j] += v } }
                    } else {
                        // The window position forward chose: the first that is not below
                        // every earlier one, by the same comparison.
                        var best = image[origin], found = origin
                        for i in 0..<k {
                            for j in 0..<k {
                                let v = image[origin + i * w + j]
                                if !(v <= best) { best = v; found = origin + i * w + j }
                            }
                        }
                        diff[found] += gd[n]
                    }
                }
            }
        }
    }
}

/// `flatten(x)`: one sample's values as a vector, [N, …] → [N, count]; the values are copied
/// as they lie (row-major), and the diff flows back unchanged.
public struct Flatten: Operation {
    public init() {}
    public var name: String { "flatten" }
    public var arity: ClosedRange<Int> { 1...1 }

    public func outputShape(for inputs: [NodeShape]) throws -> NodeShape {
        guard inputs[0].batched, !inputs[0].isLabel else { throw ShapeError("flatten takes batched data, got \(inputs[0])") }
        return NodeShape(batched: true, dims: [inputs[0].elementCount])
    }

    public func forward<T: TensorScalar>(_ inputs: [Tensor<T>], into output: Tensor<T>) throws {
        output.pointer.update(from: inputs[0].pointer, count: output.count)
    }

    public func backward<T: TensorScalar>(
        _ inputs: [Tensor<T>], output: Tensor<T>, outputDiff: Tensor<T>, into diffs: [DiffTarget<T>?]
    ) {
        guard let d = diffs[0] else { return }
        let g = outputDiff.pointer, p = d.tensor.pointer, n = d.tensor.count
        if d.accumulate {
            for i in 0..<n { p[i] += g[i] }
        } else {
            p.update(from: g, count: n)
        }
    }
}

extension Conv2D {
    /// Seconds one im2col pass and one col2im pass take over a batch shaped like `x` for a
    /// weight of `weightShape` (a training step runs im2col twice — forward, and backward for
    /// the weight's diff — and col2im once when the input needs a diff): the benchmark's
    /// im2col share.
    public func unfoldingSeconds(_ x: Tensor<Float>, weightShape: [Int]) -> (im2col: Double, col2im: Double) {
        let g = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernelHeight: weightShape[2],
                             kernelWidth: weightShape[3], stride: stride, padding: padding)
        let inSize = g.channels * g.height * g.width
        let col = UnsafeMutablePointer<Float>.allocate(capacity: g.patch * g.outPixels)
        defer { col.deallocate() }
        col.initialize(repeating: 0, count: g.patch * g.outPixels)
        let image = UnsafeMutablePointer<Float>.allocate(capacity: inSize)
        defer { image.deallocate() }
        image.initialize(repeating: 0, count: inSize)
        let clock = ContinuousClock()
        var start = clock.now
        for s in 0..<x.rows { g.im2col(x.pointer + s * inSize, into: col) }
        let unfold = clock.now - start
        start = clock.now
        for _ in 0..<x.rows { g.col2imAdd(col, into: image) }
        let fold = clock.now - start
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        return (seconds(unfold), seconds(fold))
    }
}
