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
