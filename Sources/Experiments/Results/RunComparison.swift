import Foundation
import Graph

/// `feedbench report A/results.csv B/results.csv`: two runs compared configuration by
/// configuration (B ÷ A), the before/after view of a storage change. Configurations match by
/// their identity columns other than the layout's folder name; each side keeps its
/// noise mark, and a ratio resting on a noisy side is marked too.
public struct RunComparison: Sendable {
    public struct Line: Sendable {
        public var label: String
        public var mode: BenchmarkMode
        public var a: Double?
        public var b: Double?
        public var noisyA: Bool
        public var noisyB: Bool
        /// B ÷ A of samples/s medians.
        public var ratio: Double? { a.flatMap { a in b.map { $0 / a } }.flatMap { $0.isFinite ? $0 : nil } }
        public var noisy: Bool { noisyA || noisyB }
    }

    public var lines: [Line]
    /// Configurations only one run has.
    public var onlyA: [String]
    public var onlyB: [String]

    static func key(_ r: ResultRow) -> String {
        ResultColumns.all.filter { $0.identifiesConfiguration && $0.name != "layout_id" }
            .map { $0.write(r) }.joined(separator: "|")
    }

    static func label(_ r: ResultRow) -> String {
        var parts = [r.backend, r.layout, r.mode.rawValue, r.order.rawValue, r.cache.rawValue, "batch \(r.batchSize)"]
        if r.prefetch != 0 { parts.append("prefetch \(r.prefetch)") }
        return parts.joined(separator: " · ")
    }

    public init(_ a: [ResultRow], _ b: [ResultRow]) {
        let sa = ResultsCSV.summarize(a), sb = ResultsCSV.summarize(b)
        var byKey: [String: ResultsCSV.SummaryRow] = [:]
        for s in sb { byKey[Self.key(s.first)] = s }
        var seen = Set<String>()
        lines = []
        onlyA = []
        for s in sa {
            let k = Self.key(s.first)
            guard let other = byKey[k] else { onlyA.append(Self.label(s.first)); continue }
            seen.insert(k)
            lines.append(Line(label: Self.label(s.first), mode: s.first.mode, a: s.samplesPerSecond.median, b: other.samplesPerSecond.median,
                              noisyA: DecisionMaker.isNoisy(s), noisyB: DecisionMaker.isNoisy(other)))
        }
        onlyB = sb.filter { !seen.contains(Self.key($0.first)) }.map { Self.label($0.first) }
    }

    /// Plain text for the console: one line per configuration.
    public var text: String {
        var out = lines.map { l in
            let ratio = l.ratio.map { String(format: "%.2f×", $0) } ?? "—"
            return "\(l.label): \(l.a.map { Numbers.grouped($0) } ?? "—") → \(l.b.map { Numbers.grouped($0) } ?? "—") samples/s, \(ratio)" +
                (l.noisy ? " (noisy: \(l.noisyA ? "A" : "")\(l.noisyA && l.noisyB ? " and " : "")\(l.noisyB ? "B" : ""))" : "")
        }
        if !onlyA.isEmpty { out.append("only in A: \(onlyA.count) configuration\(onlyA.count == 1 ? "" : "s")") }
        if !onlyB.isEmpty { out.append("only in B: \(onlyB.count) configuration\(onlyB.count == 1 ? "" : "s")") }
        return out.joined(separator: "\n")
    }

    /// compare.html: the same lines as a table, ratios as bars around 1.
    public func html(titleA: String, titleB: String) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="generator" content="FeedBench"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>FeedBench: \(HTMLReport.escape(titleB)) against \(HTMLReport.escape(titleA))</title>
            <style>
            \(HTMLReport.style)
            </style></head><body>
            <h1>FeedBench — B against A</h1>
            <p class="meta">A: \(HTMLReport.escape(titleA))<br>B: \(HTMLReport.escape(titleB))</p>

            """
        let steady = lines.filter { !$0.noisy }.compactMap(\.ratio)
        if !steady.isEmpty {
            let sorted = steady.sorted()
            html += String(format: "<p class=\"verdict\"><b>B ÷ A, median over %d steady configurations: %.2f× (from %.2f× to %.2f×)</b></p>\n",
                           steady.count, StepTimer.percentile(sorted, 0.5), sorted.first!, sorted.last!)
        }
        html += "<div class=\"scroll\"><table><tr><th class=\"l\">configuration</th><th>A (samples/s)</th><th>B (samples/s)</th><th>B ÷ A</th><th class=\"l\">noise</th></tr>\n"
        for l in lines {
            let ratio = l.ratio.map { String(format: "%.2f×", $0) } ?? ""
            let noise = [l.noisyA ? "A noisy" : "", l.noisyB ? "B noisy" : ""].filter { !$0.isEmpty }.joined(separator: ", ")
            html += "<tr><td class=\"l\">\(HTMLReport.escape(l.label))</td><td>\(l.a.map { Numbers.grouped($0) } ?? "")</td>"
            html += "<td>\(l.b.map { Numbers.grouped($0) } ?? "")</td><td\(l.noisy ? " class=\"noisy\"" : "")>\(l.noisy ? "~" : "")\(ratio)</td>"
            html += "<td class=\"l\">\(noise)</td></tr>\n"
        }
        html += "</table></div>\n"
        if !onlyA.isEmpty || !onlyB.isEmpty {
            html += "<p class=\"note\">Only in A: \(HTMLReport.escape(onlyA.joined(separator: "; ")))<br>Only in B: \(HTMLReport.escape(onlyB.joined(separator: "; ")))</p>\n"
        }
        html += "<p class=\"note\">A ratio marked ~ rests on a noisy configuration (repeats spread more than \(Int((DecisionMaker.spreadLimit - 1) * 100)) % or epochs under \(DecisionMaker.floorSeconds) s) and is not counted in the median. Made by <code>feedbench report A/results.csv B/results.csv</code>.</p>\n"
        return html + "</body></html>\n"
    }
}
