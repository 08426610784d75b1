/// A codec refused its input: which codec, and its own message (or FeedBench's, for the
/// framings written by hand). The reader adds the file, dataset and chunk.
public struct CodecError: FeedBenchError {
    public let codec: String
    public let message: String
    public var description: String { "\(codec): \(message)" }

    public init(_ codec: String, _ message: String) {
        self.codec = codec
        self.message = message
    }
}
