/// How a process of the service ends, as the exit statuses of `sysexits.h` that systemd units and
/// scripts rely on (the units do not restart a process that ends with `configuration`).
public enum ExitStatus: Int32, Sendable {
    /// Done, or stopped on request (SIGTERM, SIGINT).
    case success = 0
    /// A failure at run time (a dependency lost for good, a worker given up on, a command that
    /// failed): the message says what.
    case failure = 1
    /// The command line is wrong (`EX_USAGE`): an unknown command or a bad argument.
    case usage = 64
    /// The configuration is wrong (`EX_CONFIG`): restarting cannot help until it is fixed.
    case configuration = 78
}
