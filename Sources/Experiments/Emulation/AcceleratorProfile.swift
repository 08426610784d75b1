import DataSources
import Foundation
import NetworkSpecs
import Yams

/// What one emulated accelerator asks of storage: a batch of `batchSize` samples, then
/// `computeSeconds` (normal with `computeSD`, drawn per step, never below zero) spent without
/// the host's CPU, as a GPU would. A layout sustains N accelerators when their mean AU stays at
/// or above `auThreshold`.
public struct AcceleratorProfile: Sendable, Equatable {
    public var name: String
    /// The shape of one sample (a record of `record_bytes` is `[record_bytes]`, uint8).
    public var sampleShape: [Int]
    public var batchSize: Int
    public var computeSeconds: Double
    public var computeSD: Double
    public var auThreshold: Double
    /// Where the figures come from.
    public var source: String

    /// Samples one accelerator consumes per second when storage keeps up.
    public var demandSamplesPerSecond: Double { Double(batchSize) / computeSeconds }

    /// The presets, read from the package's `accelerators.yaml` (each with its citation).
    public static let presets: [String: AcceleratorProfile] = {
        guard let url = Bundle.module.url(forResource: "accelerators", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8),
              let root = try? Yams.compose(yaml: text)?.mapping
        else { return [:] }
        var presets: [String: AcceleratorProfile] = [:]
        for (key, value) in root {
            guard let name = key.string, let fields = value.mapping,
                  let profile = try? AcceleratorProfile(name: name, fields: fields, base: nil, prefix: name)
            else { continue }
            presets[name] = profile
        }
        return presets
    }()

    public static var presetNames: [String] { presets.keys.sorted() }

    /// A profile from a config's fields: a preset's figures overridden by any field given, or
    /// `custom` with every figure given. Errors name the key.
    init(name: String, fields: Yams.Node.Mapping, base: AcceleratorProfile?, prefix: String) throws {
        self.name = name
        sampleShape = base?.sampleShape ?? []
        batchSize = base?.batchSize ?? 0
        computeSeconds = base?.computeSeconds ?? 0
        computeSD = base?.computeSD ?? 0
        auThreshold = base?.auThreshold ?? 0
        source = base?.source ?? "custom"
        if let v = fields["source"] { source = v.string ?? source }
        if fields["sample_shape"] != nil && fields["record_bytes"] != nil {
            throw SpecError("\(prefix): give sample_shape or record_bytes, not both", at: fields["record_bytes"])
        }
        if let v = fields["sample_shape"] {
            let items = v.sequence.map(Array.init) ?? [v]
            sampleShape = try items.map { item in
                guard let n = item.int, n >= 1 else { throw SpecError("\(prefix).sample_shape must be a list of positive integers", at: item) }
                return n
            }
            guard !sampleShape.isEmpty else { throw SpecError("\(prefix).sample_shape must not be empty", at: v) }
        }
        if let v = fields["record_bytes"] {
            guard let n = v.int, n >= 1 else { throw SpecError("\(prefix).record_bytes must be a positive integer", at: v) }
            sampleShape = [n]
        }
        if let v = fields["batch_size"] {
            guard let n = v.int, n >= 1 else { throw SpecError("\(prefix).batch_size must be an integer ≥ 1", at: v) }
            batchSize = n
        }
        if let v = fields["compute_seconds"] {
            guard let x = v.float, x > 0, x.isFinite else { throw SpecError("\(prefix).compute_seconds must be a number > 0 (seconds per batch)", at: v) }
            computeSeconds = x
        }
        if let v = fields["compute_sd"] {
            guard let x = v.float, x >= 0, x.isFinite else { throw SpecError("\(prefix).compute_sd must be a number ≥ 0", at: v) }
            computeSD = x
        }
        if let v = fields["au_threshold"] {
            guard let x = v.float, x > 0, x <= 1 else { throw SpecError("\(prefix).au_threshold must be in (0, 1]", at: v) }
            auThreshold = x
        }
        let missing = [("sample_shape or record_bytes", sampleShape.isEmpty), ("batch_size", batchSize == 0),
                       ("compute_seconds", computeSeconds == 0), ("au_threshold", auThreshold == 0)].filter(\.1).map(\.0)
        if !missing.isEmpty { throw SpecError("\(prefix): profile '\(name)' needs \(missing.joined(separator: ", "))") }
    }

    public init(name: String, sampleShape: [Int], batchSize: Int, computeSeconds: Double, computeSD: Double = 0,
                auThreshold: Double, source: String = "custom") {
        self.name = name
        self.sampleShape = sampleShape
        self.batchSize = batchSize
        self.computeSeconds = computeSeconds
        self.computeSD = computeSD
        self.auThreshold = auThreshold
        self.source = source
    }
}

/// The config's `accelerators:` section: the profile and how the emulation runs.
public struct EmulationSettings: Sendable {
    public var profile: AcceleratorProfile
    /// Reader threads per accelerator, each with its own source handle (DLIO's `read_threads`).
    public var readerThreads = 1
    /// Batches each reader thread keeps ready.
    public var prefetch = 2
    /// A probe lasts at least this long (in emulated compute) and at least one epoch.
    public var probeSeconds = 10.0
    /// The most accelerators the search may try (nil: as many as memory allows).
    public var maxAccelerators: Int?
    /// Every step ends with all accelerators waiting for each other, as synchronous
    /// data-parallel training's all-reduce does (DLIO's per-step barrier).
    public var synchronous = true

    public init(profile: AcceleratorProfile) { self.profile = profile }

    /// Bytes of float32 batch buffers one accelerator holds at most: per reader thread, its
    /// queue, the batch being filled and the one being consumed.
    public func bytesPerAccelerator(sampleElements: Int) -> Int {
        readerThreads * (prefetch + 2) * profile.batchSize * sampleElements * MemoryLayout<Float>.size
    }

    /// The most accelerators whose batch buffers fit in 70 % of the machine's memory.
    public func memoryLimit(sampleElements: Int, physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> Int {
        max(0, Int(Double(physicalMemory) * Self.memoryShare) / max(bytesPerAccelerator(sampleElements: sampleElements), 1))
    }

    /// The share of memory batch buffers may take (the rest holds the data set's pages,
    /// decoded chunks and the process).
    public static let memoryShare = 0.7

    static let keys = ["profile", "sample_shape", "record_bytes", "batch_size", "compute_seconds", "compute_sd", "au_threshold",
                       "source", "reader_threads", "prefetch", "probe_seconds", "max_accelerators", "synchronous"]

    /// Parses `accelerators: NAME` or `accelerators: {profile: NAME, …overrides, …settings}`.
    static func parse(_ node: Yams.Node) throws -> EmulationSettings {
        let fields: Yams.Node.Mapping
        let name: String
        if let s = node.string {
            name = s
            fields = Yams.Node.Mapping([])
        } else if let m = node.mapping {
            for (key, _) in m where !keys.contains(key.string ?? "") {
                throw SpecError("accelerators: unknown key '\(key.string ?? "?")' (expected \(keys.joined(separator: ", ")))", at: key)
            }
            guard let n = m["profile"]?.string else {
                throw SpecError("accelerators needs 'profile': one of \(AcceleratorProfile.presetNames.joined(separator: ", ")) or custom", at: node)
            }
            name = n
            fields = m
        } else {
            throw SpecError("'accelerators' must be a profile name or {profile: NAME, …}", at: node)
        }
        let base: AcceleratorProfile?
        if name == "custom" {
            base = nil
        } else if let preset = AcceleratorProfile.presets[name] {
            base = preset
        } else {
            throw SpecError("accelerators: unknown profile '\(name)' (expected \(AcceleratorProfile.presetNames.joined(separator: ", ")) or custom)",
                            at: fields["profile"] ?? node)
        }
        var settings = EmulationSettings(profile: try AcceleratorProfile(name: name, fields: fields, base: base, prefix: "accelerators"))
        if let v = fields["reader_threads"] {
            guard let n = v.int, n >= 1, n <= 64 else { throw SpecError("accelerators.reader_threads must be an integer from 1 to 64", at: v) }
            settings.readerThreads = n
        }
        if let v = fields["prefetch"] {
            guard let n = v.int, n >= 1, n <= 1024 else { throw SpecError("accelerators.prefetch must be an integer from 1 to 1024", at: v) }
            settings.prefetch = n
        }
        if let v = fields["probe_seconds"] {
            guard let x = v.float, x > 0, x.isFinite else { throw SpecError("accelerators.probe_seconds must be a number > 0", at: v) }
            settings.probeSeconds = x
        }
        if let v = fields["synchronous"] {
            guard let b = v.bool else { throw SpecError("accelerators.synchronous must be true or false", at: v) }
            settings.synchronous = b
        }
        if let v = fields["max_accelerators"] {
            guard let n = v.int, n >= 1 else { throw SpecError("accelerators.max_accelerators must be an integer ≥ 1", at: v) }
            settings.maxAccelerators = n
        }
        return settings
    }

    /// Refuses a `max_accelerators` whose batch buffers would not fit in memory, saying why.
    func checkMemory(sampleElements: Int, at node: Yams.Node?) throws {
        guard let requested = maxAccelerators else { return }
        let limit = memoryLimit(sampleElements: sampleElements)
        guard requested > limit else { return }
        let each = bytesPerAccelerator(sampleElements: sampleElements)
        throw SpecError(String(format: "accelerators.max_accelerators %ld would need %.1f GiB of batch buffers (%ld reader thread%@ × %ld batches of %.0f MiB float32 each, per accelerator); %.0f %% of this machine's %.1f GiB allows at most %ld",
                               requested, Double(requested) * Double(each) / 1_073_741_824, readerThreads, readerThreads == 1 ? "" : "s",
                               prefetch + 2, Double(profile.batchSize * sampleElements * 4) / 1_048_576,
                               Self.memoryShare * 100, Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, limit), at: node)
    }
}
