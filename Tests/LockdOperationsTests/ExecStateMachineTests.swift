@testable import lockd
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `lockd exec`'s decisions, without processes or a server.
@Suite struct ExecStateMachineTests {
    typealias Machine = ExecStateMachine

    @Test func aGrantRunsTheCommandAndItsExitIsReleasedThenPassedOn() {
        var machine = Machine(sharesTerminal: false)
        #expect(machine.handle(.granted) == [.spawn])
        #expect(machine.handle(.childExited(.exited(3))) == [.release])
        #expect(machine.handle(.released(.released)) == [.finish(.exit(3))])
    }

    @Test func failuresToAcquireMapToTheirExitCodes() {
        let cases: [(Machine.AcquireFailure, Int32)] = [(.held, 75), (.unreachable, 69), (.refused, 64), (.notPermitted, 77)]
        for (failure, code) in cases {
            var machine = Machine(sharesTerminal: false)
            #expect(machine.handle(.acquireFailed(failure)) == [.finish(.exit(code))])
        }
    }

    @Test func aSignalWhileWaitingCancelsTheAcquireAndEndsWith128PlusN() {
        var machine = Machine(sharesTerminal: false)
        #expect(machine.handle(.signal(SIGTERM, fromKernel: false)) == [.cancelAcquire])
        #expect(machine.handle(.signal(SIGINT, fromKernel: false)) == [])
        #expect(machine.handle(.acquireFailed(.cancelled)) == [.finish(.exit(128 + SIGTERM))])

        // Granted just as it was cancelled: given back, the command never runs.
        var raced = Machine(sharesTerminal: false)
        _ = raced.handle(.signal(SIGHUP, fromKernel: false))
        #expect(raced.handle(.granted) == [.release])
        #expect(raced.handle(.released(.released)) == [.finish(.exit(128 + SIGHUP))])
    }

    @Test func signalsAreForwardedExceptWhatTheTerminalSentTheCommandItself() {
        var own = Machine(sharesTerminal: false)
        _ = own.handle(.granted)
        #expect(own.handle(.signal(SIGINT, fromKernel: true)) == [.forward(SIGINT)])
        #expect(own.handle(.signal(SIGTERM, fromKernel: false)) == [.forward(SIGTERM)])

        var shared = Machine(sharesTerminal: true)
        _ = shared.handle(.granted)
        #expect(shared.handle(.signal(SIGINT, fromKernel: true)) == [])
        #expect(shared.handle(.signal(SIGHUP, fromKernel: false)) == [.forward(SIGHUP)])
    }

    @Test func aLostLeaseTerminatesThenKillsAndEndsWith70WithoutARelease() {
        var machine = Machine(sharesTerminal: false)
        _ = machine.handle(.granted)
        #expect(machine.handle(.leaseLost) == [.terminateChild])
        #expect(machine.handle(.leaseLost) == [])
        #expect(machine.handle(.killDeadline) == [.killChild])
        #expect(machine.handle(.childExited(.signalled(SIGKILL))) == [.finish(.exit(70))])
    }

    @Test func aLeaseFoundGoneAtReleaseIsALoss() {
        var machine = Machine(sharesTerminal: false)
        _ = machine.handle(.granted)
        _ = machine.handle(.childExited(.exited(0)))
        #expect(machine.handle(.released(.lost)) == [.finish(.exit(70))])
    }

    @Test func aReleaseThatCannotReachLockdStillPassesOnTheCommandsStatus() {
        var machine = Machine(sharesTerminal: false)
        _ = machine.handle(.granted)
        _ = machine.handle(.childExited(.exited(0)))
        #expect(machine.handle(.released(.failed)) == [.finish(.exit(0))])
    }

    @Test func aCommandThatCannotStartIsReleasedAndEndsAsAShellWould() {
        var machine = Machine(sharesTerminal: false)
        _ = machine.handle(.granted)
        #expect(machine.handle(.spawnFailed(ENOENT)) == [.release])
        #expect(machine.handle(.released(.released)) == [.finish(.exit(127))])
        var denied = Machine(sharesTerminal: false)
        _ = denied.handle(.granted)
        _ = denied.handle(.spawnFailed(EACCES))
        #expect(denied.handle(.released(.released)) == [.finish(.exit(126))])
    }

    @Test func aCommandKilledBySignalEndsWith128PlusNAndSIGINTIsPassedUpAsItself() {
        #expect(Machine.outcome(of: .signalled(SIGTERM)) == .exit(143))
        #expect(Machine.outcome(of: .signalled(SIGKILL)) == .exit(137))
        #expect(Machine.outcome(of: .signalled(SIGINT)) == .dieBy(SIGINT))
        #expect(Machine.outcome(of: .exited(0)) == .exit(0))
    }
}

@Suite struct DurationTextTests {
    @Test func readsWholeNumbersWithAUnit() throws {
        #expect(try DurationText.parse("500ms") == .milliseconds(500))
        #expect(try DurationText.parse("30s") == .seconds(30))
        #expect(try DurationText.parse("5m") == .seconds(300))
        #expect(try DurationText.parse("1h") == .seconds(3_600))
        #expect(try DurationText.parse("0") == .zero)
        for bad in ["", "30", "1.5s", "-1s", "5 m", "ms", "10d", "1e3ms", "9999999999s", "+5s"] {
            #expect(throws: (any Error).self, "\(bad)") { try DurationText.parse(bad) }
        }
        #expect(DurationText.format(.milliseconds(1_500)) == "1500ms")
        #expect(DurationText.format(.seconds(120)) == "2m")
        #expect(DurationText.format(.zero) == "0s")
    }
}
