import Foundation
import SwiftProtobuf

/// Encodes samples as Caffe `Datum` messages (through swift-protobuf's generated type).
enum DatumCodec {
    /// The Datum geometry for a sample shape: [C, H, W] as it is; [H, W] as one channel;
    /// [D] as D channels of 1×1 (Caffe's form for non-image data).
    static func geometry(_ shape: [Int]) -> (channels: Int, height: Int, width: Int) {
        switch shape.count {
        case 3: return (shape[0], shape[1], shape[2])
        case 2: return (1, shape[0], shape[1])
        default: return (shape.reduce(1, *), 1, 1)
        }
    }

    /// One record's value: uint8 data (through `Quantizer`) or float_data.
    static func encode(_ values: UnsafePointer<Float>, count: Int, shape: [Int], label: Int32, asBytes: Bool) throws -> [UInt8] {
        var datum = Caffe_Datum()
        let g = geometry(shape)
        datum.channels = Int32(g.channels)
        datum.height = Int32(g.height)
        datum.width = Int32(g.width)
        datum.label = label
        if asBytes {
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBufferPointer { try Quantizer.uint8(values, count: count, into: $0.baseAddress!) }
            datum.data = Data(bytes)
        } else {
            datum.floatData = Array(UnsafeBufferPointer(start: values, count: count))
        }
        return try datum.serializedBytes()
    }
}
