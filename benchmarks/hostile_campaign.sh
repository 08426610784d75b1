#!/usr/bin/env bash
# The hostile-input campaign: the mutation fuzzer at full size (COUNT mutants per kind, 400 by
# default: HDF5 contiguous, gzip, LZ4, Zstandard, Blosc, LMDB, raw, JPEG records in LMDB and
# PNG rows in HDF5, each mutant through inspect, train and convert) and every hand-made hostile case, against the debug build that
# `swift test` makes. Prints the fuzzer's counts per kind; exits non-zero when anything
# crashed, hung or printed more than one error line. About 14 minutes on 2 cores.
#
#   benchmarks/hostile_campaign.sh [COUNT]     (make hostile)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-400}"
log="${HOSTILE_LOG:-hostile-campaign.log}"
suites='FuzzTests|HostileCaseTests|EncodedImageCommandTests|HostileInputTests|CrashLineTests|TruncatedWhileReadingTests|SizeLimitTests|InterruptTests|externalLinkReadsTheLinkedData|virtualDatasetsNeedTheirSources|stalePartialOutputsAreRemoved|messagesNameTheFile|onlyFeedBenchsOwnOutputsAreReplaced'
echo "hostile campaign: $count mutants per kind, log in $log"
status=0
FEEDBENCH_FUZZ_COUNT="$count" swift test --filter "$suites" 2>&1 | tee "$log" | grep -E '^fuzz |✘' || true
grep -qE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' "$log" || status=1
grep -E 'Test run with' "$log" | tail -1
exit $status
