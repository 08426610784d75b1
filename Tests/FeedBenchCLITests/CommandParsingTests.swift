import ArgumentParser
import Graph
import Testing
@testable import feedbench

@Suite struct CommandParsingTests {
    @Test func gradcheckParsesItsOptions() throws {
        let command = try GradCheckCommand.parse(["net.yaml", "--batch", "3", "--seed", "9", "--tolerance", "1e-7"])
        #expect(command.options.network == "net.yaml")
        #expect(command.options.batchSize == 3)
        #expect(command.options.seed == 9)
        #expect(command.tolerance == 1e-7)
        #expect(command.elements == 256)
    }

    @Test func gradcheckDefaults() throws {
        let command = try GradCheckCommand.parse(["net.yaml"])
        #expect(command.options.batchSize == 4)
        #expect(command.options.seed == 1)
        #expect(command.tolerance == 1e-4)
    }

    @Test func invalidValuesAreRejectedBeforeRunning() {
        #expect(throws: (any Error).self) { try GradCheckCommand.parse(["net.yaml", "--batch", "0"]) }
        #expect(throws: (any Error).self) { try GradCheckCommand.parse(["net.yaml", "--tolerance", "-1"]) }
        #expect(throws: (any Error).self) { try TimeCommand.parse(["net.yaml", "--iterations", "0"]) }
        #expect(throws: (any Error).self) { try GradCheckCommand.parse([]) }
    }

    @Test func timeParsesItsOptions() throws {
        let command = try TimeCommand.parse(["net.yaml", "--batch", "128", "--iterations", "7", "--threads", "1"])
        #expect(command.options.batchSize == 128)
        #expect(command.iterations == 7)
        #expect(command.threads == 1)
    }

    @Test func gradcheckReportText() {
        let results = [
            GradientCheckResult(name: "fc1.W", shape: [3, 2], checked: 6, maxRelativeError: 2.5e-9,
                                worstIndex: 1, worstAnalytic: 0.125, worstNumeric: 0.125),
            GradientCheckResult(name: "b", shape: [2], checked: 2, maxRelativeError: 0.5,
                                worstIndex: 0, worstAnalytic: 1, worstNumeric: 2),
        ]
        let lines = GradCheckReport.lines(network: "n.yaml", batch: 2, seed: 3, tolerance: 1e-4, results: results, labels: ["y"])
        #expect(lines == [
            "gradcheck n.yaml: batch 2, seed 3, tolerance 1.00e-04",
            "fc1.W     [3, 2]        6/6 checked         max rel error 2.50e-09  (analytic 1.25e-01, numeric 1.25e-01)  ok",
            "b         [2]           2/2 checked         max rel error 5.00e-01  (analytic 1.00e+00, numeric 2.00e+00)  FAIL",
            "y         labels        not differentiable",
            "1 passed, 1 failed",
        ])
    }
}
