#!/usr/bin/env bash
# The main job: sets everything up, then shows emptcp end to end on two network namespaces joined
# by two veth pairs carrying a real two-subflow MPTCP connection:
#   1. the versioned store on a scratch database (commit, change, diff, rollback, log, audit);
#   2. the data plane: with no policy the client joins the server's announced second address
#      (2 subflows); with rm_add_addr bound on the client's XDP hook the ADD_ADDR never reaches
#      the client's stack (1 subflow, still MPTCP); `rollback` brings the second subflow back.
# Everything it creates (namespaces, bpffs pin root, database) is removed on exit.
#   bash scripts/demo.sh                          build (scripts/setup.sh), then run the build tree's binary
#   EMPTCP_BIN=/usr/bin/emptcp bash scripts/demo.sh   an installed binary, run from a scratch directory
#                                                 outside the source tree, finding its own BPF objects
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
# Namespaces, bpffs and BPF need root: re-run through sudo when there is one, else one line.
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 &&
    exec sudo env "PATH=$PATH" ${EMPTCP_BIN:+"EMPTCP_BIN=$EMPTCP_BIN"} bash "$PWD/scripts/demo.sh" "$@"
  echo "demo.sh: run as root (network namespaces, bpffs, BPF programs); no sudo found" >&2
  exit 1
fi

if [ -n "${EMPTCP_BIN:-}" ]; then
  BIN=$EMPTCP_BIN
  # The installed tool finds its objects itself: no variable may point it into the source tree.
  unset EMPTCP_BPF_DIR
else
  bash scripts/setup.sh
  BIN="$REPO/.build/debug/emptcp"
  export EMPTCP_BPF_DIR="$REPO/build/bpf"
fi
WORK=$(mktemp -d /tmp/emptcp-demo.XXXXXX)
cp examples/policy.yaml "$WORK/policy.yaml"
cd "$WORK"
TAG="ed$$"
C="${TAG}c"; S="${TAG}s"
export EMPTCP_DB="$WORK/emptcp.db" EMPTCP_PIN_ROOT="$WORK/bpffs/emptcp"

cleanup() {
  set +e
  nsenter --net=/run/netns/$C "$BIN" detach --all >/dev/null 2>&1
  ip netns pids $C 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns pids $S 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns del $C 2>/dev/null; ip netns del $S 2>/dev/null
  umount "$WORK/bpffs" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. The versioned store (scratch database $EMPTCP_DB)"
show "$BIN" commit "$WORK/policy.yaml" -m "first policy"
sed 's/window: 1600/window: 3200/' "$WORK/policy.yaml" > "$WORK/policy-2.yaml"
show "$BIN" commit "$WORK/policy-2.yaml" -m "larger window"
show "$BIN" diff 1 2
show "$BIN" rollback
show "$BIN" log
printf 'selectors: {xdp: [{tcp2: or}]}\nchains: {c: [{set_recv_win: {window: 70000}}]}\nbindings: []\n' > "$WORK/bad.yaml"
printf '$ %s\n' "$BIN commit bad.yaml   # window out of range: refused, nothing written"
"$BIN" commit "$WORK/bad.yaml" || echo "(exit $?)"
show "$BIN" audit
rm -f "$EMPTCP_DB"*

step "2. Two namespaces, two veth pairs, MPTCP"
ip netns add $C; ip netns add $S
for i in 1 2; do
  ip link add c$i netns $C type veth peer name s$i netns $S
  ip -n $C addr add 10.99.$i.1/24 dev c$i; ip -n $S addr add 10.99.$i.2/24 dev s$i
  ip -n $C link set c$i up; ip -n $S link set s$i up
done
for ns in $C $S; do
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.mptcp.enabled=1 net.ipv4.conf.all.rp_filter=0
  ip -n $ns mptcp limits set subflows 2 add_addr_accepted 2
done
ip -n $S mptcp endpoint add 10.99.2.2 dev s2 signal   # the server announces its second address
ip netns exec $S mptcpize run iperf3 -s -D -p 5201 >/dev/null

counter() { ip netns exec $C nstat -az "$1" | awk -v k="$1" '$1 == k { print $2 }'; }
transfer() {  # one 3-second MPTCP transfer; prints what the client's stack saw
  local add0 join0 pid max=0 n
  add0=$(counter MPTcpExtAddAddr); join0=$(counter MPTcpExtMPJoinSynTx)
  ip netns exec $C mptcpize run iperf3 -c 10.99.1.2 -p 5201 -t 3 -C cubic >/dev/null &
  pid=$!
  for _ in $(seq 1 25); do
    sleep 0.1
    n=$(ip netns exec $C ss -tnH state established dport = :5201 | wc -l)
    [ "$n" -gt "$max" ] && max=$n
  done
  wait $pid
  echo "   client: ADD_ADDR received $(( $(counter MPTcpExtAddAddr) - add0 )), MP_JOIN SYNs sent $(( $(counter MPTcpExtMPJoinSynTx) - join0 ))"
  echo "   client: TCP subflows to the server (iperf3 data + control connection): $max"
}
mkdir -p "$WORK/bpffs"; mount -t bpf bpf "$WORK/bpffs"
EMPTCP="nsenter --net=/run/netns/$C $BIN"

step "3. No policy: the client joins the announced address"
show $EMPTCP attach --xdp-mode generic c1 c2   # generic XDP: native XDP on veth costs most of the receive throughput
show $EMPTCP status
transfer

cat > "$WORK/hide-add-addr.yaml" <<POLICY
selectors:
  xdp: [{tcp2: or}]
chains:
  hide:
    - rm_add_addr: {}
bindings:
  - {hook: xdp, selector: tcp2, local: 10.99.1.1, remote: 10.99.1.2, chain: hide}
POLICY
printf 'selectors:\n  xdp: [{tcp2: or}]\nchains: {}\nbindings: []\n' > "$WORK/empty.yaml"
step "4. rm_add_addr on the client's XDP hook: ADD_ADDR never reaches the client"
show $EMPTCP commit "$WORK/empty.yaml" -m "baseline: no bindings"
show $EMPTCP commit "$WORK/hide-add-addr.yaml" -m "hide the server's second address"
transfer

step "5. Rollback: new connections join again"
show $EMPTCP rollback
transfer
show $EMPTCP status
show $EMPTCP audit
show $EMPTCP detach --all
