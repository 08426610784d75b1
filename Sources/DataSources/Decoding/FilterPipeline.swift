import Foundation
import HDF5

/// A dataset's filter pipeline, undone (and, for writing, applied) by FeedBench outside
/// HDF5: deflate (libdeflate), shuffle, Fletcher-32, LZ4, Zstandard, Blosc and Bitshuffle.
/// HDF5 applies filters in pipeline order when writing; reading undoes them in reverse,
/// skipping those a chunk's filter mask says were not applied.
struct FilterPipeline: Sendable {
    enum Step: Sendable, Equatable {
        case deflate(level: Int)
        case shuffle(elementSize: Int)
        case fletcher32
        case lz4(blockBytes: Int)
        case zstd(level: Int)
        case blosc(typeSize: Int, level: Int, shuffle: Int, compressor: Int)
        case bitshuffle(elementSize: Int, blockElements: Int, compression: Int)
    }

    let steps: [Step]

    /// The filter ids FeedBench undoes.
    static let supported: Set<Int32> = [1, 2, 3, 32001, 32004, 32008, 32015]

    /// A filter FeedBench does not undo.
    struct Unsupported: Error { let filter: Filter }

    /// A filter whose parameters cannot describe this dataset's chunks.
    struct BadParameters: Error { let filter: Filter; let problem: String }

    /// The pipeline of `filters`; throws `Unsupported` naming the first filter FeedBench does
    /// not undo.
    static func make(_ filters: [Filter], elementSize: Int) throws -> FilterPipeline {
        var steps: [Step] = []
        for f in filters {
            let v = f.values.map(Int.init)
            switch f.id {
            case 1: steps.append(.deflate(level: v.first ?? 4))
            case 2:
                let size = v.first ?? elementSize
                guard size >= 1 else { throw BadParameters(filter: f, problem: "an element size of \(size)") }
                steps.append(.shuffle(elementSize: size))
            case 3: steps.append(.fletcher32)
            case 32004: steps.append(.lz4(blockBytes: v.first ?? 0))
            case 32015: steps.append(.zstd(level: v.first ?? 3))
            case 32001:
                if v.count > 6, !Blosc.compressors.indices.contains(v[6]) {
                    throw BadParameters(filter: f, problem: "compressor code \(v[6]) (Blosc has 0–\(Blosc.compressors.count - 1))")
                }
                steps.append(.blosc(typeSize: v.count > 2 ? v[2] : elementSize, level: v.count > 4 ? v[4] : 5,
                                    shuffle: v.count > 5 ? v[5] : 1, compressor: v.count > 6 ? v[6] : 0))
            case 32008:
                let size = v.count > 2 ? v[2] : elementSize, block = v.count > 3 ? v[3] : 0, compression = v.count > 4 ? v[4] : 0
                guard size == elementSize else {
                    throw BadParameters(filter: f, problem: "an element size of \(size) for elements of \(elementSize) bytes")
                }
                guard block >= 0, block % 8 == 0 else { throw BadParameters(filter: f, problem: "a block of \(block) elements, not a multiple of 8") }
                guard [0, 2, 3].contains(compression) else {
                    throw BadParameters(filter: f, problem: "compression \(compression) (0 none, 2 LZ4, 3 Zstandard)")
                }
                steps.append(.bitshuffle(elementSize: size, blockElements: block, compression: compression))
            default: throw Unsupported(filter: f)
            }
        }
        return FilterPipeline(steps: steps)
    }

    /// Decodes one stored chunk into `output`, which it must fill exactly (`chunkBytes`).
    func decode(_ stored: UnsafeRawBufferPointer, mask: UInt32, into output: UnsafeMutableRawBufferPointer,
                context: DecodeContext) throws {
        let active = steps.indices.reversed().filter { mask & (1 << UInt32($0)) == 0 }
        guard !active.isEmpty else {
            guard stored.count == output.count else {
                throw CodecError("chunk", "stored as \(stored.count) bytes without filters, expected \(output.count)")
            }
            output.copyMemory(from: stored)
            return
        }
        let capacity = max(output.count, stored.count) + 64
        context.reserve(capacity)
        var current = stored
        for (n, index) in active.enumerated() {
            let last = n == active.count - 1
            let target = last ? output : UnsafeMutableRawBufferPointer(rebasing: context.buffer(n % 2)[0..<capacity])
            let produced = try undo(steps[index], current, into: target, context: context, exact: last)
            if last {
                guard produced == output.count else {
                    throw CodecError(name(steps[index]), "decoded to \(produced) bytes, the chunk holds \(output.count)")
                }
            }
            current = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(target)[0..<produced])
        }
    }

    private func name(_ step: Step) -> String {
        switch step {
        case .deflate: return "deflate"
        case .shuffle: return "shuffle"
        case .fletcher32: return "fletcher32"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        case .blosc: return "blosc"
        case .bitshuffle: return "bitshuffle"
        }
    }

    /// Undoes one step; returns the bytes written to `target`. `exact`: `target` is the
    /// chunk, which the step must fill.
    private func undo(_ step: Step, _ input: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer,
                      context: DecodeContext, exact: Bool) throws -> Int {
        switch step {
        case .deflate:
            return try context.deflate().decompressZlib(input, into: target)
        case .shuffle(let size):
            let out = UnsafeMutableRawBufferPointer(rebasing: target[0..<input.count])
            ByteShuffle.unshuffle(input, into: out, elementSize: size)
            return input.count
        case .fletcher32:
            let data = try Fletcher32.verify(input)
            UnsafeMutableRawBufferPointer(rebasing: target[0..<data.count]).copyMemory(from: data)
            return data.count
        case .lz4:
            return try H5LZ4.decode(input, into: target)
        case .zstd:
            return try context.zstd().decompress(input, into: target)
        case .blosc:
            let nbytes = Blosc.declaredSize(input)
            guard nbytes <= target.count else { throw CodecError("blosc", "the header says \(nbytes) bytes, more than the chunk's \(target.count)") }
            try Blosc.decompress(input, into: UnsafeMutableRawBufferPointer(rebasing: target[0..<nbytes]))
            return nbytes
        case .bitshuffle(let size, let block, let compression):
            let total: Int
            if compression == 0 {
                total = input.count
            } else {
                guard input.count >= 8 else { throw CodecError("bitshuffle", "a chunk of \(input.count) bytes has no header") }
                total = Int(clamping: UInt64(bigEndian: input.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))  // refused below when too large
            }
            guard total <= target.count else { throw CodecError("bitshuffle", "the header says \(total) bytes, more than the chunk's \(target.count)") }
            let scratchBytes = max(block, Bitshuffle.defaultBlockElements(size), 1 << 16) * max(size, 1)
            try Bitshuffle.decode(input, into: UnsafeMutableRawBufferPointer(rebasing: target[0..<total]), elementSize: size,
                                  blockElements: block, compression: compression, zstd: { try context.zstd() },
                                  scratch: context.extra(scratchBytes))
            return total
        }
    }

    /// Applies the pipeline to one chunk's bytes (for writing); the result is what
    /// `H5Dwrite_chunk` stores with a filter mask of 0. The first filter reads the chunk in
    /// place; with no filters the chunk is copied as it is.
    func encode(_ chunk: UnsafeRawBufferPointer, context: EncodeContext) throws -> [UInt8] {
        guard let first = steps.first else { return [UInt8](chunk) }
        var data = try apply(first, chunk, context: context)
        for step in steps.dropFirst() { data = try data.withUnsafeBytes { try apply(step, $0, context: context) } }
        return data
    }

    private func apply(_ step: Step, _ input: UnsafeRawBufferPointer, context: EncodeContext) throws -> [UInt8] {
        switch step {
        case .deflate(let level): return try context.deflate(level).compressZlib(input)
        case .shuffle(let size):
            var out = [UInt8](repeating: 0, count: input.count)
            out.withUnsafeMutableBytes { ByteShuffle.shuffle(input, into: $0, elementSize: size) }
            return out
        case .fletcher32:
            var out = [UInt8](input)
            withUnsafeBytes(of: Fletcher32.checksum(input).littleEndian) { out += $0 }
            return out
        case .lz4(let block): return try H5LZ4.encode(input, blockBytes: block)
        case .zstd(let level): return try context.zstd().compress(input, level: level)
        case .blosc(let typeSize, let level, let shuffle, let code):
            guard Blosc.compressors.indices.contains(code) else { throw CodecError("blosc", "no compressor with code \(code)") }
            return try Blosc.compress(input, typeSize: typeSize, level: level, shuffle: shuffle, compressor: Blosc.compressors[code])
        case .bitshuffle(let size, let block, let compression):
            guard compression == 2 else { throw CodecError("bitshuffle", "FeedBench writes Bitshuffle with LZ4 only") }
            return try Bitshuffle.encodeLZ4(input, elementSize: size, blockElements: block)
        }
    }
}

/// HDF5's LZ4 filter (32004) framing: the decoded size (8 bytes, big-endian), the block size
/// (4 bytes), then per block its stored size (4 bytes) and the LZ4 block — stored raw when
/// compressing did not shrink it. Written here: it is the plugin's own framing, not LZ4's.
enum H5LZ4 {
    static func decode(_ input: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) throws -> Int {
        guard input.count >= 12 else { throw CodecError("lz4", "a chunk of \(input.count) bytes has no header") }
        // A corrupt header can say anything up to 2⁶⁴ − 1: compared before it becomes an Int.
        let stored = UInt64(bigEndian: input.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard stored <= UInt64(target.count) else { throw CodecError("lz4", "the header says \(stored) bytes, more than the chunk's \(target.count)") }
        let total = Int(stored)
        var block = Int(UInt32(bigEndian: input.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard block > 0 || total == 0 else { throw CodecError("lz4", "the header gives a block size of 0") }
        block = min(block, total)
        var position = 12, out = 0
        while out < total {
            let this = min(block, total - out)
            guard position + 4 <= input.count else { throw CodecError("lz4", "the chunk ends before block \(out / max(block, 1))") }
            let size = Int(UInt32(bigEndian: input.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
            position += 4
            guard size <= input.count - position else { throw CodecError("lz4", "a block of \(size) bytes runs past the end of the chunk") }
            let source = UnsafeRawBufferPointer(rebasing: input[position..<position + size])
            let destination = UnsafeMutableRawBufferPointer(rebasing: target[out..<out + this])
            if size == this { destination.copyMemory(from: source) } else { try LZ4Block.decompress(source, into: destination) }
            position += size
            out += this
        }
        return total
    }

    static func encode(_ input: UnsafeRawBufferPointer, blockBytes: Int) throws -> [UInt8] {
        let total = input.count
        let block = max(1, min(blockBytes > 0 ? blockBytes : 1 << 30, total))
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(total).bigEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(block).bigEndian) { out += $0 }
        var position = 0
        while position < total {
            let this = min(block, total - position)
            let source = UnsafeRawBufferPointer(rebasing: input[position..<position + this])
            var compressed = try LZ4Block.compress(source)
            if compressed.count >= this { compressed = [UInt8](source) }  // the plugin's rule: raw when not smaller
            withUnsafeBytes(of: UInt32(compressed.count).bigEndian) { out += $0 }
            out += compressed
            position += this
        }
        return out
    }
}

/// One decoding thread's state: codec contexts made on first use, and scratch buffers.
final class DecodeContext {
    private var deflater: DeflateDecompressor?
    private var zstdContext: ZstdDecompressor?
    private var buffers: [UnsafeMutableRawBufferPointer] = [.init(start: nil, count: 0), .init(start: nil, count: 0)]
    private var extraBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Chunk bytes, for blocks whose chunks hold parts of samples.
    private var chunkBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Stored bytes read through HDF5 (`H5Dread_chunk`).
    private var storedBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    func deflate() throws -> DeflateDecompressor {
        if let d = deflater { return d }
        let d = try DeflateDecompressor()
        deflater = d
        return d
    }

    func zstd() throws -> ZstdDecompressor {
        if let z = zstdContext { return z }
        let z = try ZstdDecompressor()
        zstdContext = z
        return z
    }

    /// Makes both ping-pong buffers hold at least `bytes`.
    func reserve(_ bytes: Int) {
        for i in 0..<2 where buffers[i].count < bytes {
            buffers[i].deallocate()
            buffers[i] = .allocate(byteCount: bytes, alignment: 64)
        }
    }

    func buffer(_ i: Int) -> UnsafeMutableRawBufferPointer { buffers[i] }

    func extra(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        if extraBuffer.count < bytes {
            extraBuffer.deallocate()
            extraBuffer = .allocate(byteCount: bytes, alignment: 64)
        }
        return extraBuffer
    }

    private var limitBlock = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var limitFloats = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)

    /// A decoded block's buffer, for the decode limit.
    func limitBuffer(_ bytes: Int) -> UnsafeMutableRawPointer {
        if limitBlock.count < bytes {
            limitBlock.deallocate()
            limitBlock = .allocate(byteCount: bytes, alignment: 64)
        }
        return limitBlock.baseAddress!
    }

    /// Floats a block's rows convert into, for the decode limit.
    func limitOutput(_ count: Int) -> UnsafeMutablePointer<Float> {
        if limitFloats.count < count {
            limitFloats.deallocate()
            limitFloats = .allocate(capacity: count)
        }
        return limitFloats.baseAddress!
    }

    func stored(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        if storedBuffer.count < bytes {
            storedBuffer.deallocate()
            storedBuffer = .allocate(byteCount: bytes, alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: storedBuffer[0..<bytes])
    }

    func chunk(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        if chunkBuffer.count < bytes {
            chunkBuffer.deallocate()
            chunkBuffer = .allocate(byteCount: bytes, alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: chunkBuffer[0..<bytes])
    }

    deinit {
        for b in buffers { b.deallocate() }
        extraBuffer.deallocate()
        chunkBuffer.deallocate()
        storedBuffer.deallocate()
        limitBlock.deallocate()
        limitFloats.deallocate()
    }
}

/// One encoding thread's compressors.
final class EncodeContext {
    private var deflaters: [Int: DeflateCompressor] = [:]
    func deflate(_ level: Int) throws -> DeflateCompressor {
        if let d = deflaters[level] { return d }
        let d = try DeflateCompressor(level: level)
        deflaters[level] = d
        return d
    }
    private var zstdCompressor: ZstdCompressor?
    func zstd() throws -> ZstdCompressor {
        if let z = zstdCompressor { return z }
        let z = try ZstdCompressor()
        zstdCompressor = z
        return z
    }
}

/// Contexts lent to whichever thread needs one, so each thread has its own and none is made
/// per chunk.
final class ContextPool<Context: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Context] = []
    private let make: () -> Context

    init(_ make: @escaping () -> Context) { self.make = make }

    func with<R>(_ body: (Context) throws -> R) rethrows -> R {
        lock.lock()
        let context = free.popLast() ?? make()
        lock.unlock()
        defer {
            lock.lock()
            free.append(context)
            lock.unlock()
        }
        return try body(context)
    }
}
