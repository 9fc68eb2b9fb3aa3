"""The emptcp lab, shared by the tests and the benchmarks: namespaces, veth pairs, MPTCP traffic,
captures and the emptcp CLI (exported here), and the BPF data-plane harness in its own modules
(lab.abi: constants read from abi.h; lab.bpf: the bpf() syscall; lab.dataplane: DataPlane;
lab.frames: test frames).

See docs/lab.md for the layout, the topology and what was measured about the kernel with it.
"""

from .lab import Lab, LabError, Node, Path_, run
from .traffic import Capture, MptcpClient, MptcpServer, mptcp_sockets, tcp_subflows
from .emptcp import Emptcp, require
from .scenario import ADD_ADDR_SETTLE_S, FALLBACK_COUNTERS, Observed, observe_connection, policy, tcp2

__all__ = [
    "Lab", "LabError", "Node", "Path_", "run", "Capture", "MptcpClient", "MptcpServer",
    "mptcp_sockets", "tcp_subflows", "Emptcp", "require", "ADD_ADDR_SETTLE_S",
    "FALLBACK_COUNTERS", "Observed", "observe_connection", "policy", "tcp2",
]
