import CLibFuzzer
import Foundation

/// One input's check: returns 0, or traps on a finding.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// The target ``runLibFuzzer(_:)`` was given; set once before libFuzzer starts, then only read.
nonisolated(unsafe) private var currentTarget: FuzzTarget = { _, _ in 0 }

/// libFuzzer's own `main` (linked by `-sanitize=fuzzer`) refers to this symbol; SwiftPM's
/// entry point is used instead, but the reference must resolve.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    currentTarget(data, size)
}

/// Hands the process to libFuzzer, which calls `testOneInput` with each input it generates
/// (a null pointer for an empty input) and exits with its status.
///
/// The fuzz targets are executables whose `@main` calls this: SwiftPM gives every executable
/// its own entry point, so libFuzzer's `main` is not used.
public func runLibFuzzer(_ testOneInput: FuzzTarget) -> Never {
    currentTarget = testOneInput
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
}
