import DataSources
import NetworkSpecs

extension SpecError: FeedBenchError {}

/// This release of FeedBench, and the libraries it runs on.
public enum FeedBenchVersion {
    public static let current = "0.2.0"
}
