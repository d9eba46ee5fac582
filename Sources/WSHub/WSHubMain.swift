import ServiceSupport
import WSHubKit

/// `analytics-wshub`: see `WSHubApplication`.
@main
struct WSHubMain {
    static func main() async {
        await ServiceBootstrap.main(ServeCommand<WSHubApplication>.self)
    }
}
