import Foundation

/// DIR/report.html: one self-contained page (inline SVG, no scripts, no network) with bar
/// charts of read throughput per backend × order × cache, training step time and AU, and the
/// summary table.
public enum HTMLReport {
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    public static func render(_ rows: [ResultRow], title: String, accelerators: [AcceleratorRow] = []) -> String {
        let summary = ResultsCSV.summarize(rows)
        var backends: [String] = []
        for s in summary where !backends.contains(s.first.backend) { backends.append(s.first.backend) }
        func color(_ backend: String) -> String { palette[(backends.firstIndex(of: backend) ?? 0) % palette.count] }
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
            <html lang="en"><head><meta charset="utf-8"><title>FeedBench: \(escape(title))</title>
            <style>
            body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px 32px; color: #222; max-width: 1100px; }
            h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; }
            .meta { color: #666; font-size: 12px; } table { border-collapse: collapse; font-size: 12px; margin-top: 8px; }
            th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
            th { background: #f4f4f4; } td.l, th.l { text-align: left; } .note { color: #555; font-size: 12px; max-width: 900px; }
            svg text { font: 12px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: #222; }
            </style></head><body>
            <h1>FeedBench — \(escape(title))</h1>

            """
        if let first = rows.first(where: { !$0.host.isEmpty }) {
            html += "<p class=\"meta\">host \(escape(first.host)) · started \(escape(first.startedAt)) · HDF5 \(escape(first.hdf5Version)) · \(escape(first.lmdbVersion)) · \(escape(rows.first { !$0.blas.isEmpty }?.blas ?? "")) · \(rows.count) measured epochs</p>\n"
        }
        if !read.isEmpty {
            html += "<h2>Read throughput (samples/s, median of repeats; bar ends at min/max)</h2>\n"
            html += chart(read.map { s in
                Bar(label: label(s.first), value: s.samplesPerSecond.median ?? 0, low: s.samplesPerSecond.min, high: s.samplesPerSecond.max,
                    color: color(s.first.backend),
                    note: s.ratioToRaw.map { String(format: "%.2f× raw", $0) } ?? (s.first.format.role == .peer ? "peer" : ""))
            }, format: "%.0f")
            let cold = read.filter { $0.first.cache == .cold }
            if !cold.isEmpty {
                let residency = cold.compactMap(\.residentBefore).max() ?? 0
                html += "<p class=\"note\">Cold epochs: every file the backend reads was evicted before the epoch; the largest fraction still resident (mincore) was \(String(format: "%.1f%%", residency * 100)).</p>\n"
            }
        }
        if !train.isEmpty {
            html += "<h2>Training step time (ms, median of repeats; compute only)</h2>\n"
            html += chart(train.map { s in
                Bar(label: label(s.first), value: s.stepMs.median ?? 0, low: s.stepMs.min, high: s.stepMs.max, color: color(s.first.backend), note: "")
            }, format: "%.2f")
            let withAU = train.filter { $0.au.median != nil }
            if !withAU.isEmpty {
                html += "<h2>Accelerator utilisation AU = compute time / epoch time</h2>\n"
                html += chart(withAU.map { s in
                    Bar(label: label(s.first), value: (s.au.median ?? 0) * 100, low: s.au.min.map { $0 * 100 }, high: s.au.max.map { $0 * 100 },
                        color: color(s.first.backend), note: "")
                }, format: "%.1f%%", maximum: 100)
            }
        }
        html += acceleratorSection(accelerators)
        if summary.isEmpty { return html + "</body></html>\n" }
        html += "<h2>Summary (median, min, max over repeats)</h2>\n<table><tr>"
        let headers = ["experiment", "backend", "layout", "mode", "order", "cache", "batch", "prefetch", "repeats", "samples/s", "min", "max",
                       "step ms", "AU", "× raw", "resident before"]
        for (i, h) in headers.enumerated() { html += "<th\(i < 6 ? " class=\"l\"" : "")>\(h)</th>" }
        html += "</tr>\n"
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "" }
        for s in summary {
            let r = s.first
            let cells = [r.experiment, r.backend, r.layout, r.mode.rawValue, r.order.rawValue, r.cache.rawValue, String(r.batchSize), String(r.prefetch), String(s.repeats),
                         f(s.samplesPerSecond.median, "%.0f"), f(s.samplesPerSecond.min, "%.0f"), f(s.samplesPerSecond.max, "%.0f"),
                         f(s.stepMs.median, "%.2f"), f(s.au.median, "%.2f"), f(s.ratioToRaw, "%.2f"), f(s.residentBefore.map { $0 * 100 }, "%.0f%%")]
            html += "<tr>" + cells.enumerated().map { "<td\($0.offset < 6 ? " class=\"l\"" : "")>\(escape($0.element))</td>" }.joined() + "</tr>\n"
        }
        html += "</table>\n<p class=\"note\">Made by <code>feedbench bench</code>; <code>feedbench report results.csv</code> draws it again. MiB = 2<sup>20</sup> bytes.</p>\n</body></html>\n"
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
        var backends: [String] = []
        for r in answers where !backends.contains(r.backend) { backends.append(r.backend) }
        var html = String(format: "<h2>Accelerators kept busy: %@ (batch %d, %.4g s per batch, AU ≥ %.2f)</h2>\n",
                          escape(first.profile), first.batchSize, first.computeSeconds, first.auThreshold)
        html += chart(answers.map { r in
            Bar(label: label(r), value: Double(r.accelerators), low: nil, high: nil,
                color: palette[(backends.firstIndex(of: r.backend) ?? 0) % palette.count],
                note: (r.predicted.map { "read-only predicts \($0)" } ?? "") + (r.limitReason.hasPrefix("reached") ? ", search limit" : "")
                    + (r.potentialCaching ? ", potential caching" : ""))
        }, format: "%.0f")
        html += "<table><tr>"
        let headers = ["experiment", "backend", "layout", "order", "cache", "accelerators", "samples/s", "MiB/s", "AU mean", "AU min",
                       "read-only samples/s", "predicted", "limit", "potential caching"]
        for (i, h) in headers.enumerated() { html += "<th\(i < 5 ? " class=\"l\"" : "")>\(h)</th>" }
        html += "</tr>\n"
        for r in answers {
            let cells = [r.experiment, r.backend, r.layout, r.order.rawValue, r.cache.rawValue, String(r.accelerators),
                         f(r.samplesPerSecond, "%.0f"), f(r.mibPerSecond, "%.0f"), f(r.auMean, "%.3f"), f(r.auMin, "%.3f"),
                         f(r.readOnlySamplesPerSecond, "%.0f"), r.predicted.map(String.init) ?? "",
                         (r.limit.map(String.init) ?? "") + (r.limitReason.hasPrefix("reached") ? " (reached)" : ""),
                         r.potentialCaching ? "yes" : ""]
            html += "<tr>" + cells.enumerated().map { "<td\($0.offset < 5 ? " class=\"l\"" : "")>\(escape($0.element))</td>" }.joined() + "</tr>\n"
        }
        html += "</table>\n"
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

    static func chart(_ bars: [Bar], format: String, maximum: Double? = nil) -> String {
        let longest = bars.map(\.label.count).max() ?? 20
        let rowHeight = 22, labelWidth = max(160, 7 * longest + 16), barWidth = 520, width = labelWidth + barWidth + 220
        let top = max(maximum ?? 0, bars.map { max($0.value, $0.high ?? 0) }.max() ?? 1, 1e-9)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\(bars.count * rowHeight + 10) role=\"img\">\n"
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
            let text = String(format: format, b.value) + (b.note.isEmpty ? "" : "  (\(b.note))")
            svg += "<text x=\"\(end + 6)\" y=\"\(y + 14)\">\(escape(text))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
