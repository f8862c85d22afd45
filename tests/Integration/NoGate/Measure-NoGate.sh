#!/bin/bash
# A one-off measurement (not part of CI): which images of the hostile format-8 set (out/integration/v8.json, made by
# Invoke-Integration.ps1 -Boot v8) crash or hang the format-8 module when mounted WITHOUT DaxFs's gate. Boots the VM
# with the v8 NVDIMM and walks the cases with guest-nogate.sh; a crash (exit 125) or a hang (exit 124) ends the boot,
# is recorded against the case that started last, and the next boot goes on after it.
# Usage: /work/wt/vmslot.sh tests/Integration/NoGate/Measure-NoGate.sh [KIT] (run from the repository root; holds one VM
# slot for all its boots; writes out/nogate/, with its own copy of the NVDIMM and backing files, so that the next
# Invoke-Integration.ps1 may start meanwhile).
set -u
kit=${1:-../shared/vm}
data=${NOGATE_DATA:-out/integration}
mkdir -p out/nogate
cp --sparse=always $data/nvdimm-v8.img out/nogate/nvdimm.img
cp $data/v8/overlay-after-writes.backing out/nogate/ 2>/dev/null || cp $data/overlay-after-writes.backing out/nogate/
list=out/nogate/cases.txt
dotnet pwsh -NoProfile -Command "(Get-Content -Raw $data/v8.json | ConvertFrom-Json).Hostile | ForEach-Object { '{0} {1} {2} {3} {4} {5}' -f \$_.Name, \$_.Offset, \$_.Length, \$(if (\$_.Backing) { '$PWD/out/nogate/' + (Split-Path -Leaf \$_.Backing) } else { '-' }), \$_.Kind, \$(if (\$_.Expect) { \$_.Expect } else { '-' }) }" > $list
size=$(dotnet pwsh -NoProfile -Command "(Get-Content -Raw $data/v8.json | ConvertFrom-Json).NvdimmSize / 1MB")
total=$(wc -l < $list)
progress=out/nogate/progress.txt; : > $progress
summary=out/nogate/summary.txt; : > $summary
from=1; boots=0
while [ "$from" -le "$total" ]; do
  boots=$((boots + 1))
  "$kit/run-vm.sh" --module "$kit/kernel/daxfs-v8.ko" --memory-file out/nogate/nvdimm.img --memory-size ${size}M --timeout 600 \
    -- sh tests/Integration/NoGate/guest-nogate.sh $list $from $progress > out/nogate/boot-$boots.log 2>&1
  rc=$?
  last=$(grep '^start ' $progress | tail -1 | cut -d' ' -f2)
  lastdone=$(grep '^done ' $progress | tail -1 | cut -d' ' -f2)
  if [ "$rc" = 0 ] && grep -q '^end' $progress; then break; fi
  if [ -n "$last" ] && [ "$last" != "$lastdone" ]; then
    what=$([ "$rc" = 124 ] && echo hang || echo crash)
    echo "$what $last $(sed -n "${last}p" $list)" | tee -a $summary
    grep -a -m3 -E 'BUG|Oops|RIP|general protection|watchdog' out/nogate/boot-$boots.log | sed 's/^/    /' >> $summary
    from=$((last + 1))
  else
    echo "boot $boots ended with $rc without a case in progress; stopping" | tee -a $summary; break
  fi
done
echo "boots: $boots; cases: $total; crashes: $(grep -c '^crash' $summary); hangs: $(grep -c '^hang' $summary); mounted and read: $(grep -c ' mounted-read ' $progress); mounted, read errors: $(grep -c 'mounted-read-error' $progress); refused by the kernel: $(grep -c 'kernel-refused' $progress)" | tee -a $summary
