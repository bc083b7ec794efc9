#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered line output on the standard streams (`write(2)`), so progress lines appear at
/// once even when piped, without touching C's `stdout`/`stderr` globals.
public enum Console {
    /// Writes `line` and a newline to standard output.
    public static func line(_ line: String) {
        writeAll(STDOUT_FILENO, line + "\n")
    }

    /// Writes `line` and a newline to standard error.
    public static func error(_ line: String) {
        writeAll(STDERR_FILENO, line + "\n")
    }

    private static func writeAll(_ descriptor: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
