import CLibbpf
import Glibc

extension Sys {
    /// Returns once every BPF program run that began before the call has ended: XDP and TC
    /// programs run inside RCU read-side sections, and MEMBARRIER_CMD_GLOBAL waits for an RCU
    /// grace period. Used after a generation switch, before the old generation is rewritten.
    /// Where the kernel refuses it (nohz_full CPUs), a 100 ms pause stands in: far longer than
    /// any one packet's run.
    static func waitForRunningPrograms() {
        if emptcp_membarrier_global() == 0 { return }
        usleep(100_000)
    }
}
