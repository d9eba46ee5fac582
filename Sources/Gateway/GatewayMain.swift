import GatewayKit
import ServiceSupport

/// `analytics-gateway`: see `GatewayApplication`.
@main
struct GatewayMain {
    static func main() async {
        await ServiceBootstrap.main(ServeCommand<GatewayApplication>.self)
    }
}
