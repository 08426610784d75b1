import Foundation

/// A Caffe `Datum` read in place from an LMDB value, without copying its data.
///
/// This is a hand-written reader of the protobuf wire format for the seven fields of
/// `Datum`, used on the read hot path only: swift-protobuf copies the `data` bytes into a new
/// `Data` for every record, which the LMDB read benchmark shows costs more than a tenth of
/// the read time (see README, "LMDB"). Everything else — writing, and the reference in
/// tests — uses the generated `Caffe_Datum`.
///
/// The view borrows `bytes`: it is valid only while they are (inside the LMDB transaction
/// that lent them).
struct DatumView {
    var channels: Int32 = 0
    var height: Int32 = 0
    var width: Int32 = 0
    var label: Int32 = 0
    var encoded = false
    /// The `data` field's bytes, when present.
    var data: UnsafeRawBufferPointer?
    /// Packed `float_data`, when written packed.
    var packedFloats: UnsafeRawBufferPointer?
    /// How many `float_data` values there are in all (packed or not).
    var floatCount = 0
    let bytes: UnsafeRawBufferPointer

    /// Parses the message; throws `DatumError.malformed` when the bytes are not protobuf.
    init(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes = bytes
        var p = 0
        while p < bytes.count {
            let tag = try readVarint(bytes, &p)
            let field = tag >> 3, wire = tag & 7
            switch (field, wire) {
            case (1, 0): channels = Int32(truncatingIfNeeded: try readVarint(bytes, &p))
            case (2, 0): height = Int32(truncatingIfNeeded: try readVarint(bytes, &p))
            case (3, 0): width = Int32(truncatingIfNeeded: try readVarint(bytes, &p))
            case (5, 0): label = Int32(truncatingIfNeeded: try readVarint(bytes, &p))
            case (7, 0): encoded = try readVarint(bytes, &p) != 0
            case (4, 2):
                let n = try length(bytes, &p)
                data = UnsafeRawBufferPointer(rebasing: bytes[p..<p + n])
                p += n
            case (6, 2):
                let n = try length(bytes, &p)
                guard n % 4 == 0 else { throw DatumError.malformed("packed float_data of \(n) bytes") }
                packedFloats = UnsafeRawBufferPointer(rebasing: bytes[p..<p + n])
                floatCount += n / 4
                p += n
            case (6, 5):
                guard p + 4 <= bytes.count else { throw DatumError.malformed("truncated float") }
                floatCount += 1
                p += 4
            default:
                try skip(wire: wire, bytes, &p)
            }
        }
    }

    /// Writes the `float_data` values into `destination`, multiplied by `scale`.
    func copyFloats(into destination: UnsafeMutablePointer<Float>, scale: Float) {
        if let packed = packedFloats, packed.count / 4 == floatCount {
            for i in 0..<floatCount { destination[i] = packed.loadUnaligned(fromByteOffset: i * 4, as: Float.self) * scale }
            return
        }
        // Unpacked (proto2's default) or mixed: walk the message again.
        var p = 0, i = 0
        while p < bytes.count, let tag = try? readVarint(bytes, &p) {
            let field = tag >> 3, wire = tag & 7
            if field == 6 && wire == 5 {
                destination[i] = bytes.loadUnaligned(fromByteOffset: p, as: Float.self) * scale
                i += 1
                p += 4
            } else if field == 6 && wire == 2, let n = try? length(bytes, &p) {
                for k in 0..<n / 4 { destination[i + k] = bytes.loadUnaligned(fromByteOffset: p + 4 * k, as: Float.self) * scale }
                i += n / 4
                p += n
            } else if (try? skip(wire: wire, bytes, &p)) == nil {
                return
            }
        }
    }
}

/// Why a value is not a usable Datum.
enum DatumError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self {
        case .malformed(let what): return "not a Datum (\(what))"
        }
    }
}

@inline(__always)
private func readVarint(_ bytes: UnsafeRawBufferPointer, _ p: inout Int) throws -> UInt64 {
    var result: UInt64 = 0, shift: UInt64 = 0
    while true {
        guard p < bytes.count, shift < 64 else { throw DatumError.malformed("truncated varint") }
        let byte = bytes[p]
        p += 1
        result |= UInt64(byte & 0x7F) << shift
        if byte & 0x80 == 0 { return result }
        shift += 7
    }
}

@inline(__always)
private func length(_ bytes: UnsafeRawBufferPointer, _ p: inout Int) throws -> Int {
    let n = try readVarint(bytes, &p)
    guard n <= UInt64(bytes.count - p) else { throw DatumError.malformed("a field runs past the end") }
    return Int(n)
}

private func skip(wire: UInt64, _ bytes: UnsafeRawBufferPointer, _ p: inout Int) throws {
    switch wire {
    case 0: _ = try readVarint(bytes, &p)
    case 1: guard p + 8 <= bytes.count else { throw DatumError.malformed("truncated field") }; p += 8
    case 2: p += try length(bytes, &p)
    case 5: guard p + 4 <= bytes.count else { throw DatumError.malformed("truncated field") }; p += 4
    default: throw DatumError.malformed("wire type \(wire)")
    }
}
