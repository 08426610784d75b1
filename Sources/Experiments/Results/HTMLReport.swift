import Foundation

/// DIR/report.html: one self-contained page (inline SVG, no scripts, no network). First, per
/// data set, the decision (`DecisionMaker`): which layout to keep and the figures it rests on;
/// then charts (size on disk against shuffled throughput, read throughput, data wait, step
/// time, AU, accelerators) and the summary table with its noise marks.
public enum HTMLReport {
    /// What marks a report as FeedBench\'s (so a second run replaces it, but not a user\'s page).
    public static let generatorMark = "<title>FeedBench: "  // in every report FeedBench has written

    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e",
                          "#a0cbe8", "#ffbe7d", "#8cd17d", "#ff9d9a", "#86bcb6", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#2f4b7c"]

    /// A backend's colour, the same in every report: chosen from its name (FNV-1a), not from
    /// its place in the list.
    public static func color(_ backend: String) -> String {
        var h: UInt32 = 2_166_136_261
        for b in backend.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return palette[Int(h % UInt32(palette.count))]
    }

    static let style = """
        body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px 32px; color: #222; max-width: 1200px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; }
        .meta { color: #666; font-size: 12px; } table { border-collapse: collapse; font-size: 12px; margin-top: 8px; }
        th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
        th { background: #f4f4f4; } td.l, th.l { text-align: left; } td.v { text-align: left; white-space: normal; min-width: 260px; }
        .note { color: #555; font-size: 12px; max-width: 900px; } .noisy { color: #999; font-style: italic; }
        .verdict { font-size: 15px; background: #f3f7fb; border-left: 4px solid #4e79a7; padding: 8px 12px; max-width: 900px; }
        tr.choice td { background: #eef6ea; } tr.peer td { color: #555; }
        .scroll { overflow-x: auto; max-width: 100%; } svg { max-width: 100%; height: auto; }
        svg text { font: 12px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: #222; }
        @media (max-width: 700px) { body { margin: 12px; } }
        """

    public static func render(_ rows: [ResultRow], title: String, accelerators: [AcceleratorRow] = [],
                              skippedPeers: [String: String] = [:]) -> String {
        let summary = ResultsCSV.summarize(rows)
        // A label names only what varies: the layout where one backend has several (h5py on
        // contiguous and chunked files), the cache, batch and prefetch when they differ.
        var layoutsOf: [String: Set<String>] = [:]
        for r in rows { layoutsOf[r.backend, default: []].insert(r.layout) }
        let measured = rows.filter { $0.format.role != .peer }
        func label(_ r: ResultRow) -> String {
            var parts = [r.backend]
            if (layoutsOf[r.backend]?.count ?? 0) > 1 { parts.append("(\(r.layout))") }
            parts.append(r.order.rawValue)
            if Set(rows.map(\.cache)).count > 1 { parts.append(r.cache.rawValue) }
            if Set(measured.map(\.batchSize)).count > 1 { parts.append("batch \(r.batchSize)") }
            if Set(measured.map(\.prefetch)).count > 1 { parts.append("prefetch \(r.prefetch)") }
            if Set(rows.map(\.experiment)).count > 1 {
                let short = r.experiment.hasPrefix(title + "/") ? String(r.experiment.dropFirst(title.count + 1)) : r.experiment
                parts.insert(short, at: 0)
            }
            return parts.joined(separator: " · ")
        }
        let read = summary.filter { $0.first.mode == .read }
        let train = summary.filter { $0.first.mode == .train }
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="generator" content="FeedBench"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>FeedBench: \(escape(title))</title>
            <style>
            \(style)
            </style></head><body>
            <h1>FeedBench — \(escape(title))</h1>

            """
        if let first = rows.first(where: { !$0.host.isEmpty }) {
            html += "<p class=\"meta\">host \(escape(first.host)) · started \(escape(first.startedAt)) · HDF5 \(escape(first.hdf5Version)) · \(escape(first.lmdbVersion)) · \(escape(rows.first { !$0.blas.isEmpty }?.blas ?? "")) · \(Numbers.grouped(Double(rows.count))) measured epochs</p>\n"
        }
        if !skippedPeers.isEmpty {
            html += "<p class=\"meta\">Peers skipped: " + skippedPeers.sorted { $0.key < $1.key }.map { escape("\($0.key) (\($0.value))") }.joined(separator: "; ") + "</p>\n"
        }
        let decisions = DecisionMaker.decide(rows, accelerators: accelerators)
        for d in decisions { html += decisionSection(d, several: decisions.count > 1) }
        html += sizeChart(decisions)
        if !read.isEmpty {
            html += "<h2>Read throughput (samples/s, median of repeats; bar ends at min/max)</h2>\n"
            html += chart(read.map { s in
                Bar(label: label(s.first), value: s.samplesPerSecond.median ?? 0, low: s.samplesPerSecond.min, high: s.samplesPerSecond.max,
                    color: color(s.first.backend),
                    note: [s.ratioToRaw.map { String(format: "%.2f× raw", $0) } ?? (s.first.format.role == .peer ? "peer" : ""),
                           DecisionMaker.isNoisy(s) ? "noisy" : ""].filter { !$0.isEmpty }.joined(separator: ", "))
            }, format: .count)
            let waits = summary.filter { ($0.first.mode == .read || $0.first.mode == .train) && $0.waitShare.median != nil && $0.first.format.role != .peer }
            if !waits.isEmpty {
                html += "<h2>Data wait: share of the epoch spent waiting for batches (%, median; bar ends at min/max)</h2>\n"
                html += chart(waits.map { s in
                    Bar(label: label(s.first) + " · " + s.first.mode.rawValue, value: (s.waitShare.median ?? 0) * 100,
                        low: s.waitShare.min.map { $0 * 100 }, high: s.waitShare.max.map { $0 * 100 }, color: color(s.first.backend), note: "")
                }, format: .percent, maximum: 100)
            }
            let cold = read.filter { $0.first.cache == .cold }
            if !cold.isEmpty {
                let residency = cold.compactMap(\.residentBefore).max() ?? 0
                html += "<p class=\"note\">Cold epochs: every file the backend reads was evicted before the epoch; the largest fraction still resident (mincore) was \(String(format: "%.1f%%", residency * 100)).</p>\n"
            }
        }
        if !train.isEmpty {
            html += "<h2>Training step time (ms, median of repeats; compute only)</h2>\n"
            html += chart(train.map { s in
                Bar(label: label(s.first), value: s.stepMs.median ?? 0, low: s.stepMs.min, high: s.stepMs.max, color: color(s.first.backend),
                    note: (s.stepMs.spreadRatio ?? 1) > DecisionMaker.spreadLimit ? String(format: "noisy: repeats spread %.2f×", s.stepMs.spreadRatio ?? 1) : "")
            }, format: .milliseconds)
            html += "<p class=\"note\">Step time is the network's compute alone: it does not depend on the layout, so differences between bars here are the machine's noise (see the marks), not the storage.</p>\n"
            let withAU = train.filter { $0.au.median != nil }
            if !withAU.isEmpty {
                html += "<h2>Accelerator utilisation AU = compute time / epoch time</h2>\n"
                html += chart(withAU.map { s in
                    Bar(label: label(s.first), value: (s.au.median ?? 0) * 100, low: s.au.min.map { $0 * 100 }, high: s.au.max.map { $0 * 100 },
                        color: color(s.first.backend), note: "")
                }, format: .percent, maximum: 100)
            }
        }
        html += acceleratorSection(accelerators)
        if summary.isEmpty { return html + "</body></html>\n" }
        html += "<h2>Summary (median, min, max over repeats)</h2>\n<div class=\"scroll\"><table><tr>"
        let headers = ["experiment", "backend", "layout", "mode", "order", "cache", "batch (samples)", "prefetch (batches)", "repeats",
                       "samples/s", "min (samples/s)", "max (samples/s)", "step (ms)", "AU (0–1)", "× raw", "resident before (%)", "on disk", "noise"]
        for (i, h) in headers.enumerated() { html += "<th\(i < 6 ? " class=\"l\"" : "")>\(h)</th>" }
        html += "</tr>\n"
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "" }
        func n(_ x: Double?) -> String { x.map { Numbers.grouped($0) } ?? "" }
        for s in summary {
            let r = s.first
            let cells = [r.experiment, r.backend, r.layout, r.mode.rawValue, r.order.rawValue, r.cache.rawValue, String(r.batchSize), String(r.prefetch), String(s.repeats),
                         n(s.samplesPerSecond.median), n(s.samplesPerSecond.min), n(s.samplesPerSecond.max),
                         f(s.stepMs.median, "%.2f"), f(s.au.median, "%.2f"), f(s.ratioToRaw, "%.2f"), f(s.residentBefore.map { $0 * 100 }, "%.0f"),
                         r.storedBytes.map { Numbers.bytes(Double($0)) } ?? "", noiseMark(s)]
            html += "<tr>" + cells.enumerated().map { "<td\($0.offset < 6 ? " class=\"l\"" : "")>\(escape($0.element))</td>" }.joined() + "</tr>\n"
        }
        html += "</table></div>\n<p class=\"note\">Noise: a configuration is marked when its repeats spread more than \(Int((DecisionMaker.spreadLimit - 1) * 100)) % (max ÷ min of samples/s) or its epochs last less than \(DecisionMaker.floorSeconds) s; the decision above does not compare on marked figures (README, \"Steadier figures\"). Made by <code>feedbench bench</code>; <code>feedbench report results.csv</code> draws it again. MiB = 2<sup>20</sup> bytes.</p>\n</body></html>\n"
        return html
    }

    /// Emulate mode: the accelerators each layout sustained, as bars and a table.
    static func acceleratorSection(_ rows: [AcceleratorRow]) -> String {
        let answers = rows.filter { $0.kind == .answer }
        guard let first = answers.first else { return "" }
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "" }
        let experiments = Set(answers.map(\.experiment)).count > 1
        let caches = Set(answers.map(\.cache)).count > 1
        func label(_ r: AcceleratorRow) -> String {
            var parts = [r.backend, r.order.rawValue]
            if caches { parts.append(r.cache.rawValue) }
            if experiments { parts.insert(r.experiment, at: 0) }
            return parts.joined(separator: " · ")
        }
        var html = String(format: "<h2>Accelerators kept busy: %@ (batch %d, %.4g s per batch, AU ≥ %.2f)</h2>\n",
                          escape(first.profile), first.batchSize, first.computeSeconds, first.auThreshold)
        html += chart(answers.map { r in
            Bar(label: label(r), value: Double(r.accelerators), low: nil, high: nil,
                color: color(r.backend),
                note: (r.predicted.map { "read-only predicts \($0)" } ?? "") + (r.limitReason.hasPrefix("reached") ? ", search limit" : "")
                    + (r.potentialCaching ? ", potential caching" : ""))
        }, format: .count)
        html += auChart(rows.filter { $0.kind == .probe }, label: label)
        html += "<div class=\"scroll\"><table><tr>"
        let headers = ["experiment", "backend", "layout", "order", "cache", "accelerators", "samples/s", "MiB/s", "AU mean (0–1)", "AU min (0–1)",
                       "read-only samples/s", "predicted (accelerators)", "limit (accelerators)", "potential caching"]
        for (i, h) in headers.enumerated() { html += "<th\(i < 5 ? " class=\"l\"" : "")>\(h)</th>" }
        html += "</tr>\n"
        for r in answers {
            let cells = [r.experiment, r.backend, r.layout, r.order.rawValue, r.cache.rawValue, String(r.accelerators),
                         r.samplesPerSecond.map { Numbers.grouped($0) } ?? "", r.mibPerSecond.map { Numbers.grouped($0) } ?? "",
                         f(r.auMean, "%.3f"), f(r.auMin, "%.3f"),
                         r.readOnlySamplesPerSecond.map { Numbers.grouped($0) } ?? "", r.predicted.map(String.init) ?? "",
                         (r.limit.map(String.init) ?? "") + (r.limitReason.hasPrefix("reached") ? " (reached)" : ""),
                         r.potentialCaching ? "yes" : ""]
            html += "<tr>" + cells.enumerated().map { "<td\($0.offset < 5 ? " class=\"l\"" : "")>\(escape($0.element))</td>" }.joined() + "</tr>\n"
        }
        html += "</table></div>\n"
        html += "<p class=\"note\">An emulated accelerator waits for its batch, then sleeps the profile's compute time (no CPU, as a GPU). AU = compute after the first step / time after the first step (DLIO's definition), per accelerator; a layout sustains N when the mean over accelerators reaches the threshold (MLPerf Storage's rule; the minimum is shown beside it). Samples/s and AU are those of the probe at that N. Read-only: the same readers with no compute; predicted = read-only samples/s ÷ one accelerator's demand. Potential caching: the data could have been served from memory (a warm run of a data set smaller than memory, or files found resident), so the figure says nothing about the storage device.</p>\n"
        return html
    }

    struct Bar {
        let label: String
        let value: Double
        let low: Double?
        let high: Double?
        let color: String
        let note: String
    }

    /// How a chart writes its values.
    enum ValueFormat {
        case count, percent, milliseconds
        func text(_ x: Double) -> String {
            switch self {
            case .count: return Numbers.compact(x)
            case .percent: return String(format: "%.1f %%", x)
            case .milliseconds: return String(format: "%.2f ms", x)
            }
        }
    }

    static func chart(_ bars: [Bar], format: ValueFormat, maximum: Double? = nil) -> String {
        let longest = bars.map(\.label.count).max() ?? 20
        let rowHeight = 22, labelWidth = max(160, 7 * longest + 16), barWidth = 520, width = labelWidth + barWidth + 220
        let top = max(maximum ?? 0, bars.map { max($0.value, $0.high ?? 0) }.max() ?? 1, 1e-9)
        let height = bars.count * rowHeight + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        for (i, b) in bars.enumerated() {
            let y = i * rowHeight + 4
            let w = Int(Double(barWidth) * b.value / top)
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 14)\" text-anchor=\"end\">\(escape(b.label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 2)\" width=\"\(max(w, 1))\" height=\"16\" fill=\"\(b.color)\" rx=\"2\"/>"
            var end = labelWidth + max(w, 1)
            if let low = b.low, let high = b.high, high > low {
                let x1 = labelWidth + Int(Double(barWidth) * low / top), x2 = labelWidth + Int(Double(barWidth) * high / top)
                svg += "<line x1=\"\(x1)\" x2=\"\(x2)\" y1=\"\(y + 10)\" y2=\"\(y + 10)\" stroke=\"#222\" stroke-width=\"1.2\"/>"
                end = max(end, x2)
            }
            let text = format.text(b.value) + (b.note.isEmpty ? "" : "  (\(b.note))")
            svg += "<text x=\"\(end + 6)\" y=\"\(y + 14)\">\(escape(text))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// One data set's decision: the recommendation, then one row per layout (peers beside).
    static func decisionSection(_ d: Decision, several: Bool) -> String {
        let trainSlots = Set(d.rows.flatMap { $0.train.keys }).sorted()
        let acceleratorSlots = Set(d.rows.flatMap { $0.accelerators.keys }).sorted()
        var html = "<h2>Which layout to keep\(several ? ": " + escape(d.experiment) : "")</h2>\n"
        html += "<p class=\"verdict\"><b>\(escape(d.recommendation))</b></p>\n"
        html += "<div class=\"scroll\"><table><tr><th class=\"l\">layout</th><th>on disk</th>"
        for slot in d.slots { html += "<th>read \(escape(slot.label))<br>(samples/s, MiB/s)</th>" }
        for slot in trainSlots { html += "<th>train \(escape(slot.label))<br>(samples/s, × fastest)</th>" }
        for slot in acceleratorSlots { html += "<th>accelerators<br>\(escape(slot.label))</th>" }
        html += "<th class=\"l\">× peers (FeedBench ÷ peer)</th><th class=\"l\">verdict</th></tr>\n"
        func cell(_ f: Decision.Figure?, extra: String) -> String {
            guard let f else { return "<td></td>" }
            let text = Numbers.grouped(f.value) + extra
            return f.noisy
                ? "<td class=\"noisy\" title=\"repeats spread \(String(format: "%.2f", f.spread))× or epochs too short: not compared\">~\(escape(text))</td>"
                : "<td>\(escape(text))</td>"
        }
        for r in d.rows {
            let rowClass = r.backend == d.choice && !r.isPeer ? " class=\"choice\"" : r.isPeer ? " class=\"peer\"" : ""
            var line = "<tr\(rowClass)><td class=\"l\"><span style=\"color:\(color(r.backend))\">■</span> \(escape(r.backend))<br><small>\(escape(r.layout))</small></td>"
            line += "<td>" + (r.storedBytes.map { Numbers.bytes(Double($0)) } ?? "") + (r.sizeToRaw.map { String(format: "<br><small>%.2f × raw</small>", $0) } ?? "") + "</td>"
            for slot in d.slots { line += cell(r.read[slot], extra: r.read[slot]?.mibPerSecond.map { " · " + Numbers.grouped($0) } ?? "") }
            for slot in trainSlots { line += cell(r.train[slot], extra: r.trainToMemory[slot].map { String(format: " · %.2f×", $0) } ?? "") }
            for slot in acceleratorSlots { line += "<td>" + (r.accelerators[slot].map(String.init) ?? "") + "</td>" }
            var peers: [String] = []
            for name in Set(r.peers.map(\.peer)).sorted() {
                let ratios = r.peers.filter { $0.peer == name }.map(\.ratio)
                let lo = ratios.min()!, hi = ratios.max()!
                peers.append(String(format: lo == hi ? "%@ %.2f×" : "%@ %.2f–%.2f×", name, lo, hi))
            }
            line += "<td class=\"l\">\(escape(peers.joined(separator: ", ")))</td><td class=\"v\">\(escape(r.verdict))</td></tr>\n"
            html += line
        }
        html += "</table></div>\n"
        var notes = "Figures are medians over repeats; a cell in grey italics with ~ is noisy (repeats spread more than \(Int((DecisionMaker.spreadLimit - 1) * 100)) % or epochs under \(DecisionMaker.floorSeconds) s) and nothing is compared on it. Training keeps up when it reaches \(Int(Decision.keepsUp * 100)) % of the fastest steady training measured in the same order (memory, raw or any layout). Peer ratios are FeedBench's samples/s over the peer's on the same files, order and cache (min–max over the orders and caches both ran)."
        if d.noisyFigures > 0 { notes += " \(d.noisyFigures) of \(d.figures) figures are noisy here." }
        if d.slots.contains(where: { $0.cache == .warm }) { notes += " Warm figures can come from the page cache; cold ones measure the storage." }
        return html + "<p class=\"note\">\(escape(notes))</p>\n"
    }

    /// Size on disk against shuffled read throughput, one point per stored layout and data set.
    static func sizeChart(_ decisions: [Decision]) -> String {
        struct Point { let label: String; let x: Double; let y: Double; let color: String }
        var points: [Point] = []
        for d in decisions {
            for r in d.rows where r.isCandidate {
                guard let bytes = r.storedBytes else { continue }
                let shuffled = r.read.filter { $0.key.order != .sequential && !$0.value.noisy }
                guard let best = shuffled.max(by: { $0.value.value < $1.value.value }) else { continue }
                points.append(Point(label: (decisions.count > 1 ? d.experiment + " · " : "") + r.backend + " (" + best.key.label + ")",
                                    x: Double(bytes), y: best.value.value, color: color(r.backend)))
            }
        }
        guard points.count >= 2 else { return "" }
        let width = 760, left = 80, bottom = 40, top = 12, right = 220
        let height = max(300, top + 14 + points.count * 16 + 8)
        let maxX = max(points.map(\.x).max()! * 1.1, 1), maxY = max(points.map(\.y).max()! * 1.1, 1)
        func px(_ x: Double) -> Int { left + Int(Double(width - left - right) * x / maxX) }
        func py(_ y: Double) -> Int { height - bottom - Int(Double(height - bottom - top) * y / maxY) }
        var svg = "<h2>Size on disk against shuffled reads (best steady shuffled order, samples/s)</h2>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#888\"/>\n"
        for k in 0...4 {
            let x = maxX * Double(k) / 4, y = maxY * Double(k) / 4
            svg += "<text x=\"\(px(x))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(escape(Numbers.bytes(x)))</text>"
            svg += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(escape(Numbers.compact(y)))</text>\n"
        }
        svg += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">on disk (smaller is left; better is up and left)</text>\n"
        for (i, p) in points.enumerated() {
            svg += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"5\" fill=\"\(p.color)\"/>"
            svg += "<text x=\"\(width - right + 12)\" y=\"\(top + 14 + i * 16)\"><tspan fill=\"\(p.color)\">●</tspan> \(escape(p.label))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// AU against the number of emulated accelerators, one line per configuration.
    static func auChart(_ probes: [AcceleratorRow], label: (AcceleratorRow) -> String) -> String {
        var series: [String: [(Int, Double)]] = [:]
        var order: [String] = []
        var colors: [String: String] = [:]
        for p in probes {
            guard let au = p.auMean, au.isFinite, p.accelerators >= 1 else { continue }
            let key = label(p)
            if series[key] == nil { order.append(key); colors[key] = color(p.backend) }
            series[key, default: []].append((p.accelerators, au))
        }
        guard !order.isEmpty, let maxN = series.values.flatMap({ $0.map(\.0) }).max() else { return "" }
        let width = 760, left = 50, bottom = 36, top = 10, right = 250
        let height = max(280, top + 12 + min(order.count, 16) * 15 + 8)
        func px(_ n: Int) -> Int { left + Int(Double(width - left - right) * Double(n) / Double(max(maxN, 2))) }
        func py(_ au: Double) -> Int { height - bottom - Int(Double(height - bottom - top) * min(max(au, 0), 1)) }
        var svg = "<h2>AU against the number of emulated accelerators (every probe)</h2>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        for k in 0...4 {
            let au = Double(k) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(py(au))\" y2=\"\(py(au))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(py(au) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", au))</text>\n"
        }
        for n in Set([1, maxN / 4, maxN / 2, 3 * maxN / 4, maxN]).filter({ $0 >= 1 }).sorted() {
            svg += "<text x=\"\(px(n))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(n)</text>"
        }
        svg += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">accelerators</text>\n"
        if let threshold = probes.first?.auThreshold, threshold > 0 {
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(py(threshold))\" y2=\"\(py(threshold))\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n"
        }
        for (i, key) in order.enumerated() {
            let points = series[key]!.sorted { $0.0 < $1.0 }
            let c = colors[key]!
            svg += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(points.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " "))\"/>"
            for p in points { svg += "<circle cx=\"\(px(p.0))\" cy=\"\(py(p.1))\" r=\"2.5\" fill=\"\(c)\"/>" }
            if i < 16 { svg += "<text x=\"\(width - right + 10)\" y=\"\(top + 12 + i * 15)\"><tspan fill=\"\(c)\">●</tspan> \(escape(key))</text>" }
            svg += "\n"
        }
        return svg + "</svg>\n"
    }

    /// "~" and the spread for a noisy configuration, empty otherwise.
    static func noiseMark(_ s: ResultsCSV.SummaryRow) -> String {
        guard DecisionMaker.isNoisy(s) else { return "" }
        if let seconds = s.seconds.median, seconds < DecisionMaker.floorSeconds { return String(format: "~ epochs %.2f s", seconds) }
        return String(format: "~ spread %.2f×", s.samplesPerSecond.spreadRatio ?? 1)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
