#!/bin/sh
# One guest of the hosts boot (Invoke-HostsBoot.ps1 starts three with run-vm.sh on one --memory-file):
#   hosts-guest.sh BOOT HOSTS_DIR PESTER MODULE DATA RESULT
# Starts sshd when HOSTS_DIR/ssh/sshd_config exists (the fleet runbook reaches the guest over PowerShell remoting), runs
# the guest's Pester files (Invoke-GuestSuite.ps1 -Boot BOOT), says so (sync/BOOT-suite-done), then stays up until the
# host is done with the fleet runbook (sync/fleet-done) or 1200 s have passed. Exits with the suite's status.
boot=$1; dir=$2; pester=$3; module=$4; data=$5; result=$6
# Up: a guest on the raw namespace says so once its kernel has /dev/pmem0 (the host starts the guest that converts the
# NVDIMM to devdax only then: a kernel probing after the conversion finds its info block and makes no /dev/pmem0).
if [ -z "$DAXFS_VM_DEVICE" ]; then
  n=0; while [ ! -b /dev/pmem0 ] && [ $n -lt 300 ]; do sleep 0.2; n=$((n+1)); done
  [ -b /dev/pmem0 ] || echo "guest: no /dev/pmem0 after 60 s"
fi
date -u +%FT%TZ > "$dir/sync/.$boot-booted.tmp" && mv "$dir/sync/.$boot-booted.tmp" "$dir/sync/$boot-booted"
if [ -f "$dir/ssh/sshd_config" ] && [ -x /usr/sbin/sshd ]; then
  mkdir -p /run/sshd /tmp/home
  /usr/sbin/sshd -f "$dir/ssh/sshd_config" -E "$dir/sshd-$boot.log" && echo "guest: sshd started"
fi
# pwsh.dll of the host's pwsh when the host named it (DAXFS_IT_PWSH): no detour through the SDK's tool lookup.
if [ -n "$DAXFS_IT_PWSH" ] && [ -f "$DAXFS_IT_PWSH" ]; then set -- dotnet "$DAXFS_IT_PWSH"; else set -- dotnet pwsh; fi
DAXFS_HOSTS_DIR=$dir "$@" -NoProfile -NonInteractive -File tests/Integration/Invoke-GuestSuite.ps1 -Boot "$boot" \
  -PesterPath "$pester" -ModulePath "$module" -DataPath "$data" -ResultFile "$result"
rc=$?
date -u +%FT%TZ > "$dir/sync/$boot-suite-done"
n=0
while [ ! -e "$dir/sync/fleet-done" ] && [ $n -lt 6000 ]; do sleep 0.2; n=$((n+1)); done
exit $rc
