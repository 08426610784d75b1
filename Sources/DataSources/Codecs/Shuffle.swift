/// HDF5's shuffle filter (id 2): the bytes of `n` elements of `size` bytes transposed, byte 0
/// of every element first, then byte 1, …; a remainder that is not a whole element is kept
/// at the end as it is. No library exposes this filter's layout, and it is a transpose, so
/// it is written here.
enum ByteShuffle {
    /// Undoes the shuffle: `source` and `destination` hold the same number of bytes.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let count = source.count, n = elementSize > 0 ? count / elementSize : 0
        guard elementSize > 1, n > 1 else {
            destination.copyMemory(from: source)
            return
        }
        let s = source.bindMemory(to: UInt8.self), d = destination.bindMemory(to: UInt8.self)
        for byte in 0..<elementSize {
            let row = byte * n
            for i in 0..<n { d[i * elementSize + byte] = s[row + i] }
        }
        for r in n * elementSize..<count { d[r] = s[r] }
    }

    /// Applies the shuffle (for writing).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let count = source.count, n = elementSize > 0 ? count / elementSize : 0
        guard elementSize > 1, n > 1 else {
            destination.copyMemory(from: source)
            return
        }
        let s = source.bindMemory(to: UInt8.self), d = destination.bindMemory(to: UInt8.self)
        for byte in 0..<elementSize {
            let row = byte * n
            for i in 0..<n { d[row + i] = s[i * elementSize + byte] }
        }
        for r in n * elementSize..<count { d[r] = s[r] }
    }
}

/// HDF5's Fletcher-32 checksum filter (id 3): HDF5's own variant (16-bit words read
/// big-endian, sums folded every 360 words, an odd last byte taken as a high byte), stored
/// little-endian after the data. HDF5 does not export it, so it is written here.
enum Fletcher32 {
    static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        let b = data.bindMemory(to: UInt8.self)
        var sum1: UInt32 = 0, sum2: UInt32 = 0
        var words = b.count / 2, i = 0
        while words > 0 {
            let block = min(words, 360)
            words -= block
            for _ in 0..<block {
                sum1 &+= UInt32(b[i]) << 8 | UInt32(b[i + 1])
                sum2 &+= sum1
                i += 2
            }
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        if b.count % 2 == 1 {
            sum1 &+= UInt32(b[i]) << 8
            sum2 &+= sum1
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        return sum2 << 16 | sum1
    }

    /// Checks the stored checksum (HDF5 also accepts the byte-swapped value older libraries
    /// wrote); returns the data without it.
    static func verify(_ chunk: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard chunk.count >= 4 else { throw CodecError("fletcher32", "a chunk of \(chunk.count) bytes has no checksum") }
        let data = UnsafeRawBufferPointer(rebasing: chunk[0..<chunk.count - 4])
        let stored = chunk.loadUnaligned(fromByteOffset: chunk.count - 4, as: UInt32.self).littleEndian
        let computed = checksum(data)
        let legacy = (computed & 0x00FF_00FF) << 8 | (computed >> 8) & 0x00FF_00FF
        guard stored == computed || stored == legacy else {
            throw CodecError("fletcher32", String(format: "checksum mismatch (stored %08x, computed %08x)", stored, computed))
        }
        return data
    }
}

/// Bitshuffle (HDF5 filter 32008): blocks of elements bit-transposed, then each block LZ4-
/// or Zstandard-compressed (or stored). The filter's framing is small and no Debian library
/// provides it, so it is undone here; each 8×8 bit block is transposed with three
/// mask-and-shift steps on a 64-bit word.
enum Bitshuffle {
    /// The default block size in elements for an element size (bitshuffle's own rule).
    static func defaultBlockElements(_ elementSize: Int) -> Int { max(128, (8192 / max(elementSize, 1)) / 8 * 8) }

    /// The blocks of `count` elements: full blocks, then a last block of a multiple of 8; the
    /// `count % 8` elements left over are stored as they are, after everything.
    static func blocks(count: Int, blockElements: Int) -> [Int] {
        var result = [Int](repeating: blockElements, count: count / blockElements)
        var last = count % blockElements
        last -= last % 8
        if last > 0 { result.append(last) }
        return result
    }

    /// Transposes the 8×8 bit matrix held in a word (row r in byte r, column c in bit c).
    @inline(__always)
    static func transpose8(_ x: UInt64) -> UInt64 {
        var x = x
        var t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA
        x = x ^ t ^ (t << 7)
        t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC
        x = x ^ t ^ (t << 14)
        t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0
        x = x ^ t ^ (t << 28)
        return x
    }

    /// Undoes the bit transpose of one block of `n` elements (n a multiple of 8).
    static func untranspose(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<UInt8>, n: Int, elementSize es: Int) {
        let rowBytes = n / 8
        for j in 0..<es {
            for g in 0..<rowBytes {
                var word: UInt64 = 0
                for b in 0..<8 { word |= UInt64(source[(8 * j + b) * rowBytes + g]) << (8 * b) }
                let t = transpose8(word)
                for k in 0..<8 { destination[(8 * g + k) * es + j] = UInt8(truncatingIfNeeded: t >> (8 * k)) }
            }
        }
    }

    /// Applies the bit transpose to one block (for writing and tests).
    static func transpose(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<UInt8>, n: Int, elementSize es: Int) {
        let rowBytes = n / 8
        for j in 0..<es {
            for g in 0..<rowBytes {
                var word: UInt64 = 0
                for k in 0..<8 { word |= UInt64(source[(8 * g + k) * es + j]) << (8 * k) }
                let t = transpose8(word)
                for b in 0..<8 { destination[(8 * j + b) * rowBytes + g] = UInt8(truncatingIfNeeded: t >> (8 * b)) }
            }
        }
    }

    /// Decodes a chunk stored with `compression` 0 (none), 2 (LZ4) or 3 (Zstandard).
    static func decode(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize es: Int,
                       blockElements configured: Int, compression: Int, zstd: () throws -> ZstdDecompressor,
                       scratch: UnsafeMutableRawBufferPointer) throws {
        let total = destination.count
        guard es > 0, total % es == 0 else { throw CodecError("bitshuffle", "\(total) bytes are not whole elements of \(es) bytes") }
        var blockElements = configured > 0 ? configured : defaultBlockElements(es)
        var position = 0
        if compression != 0 {
            guard source.count >= 12 else { throw CodecError("bitshuffle", "a chunk of \(source.count) bytes has no header") }
            let stored = Int(clamping: UInt64(bigEndian: source.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
            let blockBytes = Int(UInt32(bigEndian: source.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            guard stored == total else { throw CodecError("bitshuffle", "the header says \(stored) bytes, the chunk holds \(total)") }
            guard blockBytes > 0, blockBytes % es == 0, (blockBytes / es) % 8 == 0 else {
                throw CodecError("bitshuffle", "a block of \(blockBytes) bytes is not a multiple of 8 elements")
            }
            blockElements = blockBytes / es
            position = 12
        }
        let src = source.bindMemory(to: UInt8.self), dst = destination.bindMemory(to: UInt8.self).baseAddress!
        var out = 0
        for n in blocks(count: total / es, blockElements: blockElements) {
            let bytes = n * es
            guard scratch.count >= bytes else { throw CodecError("bitshuffle", "block of \(bytes) bytes exceeds the scratch space") }
            let shuffled: UnsafePointer<UInt8>
            if compression == 0 {
                guard position + bytes <= source.count else { throw CodecError("bitshuffle", "the chunk ends inside a block") }
                shuffled = src.baseAddress! + position
                position += bytes
            } else {
                guard position + 4 <= source.count else { throw CodecError("bitshuffle", "the chunk ends before a block's size") }
                let size = Int(UInt32(bigEndian: source.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                position += 4
                guard size <= source.count - position else { throw CodecError("bitshuffle", "a block runs past the end of the chunk") }
                let block = UnsafeRawBufferPointer(rebasing: source[position..<position + size])
                let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<bytes])
                if compression == 2 {
                    try LZ4Block.decompress(block, into: target)
                } else if compression == 3 {
                    let n = try zstd().decompress(block, into: target)
                    guard n == bytes else { throw CodecError("bitshuffle", "a Zstandard block decodes to \(n) bytes, expected \(bytes)") }
                } else {
                    throw CodecError("bitshuffle", "compression \(compression) is not 0, 2 (LZ4) or 3 (Zstandard)")
                }
                position += size
                shuffled = UnsafePointer(scratch.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            untranspose(shuffled, into: dst + out, n: n, elementSize: es)
            out += bytes
        }
        let rest = total - out
        guard position + rest <= source.count else { throw CodecError("bitshuffle", "the chunk ends before its last elements") }
        if rest > 0 { (dst + out).update(from: src.baseAddress! + position, count: rest) }
    }

    /// Encodes a chunk with LZ4 blocks (compression 2), as the filter's writer does (for
    /// tests; FeedBench does not write Bitshuffle).
    static func encodeLZ4(_ source: UnsafeRawBufferPointer, elementSize es: Int, blockElements: Int = 0) throws -> [UInt8] {
        let block = blockElements > 0 ? blockElements : defaultBlockElements(es)
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(source.count).bigEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(block * es).bigEndian) { out += $0 }
        let src = source.bindMemory(to: UInt8.self).baseAddress!
        var position = 0
        var shuffled = [UInt8](repeating: 0, count: block * es)
        for n in blocks(count: source.count / es, blockElements: block) {
            let bytes = n * es
            try shuffled.withUnsafeMutableBufferPointer { s in
                transpose(src + position, into: s.baseAddress!, n: n, elementSize: es)
                let compressed = try LZ4Block.compress(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(s)[0..<bytes]))
                withUnsafeBytes(of: UInt32(compressed.count).bigEndian) { out += $0 }
                out += compressed
            }
            position += bytes
        }
        out += UnsafeRawBufferPointer(rebasing: source[position...])
        return out
    }
}
