import Foundation
import Graph

/// OpenBLAS kernel selection.
///
/// Debian 12's OpenBLAS (0.3.21, built with DYNAMIC_ARCH) picks its kernels when the library
/// loads, and it maps AMD Zen 4/5 CPUs to the AVX2 (Haswell) kernels even though they run
/// AVX-512. Its SkylakeX kernels make our matrix products about 1.6× faster there. The only
/// way to choose them is the `OPENBLAS_CORETYPE` environment variable, read before `main`
/// runs, so the command-line tools start themselves once more with it set.
public enum BLASKernels {
    /// The kernel family OpenBLAS chose (`Haswell`, `SkylakeX`, `Zen`, …).
    public static var coreName: String { BLASThreads.coreName }

    /// When OpenBLAS chose AVX2 kernels on a CPU with the AVX-512 subsets its SkylakeX
    /// kernels need, and the user has not set `OPENBLAS_CORETYPE`, replaces this process by
    /// the same program with `OPENBLAS_CORETYPE=SkylakeX`. Returns if nothing is to be done
    /// or the relaunch failed. Call it first thing in `main`.
    public static func relaunchWithWidestKernelsIfNeeded() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["FEEDBENCH_BLAS_RELAUNCHED"] == nil else { return }
        guard ["haswell", "zen"].contains(coreName.lowercased()), cpuSupportsSkylakeXKernels() else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        setenv("FEEDBENCH_BLAS_RELAUNCHED", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: go on with the kernels we have.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }

    /// Whether /proc/cpuinfo lists every AVX-512 subset the SkylakeX kernels use.
    static func cpuSupportsSkylakeXKernels() -> Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    }
}
