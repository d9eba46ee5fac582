import AggregatorKit
import ServiceSupport

/// `analytics-aggregator`: see `AggregatorApplication`.
@main
struct AggregatorMain {
    static func main() async {
        await ServiceBootstrap.main(ServeCommand<AggregatorApplication>.self)
    }
}
