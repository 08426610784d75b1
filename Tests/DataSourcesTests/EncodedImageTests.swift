import DataSources
import Foundation
import Graph
import HDF5
import LMDB
import SwiftProtobuf
import Testing
@testable import DataSources

/// A seeded colour pattern, interleaved RGB.
func pattern(height: Int, width: Int, channels: Int = 3, seed: Int = 1) -> [UInt8] {
    (0..<(height * width * channels)).map { i in
        let p = i / channels, c = i % channels
        return UInt8(truncatingIfNeeded: (p % width) * 5 + (p / width) * 3 + c * 60 + seed * 17 + (p * 7919 % 13))
    }
}

@Suite struct ImageCodecTests {
    @Test func pngRoundTripsExactly() throws {
        for channels in [1, 3] {
            let pixels = pattern(height: 20, width: 30, channels: channels)
            let bytes = try ImageEncoder().png(pixels, width: 30, height: 20, channels: channels)
            let decoder = try ImageDecoder()
            let header = try bytes.withUnsafeBytes { try decoder.header($0) }
            #expect(header == ImageHeader(format: .png, width: 30, height: 20, channels: channels))
            var out = [UInt8](repeating: 0, count: pixels.count)
            try bytes.withUnsafeBytes { b in try out.withUnsafeMutableBufferPointer { try decoder.decode(b, header: header, size: (20, 30), into: $0.baseAddress!) } }
            #expect(out == pixels, "channels \(channels)")
        }
    }

    @Test func jpegRoundTripsClosely() throws {
        let pixels = pattern(height: 32, width: 48)
        let bytes = try ImageEncoder().jpeg(pixels, width: 48, height: 32, channels: 3, quality: 95)
        let decoder = try ImageDecoder()
        let header = try bytes.withUnsafeBytes { try decoder.header($0) }
        #expect(header == ImageHeader(format: .jpeg, width: 48, height: 32, channels: 3))
        var out = [UInt8](repeating: 0, count: pixels.count)
        try bytes.withUnsafeBytes { b in try out.withUnsafeMutableBufferPointer { try decoder.decode(b, header: header, size: (32, 48), into: $0.baseAddress!) } }
        let meanError = zip(out, pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / pixels.count
        #expect(meanError <= 12, "mean absolute error \(meanError)")  // 4:2:0 chroma on a pattern with fine detail
    }

    /// Truncated, corrupt, empty and foreign bytes: an error with the decoder's message, never a crash.
    @Test func badImagesAreErrors() throws {
        let jpeg = try ImageEncoder().jpeg(pattern(height: 64, width: 64), width: 64, height: 64, channels: 3, quality: 90)
        let png = try ImageEncoder().png(pattern(height: 64, width: 64), width: 64, height: 64, channels: 3)
        let decoder = try ImageDecoder()
        func decodeText(_ bytes: [UInt8]) -> String {
            do {
                try bytes.withUnsafeBytes { b in
                    let header = try decoder.header(b)
                    var out = [UInt8](repeating: 0, count: header.width * header.height * header.channels)
                    try out.withUnsafeMutableBufferPointer { try decoder.decode(b, header: header, size: (header.height, header.width), into: $0.baseAddress!) }
                }
                return "decoded"
            } catch { return "\(error)" }
        }
        #expect(decodeText(Array(jpeg.prefix(jpeg.count / 2))).hasPrefix("JPEG: "))
        // The same decoder goes on: a failed image does not fail the next (TurboJPEG keeps a
        // warning's state in its handle; the decoder replaces it).
        #expect(decodeText(jpeg) == "decoded")
        #expect(decodeText(Array(png.prefix(png.count / 2))).hasPrefix("PNG: "))
        #expect(decodeText([]) == "an empty record (0 bytes)")
        #expect(decodeText([1, 2, 3, 4, 5]) == "not a JPEG or PNG image (it starts with 01 02 03 04)")
        var zeroSize = png
        for i in 16..<24 { zeroSize[i] = 0 }
        #expect(decodeText(zeroSize) == "PNG: a zero-size image (0×0)")
    }

    /// libjpeg-turbo's DCT scaling only when the target is at most half the stored size.
    @Test func scaledDecodingSizes() {
        let header = ImageHeader(format: .jpeg, width: 500, height: 375, channels: 3)
        #expect(ImageDecoder.decodedSize(header, target: (112, 112)) == (141, 188))  // 3/8; 1/4 would give 94 rows
        #expect(ImageDecoder.decodedSize(header, target: (40, 40)) == (47, 63))      // 1/8
        #expect(ImageDecoder.decodedSize(header, target: (224, 224)) == (375, 500))  // more than half: whole
        #expect(ImageDecoder.decodedSize(ImageHeader(format: .png, width: 500, height: 375, channels: 3), target: (40, 40)) == (375, 500))
    }

    @Test func transformCropsFlipsAndScales() throws {
        // 4×4 single channel, values 0…15 row by row.
        let pixels = (0..<16).map { UInt8($0) }
        var random = SplitMix64(seed: 1), scratch: [UInt8] = []
        var out = [Float](repeating: 0, count: 4)
        let center = ImageTransform(cropSize: 2, meanValues: [1], scale: 2)
        try pixels.withUnsafeBufferPointer { p in try out.withUnsafeMutableBufferPointer {
            try center.apply(p.baseAddress!, height: 4, width: 4, channels: 1, into: $0.baseAddress!, random: &random, scratch: &scratch)
        } }
        let expected: [Float] = [8, 10, 16, 18]  // (pixel − 1) × 2 for pixels 5, 6, 9, 10
        #expect(out == expected)
        // Flips: over many seeds both orientations appear, and a flipped row is reversed.
        var seen = Set<[Float]>()
        for seed in 0..<32 {
            var r = SplitMix64(seed: UInt64(seed))
            var row = [Float](repeating: 0, count: 16)
            try pixels.withUnsafeBufferPointer { p in try row.withUnsafeMutableBufferPointer {
                try ImageTransform(mirror: true, scale: 1).apply(p.baseAddress!, height: 4, width: 4, channels: 1, into: $0.baseAddress!, random: &r, scratch: &scratch)
            } }
            seen.insert(Array(row.prefix(4)))
        }
        #expect(seen == [[0, 1, 2, 3], [3, 2, 1, 0]])
        // A crop larger than the image.
        #expect(throws: ImageError.self) {
            try pixels.withUnsafeBufferPointer { p in try out.withUnsafeMutableBufferPointer {
                try ImageTransform(cropSize: 5).apply(p.baseAddress!, height: 4, width: 4, channels: 1, into: $0.baseAddress!, random: &random, scratch: &scratch)
            } }
        }
        // Resize to the same size is the identity.
        var same = [UInt8](repeating: 0, count: 16)
        pixels.withUnsafeBufferPointer { p in same.withUnsafeMutableBufferPointer {
            ImageTransform.resizeBilinear(p.baseAddress!, height: 4, width: 4, channels: 1, to: $0.baseAddress!, height: 4, width: 4)
        } }
        #expect(same == pixels)
        // A window of the resized image is that part of the whole resized image.
        let big = pattern(height: 37, width: 50)
        var whole = [UInt8](repeating: 0, count: 26 * 26 * 3), part = [UInt8](repeating: 0, count: 20 * 22 * 3)
        big.withUnsafeBufferPointer { p in
            whole.withUnsafeMutableBufferPointer { ImageTransform.resizeBilinear(p.baseAddress!, height: 37, width: 50, channels: 3, to: $0.baseAddress!, height: 26, width: 26) }
            part.withUnsafeMutableBufferPointer { ImageTransform.resizeBilinear(p.baseAddress!, height: 37, width: 50, channels: 3, to: $0.baseAddress!, height: 26, width: 26, window: (3, 2, 20, 22)) }
        }
        var cropped: [UInt8] = []
        for y in 0..<20 {
            let start = ((y + 3) * 26 + 2) * 3
            cropped += whole[start..<(start + 22 * 3)]
        }
        #expect(part == cropped)
        // Halving a 2-pixel-periodic row averages neighbours.
        let stripes: [UInt8] = [0, 200, 0, 200]
        var half = [UInt8](repeating: 0, count: 2)
        stripes.withUnsafeBufferPointer { p in half.withUnsafeMutableBufferPointer {
            ImageTransform.resizeBilinear(p.baseAddress!, height: 1, width: 4, channels: 1, to: $0.baseAddress!, height: 1, width: 2)
        } }
        #expect(half == [100, 100])
    }
}

@Suite struct EncodedLMDBTests {
    func fixtureCopy() throws -> String {
        let dir = temporaryDirectory().appendingPathComponent("lmdb_encoded").path
        try FileManager.default.copyItem(atPath: fixture("lmdb_encoded"), toPath: dir)
        return dir
    }

    /// An LMDB made the way `convert_imageset --encoded` makes one (py-lmdb, protobuf, Pillow;
    /// JPEG and PNG, three sizes): FeedBench decodes what Pillow decodes.
    @Test func caffeEncodedFixtureDecodesAsPillowDoes() throws {
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("lmdb_encoded_expected.bin"))))
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture("lmdb_encoded_expected.json")))) as! [[String: Any]]
        // Mixed sizes need a transform.
        #expect(errorText { _ = try LMDBSource(path: try fixtureCopy()) }.contains("record '00000001_img1.png': 36×36, where the first image is 40×32; give --resize H,W or --crop N"))
        let source = try LMDBSource(path: try fixtureCopy(), images: ImageOptions(transform: ImageTransform(cropSize: 32)))
        #expect(source.sampleShape == [3, 32, 32] && source.sampleCount == 8)
        #expect(source.imageFormats == [.jpeg, .png])
        #expect(source.classes == 4)
        let batches = try epoch(source, EpochOptions(batchSize: 3))
        var offset = 0, worst = 0
        for (i, sample) in batches.flatMap(\.data).enumerated() {
            let h = meta[i]["height"] as! Int, w = meta[i]["width"] as! Int
            let y0 = (h - 32) / 2, x0 = (w - 32) / 2
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
                let pillow = Int(expected[offset + ((y0 + y) * w + x0 + x) * 3 + c])
                let ours = Int((sample[c * 1024 + y * 32 + x] * 255).rounded())
                worst = max(worst, abs(pillow - ours))
            } } }
            offset += h * w * 3
        }
        #expect(worst <= 1, "largest difference from Pillow: \(worst)")
        #expect(batches.flatMap(\.labels) == meta.map { Float($0["label"] as! Int) })
    }

    /// Written encoded by FeedBench (PNG: lossless), read back exactly, in every order.
    @Test(arguments: [SampleOrder.sequential, .shuffle])
    func pngLMDBRoundTrips(order: SampleOrder) throws {
        let dir = temporaryDirectory().path
        let raw = try SyntheticSource(samples: 50, shape: [3, 12, 10], classes: 5, seed: 4, content: .photos)
        var options = WriterOptions()
        options.encoding = ImageEncoding(format: .png)
        try SourceLocation(kind: .lmdb, path: "\(dir)/png").writer(options).write(raw)
        let encoded = try LMDBSource(path: "\(dir)/png")
        #expect(encoded.sampleShape == [3, 12, 10] && encoded.imageFormats == [.png])
        let a = try epoch(raw, EpochOptions(batchSize: 7, order: order, seed: 3))
        let b = try epoch(encoded, EpochOptions(batchSize: 7, order: order, seed: 3))
        #expect(a.flatMap(\.labels) == b.flatMap(\.labels))
        let mismatch = zip(a.flatMap(\.data), b.flatMap(\.data)).filter { zip($0, $1).contains { abs($0 - $1) > 1e-6 } }.count
        #expect(mismatch == 0)
    }

    /// A truncated JPEG, a grey image among colour ones, an empty record: one line naming the
    /// key; `skipBad` leaves them out and counts them.
    @Test func badRecordsNameTheKeyOrAreSkipped() throws {
        let dir = temporaryDirectory().path
        let encoder = try ImageEncoder()
        var records: [(key: [UInt8], value: [UInt8])] = []
        func add(_ image: [UInt8], label: Int32) throws {
            var datum = Caffe_Datum()
            datum.data = Data(image)
            datum.label = label
            datum.encoded = true
            records.append((Array(String(format: "%08d", records.count).utf8), try datum.serializedBytes()))
        }
        for i in 0..<6 { try add(try encoder.jpeg(pattern(height: 16, width: 16, seed: i), width: 16, height: 16, channels: 3, quality: 90), label: Int32(i % 2)) }
        let good = records
        let truncated = try encoder.jpeg(pattern(height: 16, width: 16), width: 16, height: 16, channels: 3, quality: 90)
        try add(Array(truncated.prefix(truncated.count - 40)), label: 0)
        try add(try encoder.png(pattern(height: 16, width: 16, channels: 1), width: 16, height: 16, channels: 1), label: 1)
        try add([], label: 0)
        func write(_ name: String, _ records: [(key: [UInt8], value: [UInt8])]) throws -> String {
            let env = try Environment.create("\(dir)/\(name)")
            try env.put(records)
            return "\(dir)/\(name)"
        }
        let truncatedSet = try write("truncated", good + [records[6]])
        let greySet = try write("grey", good + [records[7]])
        let emptySet = try write("empty", good + [records[8]])
        // The header of a truncated JPEG reads; its body does not: found when its batch decodes.
        let opened = try LMDBSource(path: truncatedSet)
        #expect(errorText { _ = try epoch(opened, EpochOptions(batchSize: 7)) } .contains("record '00000006': JPEG: "))
        #expect(errorText { _ = try LMDBSource(path: greySet) }.contains("record '00000007': a grey image (1 channel) where the first had 3"))
        #expect(errorText { _ = try LMDBSource(path: emptySet) }.contains("record '00000008': an encoded record without image bytes"))
        #expect(errorText { _ = try LMDBSource(path: greySet, images: ImageOptions(transform: ImageTransform(cropSize: 20))) }
            .contains("record '00000000': the image is 16×16, smaller than the crop 20×20"))
        let all = try write("all", records)
        let skipping = try LMDBSource(path: all, images: ImageOptions(skipBad: true))
        #expect(skipping.sampleCount == 6 && skipping.skippedImages == 3)
        #expect(skipping.firstSkippedImage?.hasPrefix("record '0000000") == true)
        let batches = try epoch(skipping, EpochOptions(batchSize: 4, order: .sequential))
        #expect(batches.flatMap(\.labels) == [0, 1, 0, 1, 0, 1])
    }
}

@Suite struct EncodedHDF5Tests {
    /// Both HDF5 layouts (variable-length rows; one flat dataset and offsets), one file and a
    /// list of three, round-trip PNG exactly in shuffled order.
    @Test(arguments: [WriterOptions.EncodedLayout.vlen, .offsets])
    func pngRoundTrips(layout: WriterOptions.EncodedLayout) throws {
        let dir = temporaryDirectory().path
        let raw = try SyntheticSource(samples: 40, shape: [1, 9, 11], classes: 4, seed: 2, content: .digits)
        var options = WriterOptions(files: 3)
        options.encoding = ImageEncoding(format: .png)
        options.encodedLayout = layout
        try SourceLocation(kind: .hdf5List, path: "\(dir)/set.txt").writer(options).write(raw)
        #expect(EncodedHDF5Source.holdsEncodedImages("\(dir)/set.txt", keys: .caffe))
        let source = try SourceLocation(parsing: "\(dir)/set.txt").open()
        let encoded = try #require(source as? EncodedHDF5Source)
        #expect(encoded.layout == layout && encoded.sampleShape == [1, 9, 11] && encoded.sampleCount == 40 && encoded.files.count == 3)
        let a = try epoch(raw, EpochOptions(batchSize: 6, order: .shuffle, seed: 8))
        let b = try epoch(encoded, EpochOptions(batchSize: 6, order: .shuffle, seed: 8))
        #expect(a.flatMap(\.labels) == b.flatMap(\.labels))
        #expect(zip(a.flatMap(\.data), b.flatMap(\.data)).allSatisfy { zip($0, $1).allSatisfy { abs($0 - $1) < 1e-6 } })
    }

    /// A corrupt image in an HDF5 set: the file and row are named.
    @Test func aCorruptRowIsNamed() throws {
        let dir = temporaryDirectory().path
        let file = try File.create("\(dir)/x.h5")
        let data = try file.root.createVariableLengthBytesDataset("data", rows: 3)
        let png = try ImageEncoder().png(pattern(height: 8, width: 8), width: 8, height: 8, channels: 3)
        try data.writeVariableLength(rows: 0..<3, [png, Array(png.prefix(40)), png])
        try data.close()
        let label = try file.root.createDataset("label", type: .float32, shape: [3])
        try [Float](repeating: 0, count: 3).withUnsafeBytes { try label.write(rows: 0..<3, from: $0.baseAddress!, as: .float32) }
        try label.close()
        try file.close()
        let source = try EncodedHDF5Source(path: "\(dir)/x.h5")
        #expect(errorText { _ = try epoch(source, EpochOptions(batchSize: 3)) }.contains("\(dir)/x.h5: row 1: PNG: "))
        let skipping = try EncodedHDF5Source(path: "\(dir)/x.h5", images: ImageOptions(skipBad: true))
        #expect(skipping.sampleCount == 2 && skipping.skippedImages == 1)
    }
}
