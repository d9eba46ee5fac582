import ServiceSupport
import SupervisorKit

/// `analytics-supervisor`: see `SupervisorApplication`.
@main
struct SupervisorMain {
    static func main() async {
        await ServiceBootstrap.main(ServeCommand<SupervisorApplication>.self)
    }
}
