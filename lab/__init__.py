"""The emptcp test lab: namespaces, veth pairs, MPTCP traffic, captures and the emptcp CLI.

See docs/lab.md for the topology and what was measured about the kernel with it.
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
