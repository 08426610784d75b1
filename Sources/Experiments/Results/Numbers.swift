import Foundation

/// Numbers as the report writes them: thousands separators, k / M where a table would
/// otherwise hold seven digits, bytes in binary units (MiB = 2^20 bytes).
public enum Numbers {
    /// 1480402 → "1,480,402"; fractions keep `digits` decimals.
    public static func grouped(_ x: Double, digits: Int = 0) -> String {
        guard x.isFinite else { return "" }
        let text = String(format: "%.\(digits)f", abs(x))
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var out = ""
        while whole.count > 3 {
            out = "," + String(whole.suffix(3)) + out
            whole = String(whole.dropLast(3))
        }
        out = whole + out
        if parts.count > 1 { out += "." + parts[1] }
        return (x < 0 ? "-" : "") + out
    }

    /// 1480402 → "1.48 M", 48210 → "48.2 k", 950 → "950".
    public static func compact(_ x: Double) -> String {
        guard x.isFinite else { return "" }
        let a = abs(x)
        func three(_ v: Double) -> String {
            abs(v) >= 99.95 ? String(format: "%.0f", v) : abs(v) >= 9.995 ? String(format: "%.1f", v) : String(format: "%.2f", v)
        }
        if a >= 999.5e6 { return three(x / 1e9) + " G" }
        if a >= 999.5e3 { return three(x / 1e6) + " M" }
        if a >= 1e4 { return three(x / 1e3) + " k" }
        return grouped(x, digits: a >= 100 || a == a.rounded() ? 0 : 1)
    }

    /// Bytes in binary units: "1.5 GiB", "340 MiB", "12 KiB", "512 B".
    public static func bytes(_ x: Double) -> String {
        guard x.isFinite else { return "" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = x, u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(Int(v)) B" : String(format: v >= 100 ? "%.0f %@" : "%.1f %@", v, units[u])
    }
}
