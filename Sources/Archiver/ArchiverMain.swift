import ArchiverKit
import ServiceSupport

/// `analytics-archiver`: see `ArchiverCommand` (`serve`, the default, and `migrate`, `retention`,
/// `import`, `rebuild`).
@main
struct ArchiverMain {
    static func main() async {
        await ServiceBootstrap.main(ArchiverCommand.self)
    }
}
