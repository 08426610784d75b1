import DataSources

/// What one pass over an iterator measured.
public struct EpochTiming: Sendable {
    public var samples = 0
    /// Wall time of the whole pass.
    public var seconds = 0.0
    /// Time blocked waiting for the next batch.
    public var waitSeconds = 0.0
    /// Time consuming batches (forward, backward and update when training).
    public var computeSeconds = 0.0
    /// Each batch's consuming time, in milliseconds.
    public var stepMilliseconds: [Double] = []
    /// Whether `stop` ended the pass early.
    public var stopped = false
}

/// The one timed loop: reads an epoch's batches, timing the wait for each batch apart from
/// the work done with it. Read mode consumes nothing; training runs a step. So reading and
/// training are measured by the same code.
public enum TimedEpoch {
    public static func run(_ iterator: any BatchIterator, expectedBatches: Int = 0, stop: () -> Bool = { false },
                           consume: (Batch) throws -> Void) throws -> EpochTiming {
        let clock = ContinuousClock()
        var timing = EpochTiming()
        timing.stepMilliseconds.reserveCapacity(expectedBatches)
        let start = clock.now
        while true {
            let t0 = clock.now
            guard let batch = try iterator.next() else { break }
            let t1 = clock.now
            try consume(batch)
            let t2 = clock.now
            timing.waitSeconds += seconds(t1 - t0)
            timing.computeSeconds += seconds(t2 - t1)
            timing.stepMilliseconds.append(seconds(t2 - t1) * 1000)
            timing.samples += batch.count
            if stop() {
                timing.stopped = true
                break
            }
        }
        timing.seconds = seconds(clock.now - start)
        return timing
    }

    /// The loop for ranks that step together: it asks `consume` for one step after another,
    /// with this rank's next batch while it has one and `nil` after its batches run out (or
    /// with the error its read threw), so the rank still meets the others' collectives.
    /// `consume` returns false when every rank is done; it stops reading after an error.
    public static func runTogether(_ iterator: any BatchIterator, expectedBatches: Int = 0,
                                   consume: (Batch?, Error?) throws -> Bool) throws -> EpochTiming {
        let clock = ContinuousClock()
        var timing = EpochTiming()
        timing.stepMilliseconds.reserveCapacity(expectedBatches)
        let start = clock.now
        var reading = true
        while true {
            let t0 = clock.now
            var batch: Batch?
            var failure: Error?
            if reading {
                do { batch = try iterator.next() } catch { failure = error }
                reading = batch != nil
            }
            let t1 = clock.now
            let more = try consume(batch, failure)
            let t2 = clock.now
            timing.waitSeconds += seconds(t1 - t0)
            // The last call (every rank done) still spent its time meeting the others.
            timing.computeSeconds += seconds(t2 - t1)
            guard more else { break }
            timing.stepMilliseconds.append(seconds(t2 - t1) * 1000)
            timing.samples += batch?.count ?? 0
        }
        timing.seconds = seconds(clock.now - start)
        return timing
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
