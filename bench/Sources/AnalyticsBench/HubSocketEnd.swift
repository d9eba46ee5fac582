/// The hub's end of a stalled connection, once the kernel (`KernelTCPTable`) no longer shows it
/// established and held by the hub: the client's own end cannot tell, since it does not read.
struct HubSocketEnd: Sendable {
    /// When it was first seen so (`monotonicNanoseconds`).
    let at: UInt64
    /// Its state then, e.g. `closed, orphaned in FIN_WAIT1`, or `gone`.
    let what: String
    /// Bytes still in its send queue.
    let unsent: Int
}
