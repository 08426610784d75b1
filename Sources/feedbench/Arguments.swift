import ArgumentParser
import DataSources
import Experiments

// Command-line values that are a closed set, or that parse into a type, are read as that
// type: a bad value is refused with swift-argument-parser's own message before any work.

extension SampleOrder: ExpressibleByArgument {}
extension CacheState: ExpressibleByArgument {}
extension BenchmarkMode: ExpressibleByArgument {}
extension SampleContent: ExpressibleByArgument {}

extension StoredType: ExpressibleByArgument {
    public static var allValueStrings: [String] { StoredType.writable.map(\.rawValue) }
}

extension Compression: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? Compression(parsing: argument) else { return nil }
        self = value
    }
    public static var defaultCompletionKind: CompletionKind { .list(["none", "gzip", "lz4", "zstd", "blosc"]) }
}

/// A data set named on the command line (SRC or DST). What it is — a list, an `.h5`, an
/// LMDB or raw folder — is decided when the command runs, so a path that does not exist ends
/// with one line naming it (exit code 1) rather than a usage message.
struct DataSetArgument: ExpressibleByArgument, CustomStringConvertible {
    let text: String
    init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        text = argument
    }
    /// The location, or a one-line error naming the path.
    func location() throws -> SourceLocation { try SourceLocation(parsing: text) }
    var description: String { text }
}

/// The names of the HDF5 datasets to read (Caffe's `data` and `label` by default).
struct KeyOptions: ParsableArguments {
    @Option(help: "HDF5 dataset holding the samples.") var dataKey = "data"
    @Option(help: "HDF5 dataset holding the labels.") var labelKey = "label"

    var keys: DatasetKeys { DatasetKeys(data: dataKey, label: labelKey) }
    /// Whether the user named other datasets than Caffe's.
    var given: Bool { keys != .caffe }
}

/// A comma-separated list of values, such as `sequential,shuffle`.
struct ListArgument<Element: ExpressibleByArgument>: ExpressibleByArgument {
    let values: [Element]
    init(_ values: [Element]) { self.values = values }
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Element(argument: String($0.trimmingCharacters(in: .whitespaces))) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
    }
}

extension Int {
    /// Sizes like `256,128` for --hidden and --shape.
    static func positiveList(_ text: String) -> [Int]? {
        let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return sizes.map { $0! }
    }
}

extension ListArgument: CustomStringConvertible where Element: RawRepresentable, Element.RawValue == String {
    /// The default shown in help: `sequential,shuffle`.
    var description: String { values.map(\.rawValue).joined(separator: ",") }
}

/// How encoded images (JPEG or PNG records) are brought to one shape, by Caffe's
/// `transform_param` names; ignored for sets of raw pixels.
struct ImageArguments: ParsableArguments {
    @Option(help: "Encoded images: resize each image to HEIGHT,WIDTH first (bilinear; JPEGs decode at 1/2, 1/4 or 1/8 when the target allows).")
    var resize: String?
    @Option(help: "Encoded images: crop a square of this side (at random in training, centred otherwise; Caffe's crop_size).")
    var crop: Int?
    @Flag(help: "Encoded images: flip half the training images horizontally, at random (Caffe's mirror).")
    var mirror = false
    @Option(help: "Encoded images: per-channel means to subtract, 0–255 units (one value, or one per channel; Caffe's mean_value).")
    var meanValue: String?
    @Flag(help: "Encoded images: skip (and count) records that do not decode instead of stopping at the first; every image is decoded once when the set is opened.")
    var skipBad = false

    func validate() throws {
        if let resize, Int.positiveList(resize)?.count != 2 { throw ValidationError("--resize must be HEIGHT,WIDTH, such as 256,256") }
        if let crop, crop < 1 { throw ValidationError("--crop must be at least 1") }
        if let meanValue, meanValues(meanValue) == nil { throw ValidationError("--mean-value must be finite numbers, such as 104,117,123") }
    }

    private func meanValues(_ text: String) -> [Float]? {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else { return nil }
        return values.map { $0! }
    }

    /// The options for a training set (random crop and flip) or for evaluation and copying.
    func options(training: Bool) -> ImageOptions {
        let transform = ImageTransform(resize: resize.flatMap(Int.positiveList), cropSize: crop, randomCrop: training,
                                       mirror: training && mirror, meanValues: meanValue.flatMap(meanValues) ?? [])
        return ImageOptions(transform: transform, skipBad: skipBad)
    }
}
