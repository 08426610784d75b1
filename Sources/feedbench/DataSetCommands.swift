import ArgumentParser
import DataSources
import Foundation
import HDF5

/// How an HDF5 split set is stored (`generate` and `convert`).
struct LayoutOptions: ParsableArguments {
    @Option(help: "Number of HDF5 files the set is split into (a list file names them).")
    var files: Int = 1

    @Option(help: "Stored element type: uint8 or float32 (default: the source's, when it is one of these; else float32).")
    var dtype: String?

    @Option(help: "Samples per chunk (chunked layout); contiguous when not given.")
    var chunk: Int?

    @Option(help: "gzip[:LEVEL] or none. gzip needs chunks (64 samples when --chunk is not given).")
    var compression: String = "none"

    func validate() throws {
        guard files >= 1 else { throw ValidationError("--files must be at least 1") }
        if let dtype, !["uint8", "float32"].contains(dtype) {
            throw ValidationError("--dtype must be uint8 or float32, got '\(dtype)'")
        }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1") }
        _ = try gzipLevel()
    }

    func gzipLevel() throws -> Int? {
        if compression == "none" { return nil }
        if compression == "gzip" { return 4 }
        if compression.hasPrefix("gzip:"), let level = Int(compression.dropFirst(5)), (0...9).contains(level) { return level }
        throw ValidationError("--compression must be none, gzip or gzip:LEVEL (0–9), got '\(compression)'")
    }

    /// --dtype, else the source's stored type when it is uint8 or float32, else float32.
    func outputType(for source: any DataSource) -> ElementType {
        if let dtype, let type = ElementType(rawValue: dtype) { return type }
        let stored = source.storedElementType
        return stored == .uint8 || stored == .float32 ? stored! : .float32
    }

    func writer(for source: any DataSource) throws -> HDF5SetWriter {
        try HDF5SetWriter(options: .init(files: files, dtype: outputType(for: source), chunkRows: chunk, gzipLevel: gzipLevel()))
    }
}

/// Writes a source to a destination, with a progress line; prints what it wrote.
func writeSet(_ source: any DataSource, to destination: String, layout: LayoutOptions) throws {
    let location = try SourceLocation(parsing: destination)
    if location.kind == .raw || location.kind == .lmdb {
        let type = layout.outputType(for: source)
        let progress = ProgressLine("writing", total: source.sampleCount)
        if location.kind == .raw {
            try RawSource.write(source, to: location.path, dtype: type) { progress.update($0) }
        } else {
            try LMDBWriter.write(source, to: location.path, dtype: type) { progress.update($0) }
        }
        progress.finish()
        print("wrote \(source.sampleCount) samples of shape \(source.sampleShape) to the \(location.kind.rawValue) folder \(location.path)")
        return
    }
    guard location.kind == .hdf5List || location.kind == .hdf5File else {
        throw UserError("\(destination): the \(location.kind.rawValue) backend cannot be written yet; write an HDF5 list (.txt), an HDF5 file (.h5) or raw:DIR")
    }
    if location.kind == .hdf5File && layout.files != 1 {
        throw UserError("\(destination): --files \(layout.files) needs a list file (.txt) as the destination")
    }
    let writer = try layout.writer(for: source)
    let progress = ProgressLine("writing", total: source.sampleCount)
    let paths = try writer.write(source, to: location.path) { progress.update($0) }
    progress.finish()
    print("wrote \(source.sampleCount) samples of shape \(source.sampleShape) to \(paths.count) file\(paths.count == 1 ? "" : "s")"
        + (location.kind == .hdf5List ? " listed in \(location.path)" : ": \(location.path)"))
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Write a seeded synthetic classification set.")

    @Option(help: "Number of samples.") var samples: Int
    @Option(help: "Sample shape, such as 3,32,32.") var shape: String
    @Option(help: "Number of classes.") var classes: Int = 10
    @Option(help: "Seed: the same seed writes the same values.") var seed: UInt64 = 1
    @Option(help: "Destination: a list file (.txt) or an HDF5 file (.h5).") var to: String
    @OptionGroup var layout: LayoutOptions

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1") }
        _ = try parsedShape()
    }

    func parsedShape() throws -> [Int] {
        let dims = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--shape must be positive sizes separated by commas, such as 3,32,32; got '\(shape)'")
        }
        return dims.map { $0! }
    }

    func run() throws {
        let source = try SyntheticSource(samples: samples, shape: parsedShape(), classes: classes, seed: seed)
        try writeSet(source, to: to, layout: layout)
    }
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Copy a data set from one backend or layout to another.")

    @Option(help: "Source: a list file, an HDF5 file (hdf5:, lmdb:, raw: prefixes force the kind).") var from: String
    @Option(help: "Destination: a list file (.txt) or an HDF5 file (.h5).") var to: String
    @Option(help: "Scale applied on reading (default: 1/255 for uint8, 1 otherwise); uint8 output stores value × 255.")
    var scale: Float?
    @OptionGroup var layout: LayoutOptions

    func run() throws {
        let source = try SourceLocation(parsing: from).open(scale: scale)
        try writeSet(source, to: to, layout: layout)
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show what a file, list or LMDB holds (like h5ls / mdb_stat).")

    @Argument(help: "A list file, an HDF5 file, or an LMDB folder.") var source: String

    func run() throws {
        try Inspector.lines(for: SourceLocation(parsing: source)).forEach { print($0) }
    }
}
