import DataSources
import Foundation

extension BenchmarkConfig {
    /// The config `feedbench bench --source SRC` runs: the user's data read as it is stored,
    /// beside the raw baseline (written once from it) and, when training, data in memory.
    /// Built as YAML text and parsed like any config, so DIR/config.yaml reruns it.
    public static func forSource(
        _ source: String, keys: DatasetKeys = .caffe, orders: [SampleOrder] = [.sequential, .shuffle],
        modes: [BenchmarkMode] = [.read], caches: [CacheState] = [.warm], batchSizes: [Int] = [128],
        prefetch: [Int] = [4], repeats: Int = 3, warmup: Int = 1, interleave: Bool = true, hidden: [Int] = [512],
        baseline: Bool = true, dataDirectory: String = ".bench-data", accelerator: String? = nil
    ) throws -> BenchmarkConfig {
        var modes = modes
        if accelerator != nil && !modes.contains(.emulate) { modes.append(.emulate) }
        let name = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        func list<T>(_ values: [T], _ text: (T) -> String) -> String { "[" + values.map(text).joined(separator: ", ") + "]" }
        var keyFields = ""
        if keys != .caffe { keyFields = ", data_key: \(quoted(keys.data)), label_key: \(quoted(keys.label))" }
        var backends: [String] = []
        if baseline { backends.append("  - {name: raw, format: raw}") }
        // Data in memory: the training baseline, and the emulator's calibration.
        if baseline && ((modes.contains(.train) && !caches.contains(.cold)) || modes.contains(.emulate)) {
            backends.append("  - {name: memory, format: memory}")
        }
        backends.append("  - {name: \(quoted(name)), format: existing}")
        let yaml = """
            # feedbench bench --source \(source): the data as stored\(baseline ? ", beside the raw baseline" : "").
            experiment: \(quoted(name))
            dataset: {name: \(quoted(name)), source: \(quoted(source))\(keyFields)}
            backends:
            \(backends.joined(separator: "\n"))
            orders: \(list(orders) { $0.rawValue })
            cache: \(list(caches) { $0.rawValue })
            batch_sizes: \(list(batchSizes) { String($0) })
            prefetch: \(list(prefetch) { String($0) })
            modes: \(list(modes) { $0.rawValue })
            repeats: \(repeats)
            warmup: \(warmup)
            interleave: \(interleave)
            network: {hidden: \(list(hidden) { String($0) })}
            data_dir: \(quoted(dataDirectory))\(accelerator.map { "\naccelerators: \(quoted($0))" } ?? "")

            """
        return try BenchmarkConfig(yaml: yaml)
    }
}
